"""What a person reads of an application's steps, and the transition table that says which step may come next."""

from __future__ import annotations

import datetime as dt

import pytest

from yibao.domain import application_texts as texts
from yibao.domain import errors
from yibao.domain.applications import Application

AT = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def _app(status: str, **details) -> Application:
    return Application("apl_1", "p1", "p1", "reimbursement", "cross_region", "counter", True, False, 15_000, 15_000,
                       0, status, "rule", None, AT, AT, details)


def test_a_cash_payout_is_named_for_its_voucher_and_a_bank_payout_for_the_bank():
    assert texts.title("disbursing", {"cash_voucher_code": "ABCD-EFGH"}) == ("取现凭证已开具", "Cash voucher issued")
    assert texts.title("disbursing", {}) == ("款项已提交银行拨付", "Payout sent to the bank")
    assert texts.title("approved", {"cash_voucher_code": "ABCD-EFGH"}) == ("申请已审核通过", "Application approved")


def test_the_messages_name_the_missing_papers_and_the_voucher_in_shanghai_time():
    zh, en = texts.message(_app("supplement_requested"), "supplement_requested", "", {"missing": ["photo"]})
    assert zh == "您的零星报销申请（apl_1）需补充材料：近期免冠照片。" and en.startswith("Your reimbursement claim (apl_1)")
    zh, _ = texts.message(_app("failed"), "failed", "", {"cash_voucher_code": "ABCD", "valid_until": AT.isoformat()})
    assert "取现凭证已于 2026-03-02 10:00 过期未兑付" in zh
    assert texts.cash_voucher_lapsed(AT) == "取现凭证已于 2026-03-02 10:00 过期"


def test_the_transition_table_says_which_action_may_come_next():
    app = _app("supplement_requested")
    assert app.may("supplement") and app.may("withdraw") and not app.may("approve")
    with pytest.raises(errors.ApplicationWrongState):
        app.ensure_may("submit")
    assert app.apply("supplement", AT) == ("supplement_requested", "resubmitted")
