"""The cash voucher's own rules (R22): which cases may be paid in cash, and when a voucher pays."""

from __future__ import annotations

import datetime as dt

import pytest

from yibao.domain import errors
from yibao.domain.applications import CashVoucher, may_pay_in_cash
from yibao.domain.clock import SHANGHAI

ISSUED = dt.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)


def voucher(**changes) -> CashVoucher:
    fields = {"code": "ABCDEFGHJKMNPQRS", "application_id": "apl_1", "person_id": "per_1", "hold_id": "hld_1",
              "amount_fen": 15_000, "institution_code": "H21020000001", "issued_at": ISSUED,
              "valid_until": ISSUED + dt.timedelta(days=30)}
    return CashVoucher(**{**fields, **changes})


def test_only_cross_region_claims_are_paid_in_cash():
    assert may_pay_in_cash("reimbursement", "cross_region")
    assert not may_pay_in_cash("reimbursement", "emergency")
    assert not may_pay_in_cash("withdrawal", "emigration")


def test_a_voucher_pays_until_its_time_is_up_at_the_institution_it_names():
    cash = voucher()
    cash.ensure_redeemable(ISSUED + dt.timedelta(days=29), "H21020000001")
    cash.ensure_redeemable(ISSUED, None)  # agency staff at a counter
    with pytest.raises(errors.CashVoucherWrongInstitution):
        cash.ensure_redeemable(ISSUED, "H21020000002")
    assert cash.lapsed(ISSUED + dt.timedelta(days=30))
    with pytest.raises(errors.CashVoucherExpired):
        cash.ensure_redeemable(ISSUED + dt.timedelta(days=30), "H21020000001")


def test_a_used_voucher_says_when_and_never_lapses():
    cash = voucher(redeemed_at=ISSUED + dt.timedelta(days=1))
    assert not cash.lapsed(ISSUED + dt.timedelta(days=40))
    with pytest.raises(errors.CashVoucherUsed) as used:
        cash.ensure_redeemable(ISSUED + dt.timedelta(days=2), None)
    assert "2026-03-03" in used.value.zh and used.value.status == 409
