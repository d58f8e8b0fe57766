"""A cross-region claim paid in cash on the fast ring: approved, its voucher issued and the amount held; the
holder proves themselves with card and PIN at the hospital's counter and is paid once; a lapsed voucher gives the
amount back. The real services on an in-memory unit of work."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import CLAIM_DOCS, PIN, add_person, fund
from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.applications import Application, CashVoucher, Document
from yibao.domain.audit import AuditRecord
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor, Role
from yibao.ledger import accounts as acct
from yibao.services.accounts.books import Books
from yibao.services.applications import cases, cash_vouchers
from yibao.services.registry import enrolment, institutions

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
ADMIN = Actor.system("fast-admin")
REVIEWER = Actor("reviewer-1", Role.REVIEWER)
HOSPITAL = "H21020000001"
AT_HOSPITAL = Actor("hospital-desk", Role.INSTITUTION, institution_code=HOSPITAL)
OTHER_HOSPITAL = Actor("other-desk", Role.INSTITUTION, institution_code="H21020000002")


@pytest.fixture
def claim():
    """A Beijing person with a card, ¥2,000 in the account, whose cross-region claim of ¥150 at a Dalian hospital
    was approved for cash there: (context, person, voucher code)."""
    ctx = fake_context(now=dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    for code, name in ((HOSPITAL, "大连市中心医院"), ("H21020000002", "大连市第二医院")):
        institutions.add_institution(ctx, actor=ADMIN, code=code, name=name, kind="hospital", region="210200",
                                     designated=True, cross_region=True, designated_from=dt.date(2024, 1, 1))
    person = add_person(ctx, ADMIN, name="陈晨", region="110000")
    enrolment.enroll(ctx, actor=ADMIN, person_id=person.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, ADMIN, person.id, months=4)
    ctx.clock.set(NOW)
    with ctx.uow() as uow:
        for n, type in enumerate(CLAIM_DOCS, start=1):
            uow.add(Document(f"doc_{n}", person.id, type, f"{n:064x}", 100, "application/pdf", f"{type}.pdf", NOW,
                             person.username))
        uow.commit()
    me = Actor(person.username, Role.PERSON, person_id=person.id)
    invoice = {"number": "FP-1001", "issuer": HOSPITAL, "date": "2026-02-20",
               "items": [{"category": "drug", "amount_fen": 15_000}]}
    app, _ = cases.submit(ctx, actor=me, person_id=person.id, kind="reimbursement", reason="cross_region",
                          invoices=[invoice], document_ids=[f"doc_{n}" for n in range(1, 6)], payout="cash_voucher",
                          institution_code=HOSPITAL)
    cases.review(ctx, actor=REVIEWER, application_id=app.id, action="approve", note="发票齐全")
    [cash] = ctx.extras["store"].all(CashVoucher)
    return ctx, person, cash.code


def _account(ctx, person_id: str):
    with ctx.uow() as uow:
        return Books(uow, ctx.now()).account(acct.personal(person_id))


def _card(person, pin: str = PIN) -> dict:
    return {"type": "card", "card_no": person.card_no, "pin": pin}


def test_approval_holds_the_amount_and_the_counter_sees_the_holder_masked(claim):
    ctx, person, code = claim
    account = _account(ctx, person.id)
    assert account.posted_fen - account.available_fen == 15_000  # held, not yet paid
    [app] = ctx.extras["store"].all(Application)
    assert app.status == "disbursing"
    seen = cash_vouchers.lookup(ctx, actor=AT_HOSPITAL, code=code)
    assert (seen["holder_name"], seen["amount_fen"], seen["status"]) == ("陈*", 15_000, "issued")
    assert seen["holder_id_number"] == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    with pytest.raises(errors.CashVoucherWrongInstitution):
        cash_vouchers.lookup(ctx, actor=OTHER_HOSPITAL, code=code)


def test_the_holder_with_card_and_pin_is_paid_once_and_a_wrong_pin_pays_nothing(claim):
    ctx, person, code = claim
    before = _account(ctx, person.id)
    with pytest.raises(errors.CashVoucherIdentityRequired):
        cash_vouchers.redeem(ctx, actor=AT_HOSPITAL, code=code)
    with pytest.raises(errors.PinWrong):
        cash_vouchers.redeem(ctx, actor=AT_HOSPITAL, code=code, credential=_card(person, pin="000000"))
    with ctx.uow() as uow:
        assert uow.cards.with_holder_standing(person.card_no)[0].pin_failures == 1
    assert cash_vouchers.lookup(ctx, actor=AT_HOSPITAL, code=code)["status"] == "issued"

    paid = cash_vouchers.redeem(ctx, actor=AT_HOSPITAL, code=code, credential=_card(person))
    assert (paid.application.status, paid.cash_voucher.redeemed_at_institution) == ("paid", HOSPITAL)
    after = _account(ctx, person.id)
    assert after.posted_fen == before.posted_fen - 15_000 and after.available_fen == before.available_fen
    with ctx.uow() as uow:
        [redeemed] = uow.all_by(AuditRecord, action="cash_voucher.redeem")
        kinds = [v.kind for v in uow.applications.vouchers_of(person.id, ("cash_voucher", "redemption"))]
    assert (redeemed.details["holder_proof"], redeemed.details["amount_fen"]) == ("card_pin", 15_000)
    assert kinds == ["cash_voucher", "redemption"]
    with pytest.raises(errors.CashVoucherUsed):
        cash_vouchers.redeem(ctx, actor=AT_HOSPITAL, code=code, credential=_card(person))
    assert _account(ctx, person.id).posted_fen == after.posted_fen


def test_a_lapsed_voucher_gives_the_amount_back_and_fails_the_claim(claim):
    ctx, person, code = claim
    posted = _account(ctx, person.id).posted_fen
    later = NOW + dt.timedelta(days=ctx.settings.cash_voucher_days, minutes=1)
    assert cash_vouchers.expire_due(ctx, actor=ADMIN, now=later) == 1
    assert cash_vouchers.expire_due(ctx, actor=ADMIN, now=later) == 0
    account = _account(ctx, person.id)
    assert (account.posted_fen, account.available_fen) == (posted, posted)
    [app] = ctx.extras["store"].all(Application)
    assert app.status == "failed"
