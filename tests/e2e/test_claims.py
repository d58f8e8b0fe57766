"""Claims cannot re-pay a settled purchase (零星报销): a direct settlement's receipt number is its settlement id,
and a claim naming it, or the very purchase settled at the issuer that day, is a duplicate; every invoice names a
registered institution as its issuer; a claim pays only what a settlement at the issuer on the invoice's day would
have paid, counting what the account paid then (the yearly ¥10,000 included), and nothing for categories the
account does not pay there. The legal path beside them: a truly unsettled cost is paid once, within the limits."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.e2e.test_application_stories import NOW, apply, documents
from tests.e2e.test_payout_vouchers import text_of
from tests.support import API, CLAIM_DOCS, PIN, add_person, assert_problem, bearer, fund, new_bank_no
from tests.support import row_counts as snapshot
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import auth, evouchers
from yibao.services.registry import enrolment, institutions
from yibao.services.settlement import payments
from yibao.store.tables import audit_records

PHARMACY = "P11000000009"  # a Beijing pharmacy that settles directly
OTHER_PHARMACY = "P11000000010"
HOSPITAL = "H21020000001"  # a Dalian hospital with no direct cross-region settlement
CLINIC = "C11000000003"  # a Beijing clinic that is not designated: an emergency was treated there


@pytest.fixture
def desk(ctx, admin, client):
    """The agency's reviewer, the institutions and a pharmacy's user."""
    ctx.clock.set(NOW)
    auth.add_user(ctx, actor=admin, username="reviewer-1", password="correct-horse-9", role="reviewer")
    for code, name, kind, region, designated, cross in (
            (PHARMACY, "北京市示例药房", "pharmacy", "110000", True, False),
            (OTHER_PHARMACY, "北京市第二药房", "pharmacy", "110000", True, False),
            (HOSPITAL, "大连市中心医院", "hospital", "210200", True, False),
            (CLINIC, "北京市某非定点诊所", "clinic", "110000", False, False)):
        institutions.add_institution(ctx, actor=admin, code=code, name=name, kind=kind, region=region,
                                     designated=designated, cross_region=cross, designated_from=dt.date(2024, 1, 1))
    auth.add_user(ctx, actor=admin, username="pharmacy-user", password="correct-horse-9", role="institution",
                  institution_code=PHARMACY)
    return {"reviewer": bearer(client, "reviewer-1"), "pharmacy": bearer(client, "pharmacy-user")}


def beijinger(ctx, admin, name: str, *, months: int = 4, base_fen: int = 2_500_000):
    """A Beijing employee with a card, a bank account and `months` of contributions credited (2% of the base)."""
    person = add_person(ctx, admin, name=name, region="110000")
    enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, admin, person.id, months=months, last="2025-12", base_fen=base_fen)
    evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=new_bank_no(),
                                  bank_name="中国工商银行", holder_name=name)
    return person


def invoice(number: str, issuer: str, day: str, *items: tuple[str, int]) -> dict:
    return {"number": number, "issuer": issuer, "date": day,
            "items": [{"category": c, "amount_fen": a} for c, a in items]}


def claim(client, headers, person_id: str, *invoices: dict, reason: str = "cross_region"):
    docs = documents(client, headers, person_id, *CLAIM_DOCS)
    return apply(client, headers, person_id, kind="reimbursement", reason=reason, document_ids=docs,
                 invoices=list(invoices))


def approve(client, desk, application_id: str):
    return client.post(f"{API}/applications/{application_id}/review", headers=desk["reviewer"],
                       json={"action": "approve", "note": "发票齐全"})


def sell(ctx, admin, person, code: str, key: str, *items: tuple[str, int]) -> dict:
    return payments.settle(ctx, actor=admin, idempotency_key=key, institution_code=code,
                             credential={"type": "card", "card_no": person.card_no, "pin": PIN},
                             items=[{"category": c, "amount_fen": a} for c, a in items])


def no_echo(problem: dict, *written: str) -> None:
    for field in ("title", "detail", "message_zh", "message_en"):
        for text in written:
            assert text not in problem[field]


# --- a settled purchase is not claimed again -------------------------------------------------------------------


def test_a_settled_purchase_claimed_by_its_receipt_number_is_a_duplicate_naming_the_settlement(
        ctx, admin, client, desk):
    person = beijinger(ctx, admin, "赵磊")
    me = bearer(client, person.username)
    sale = client.post(f"{API}/settlements", headers=desk["pharmacy"], json={
        "idempotency_key": "sale-1", "institution_code": PHARMACY,
        "credential": {"type": "card", "card_no": person.card_no, "pin": PIN},
        "items": [{"category": "drug", "amount_fen": 8_000}]})
    assert sale.status_code == 201, sale.text
    receipt = sale.json()["receipt_no"]  # printed on the receipt: the settlement id
    assert receipt == sale.json()["settlement_id"]
    assert client.get(f"{API}/settlements/{receipt}", headers=me).json()["receipt_no"] == receipt
    statement = client.get(f"{API}/accounts/{person.id}/statement.pdf", headers=me)
    assert statement.status_code == 200 and receipt in text_of(statement.content).replace("\n", "")
    today = NOW.date().isoformat()

    before = snapshot(ctx)
    as_receipt = invoice(receipt, PHARMACY, today, ("drug", 8_000))
    r = claim(client, me, person.id, as_receipt)  # Beijing pays no cash: the account's money, again, to the bank
    problem = assert_problem(r, 422, "application.invoice_duplicate")
    assert problem["settlement_id"] == receipt == problem["earlier"]
    r = claim(client, me, person.id, {**as_receipt, "issuer": HOSPITAL})  # any issuer: the number is the receipt
    assert assert_problem(r, 422, "application.invoice_duplicate")["settlement_id"] == receipt
    renumbered = invoice("FP-2026-7781", PHARMACY, today, ("drug", 8_000))  # the same purchase, another number
    problem = assert_problem(claim(client, me, person.id, renumbered), 422, "application.invoice_duplicate")
    assert problem["settlement_id"] == receipt
    no_echo(problem, "FP-2026-7781", "FP20267781")
    written = snapshot(ctx)
    assert {t: n for t, n in written.items() if written[t] != before[t]} == {
        "documents": written["documents"], "audit_records": written["audit_records"]}  # the papers uploaded only

    other_day = claim(client, me, person.id, invoice("FP-2026-7782", PHARMACY, "2026-02-27", ("drug", 8_000)))
    assert other_day.status_code == 201, other_day.text  # another day's purchase, not settled: a claim


def test_an_invoice_names_a_registered_institution_as_its_issuer(ctx, admin, client, desk):
    person = beijinger(ctx, admin, "周敏")
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, *CLAIM_DOCS)
    before = snapshot(ctx)
    for issuer in ("大连市中心医院", "H99999999999"):
        r = apply(client, me, person.id, kind="reimbursement", reason="cross_region", document_ids=docs,
                  invoices=[invoice("INV-1", HOSPITAL, "2026-02-20", ("drug", 100)),
                            invoice("INV-2", issuer, "2026-02-20", ("drug", 100))])
        problem = assert_problem(r, 422, "application.invoice_issuer_unknown")
        assert problem["position"] == 2
        no_echo(problem, issuer)
    assert snapshot(ctx) == before
    ok = apply(client, me, person.id, kind="reimbursement", reason="cross_region", document_ids=docs,
               invoices=[invoice("INV-1", " h2102-0000-001 ", "2026-02-20", ("drug", 100))])  # its code, spaced
    assert ok.status_code == 201, ok.text


# --- the limits settlement applies, applied to claims ---------------------------------------------------------


def test_a_claim_over_the_remaining_yearly_limit_is_paid_up_to_it_with_the_limit_cited(ctx, admin, client, desk):
    ctx.clock.set(dt.datetime(2026, 1, 5, 10, 0, tzinfo=SHANGHAI))
    person = beijinger(ctx, admin, "孙丽", months=20, base_fen=3_000_000)  # ¥12,000 credited
    for day in range(10):  # ¥9,800 of Beijing's ¥10,000 a year paid at the counters in January
        ctx.clock.set(dt.datetime(2026, 1, 5 + day, 10, 0, tzinfo=SHANGHAI))
        sell(ctx, admin, person, PHARMACY, f"a-{day}", ("drug", 50_000))
        sell(ctx, admin, person, OTHER_PHARMACY, f"b-{day}", ("drug", 30_000 if day == 9 else 50_000))
    ctx.clock.set(NOW)
    me = bearer(client, person.username)

    r = claim(client, me, person.id, invoice("DL-0001", HOSPITAL, "2026-02-20", ("drug", 40_000)))
    assert r.status_code == 201, r.text
    approved = approve(client, desk, r.json()["application_id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_fen"] == 20_000  # ¥200 left of the year's ¥10,000, not the ¥400 asked
    assert "bj.settlement.yearly" in [rule["rule_id"] for rule in approved.json()["rules"]]

    before = snapshot(ctx)
    r = claim(client, me, person.id, invoice("DL-0002", HOSPITAL, "2026-02-21", ("drug", 10_000)))
    problem = assert_problem(r, 422, "limit.yearly")  # the year's limit is used up, by settlements and the claim
    assert problem["max_amount_fen"] == 0
    assert "bj.settlement.yearly" in [rule["rule_id"] for rule in problem["rules"]]
    assert snapshot(ctx)["applications"] == before["applications"]
    later = sell(ctx, admin, person, PHARMACY, "march", ("drug", 5_000))  # the claim took its part of the year
    assert (later["account_paid_fen"], later["cash_fen"]) == (0, 5_000)
    assert "limit.yearly" in later["decision"]["limited_by"]


def test_claims_at_one_institution_on_one_day_share_its_daily_limit(ctx, admin, client, desk):
    person = beijinger(ctx, admin, "冯静")
    me = bearer(client, person.username)
    first = claim(client, me, person.id, invoice("DL-1001", HOSPITAL, "2026-02-20", ("drug", 40_000)))
    second = claim(client, me, person.id, invoice("DL-1002", HOSPITAL, "2026-02-20", ("drug", 40_000)))
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert approve(client, desk, first.json()["application_id"]).json()["approved_fen"] == 40_000
    approved = approve(client, desk, second.json()["application_id"]).json()  # decided on approval day's facts
    assert approved["approved_fen"] == 10_000  # Beijing: ¥500 a day at one institution, ¥400 of it claimed
    assert "bj.settlement.institution_daily" in [rule["rule_id"] for rule in approved["rules"]]


def test_a_settlement_after_an_approved_claim_finds_the_day_used(ctx, admin, client, desk):
    person = beijinger(ctx, admin, "郭芳")
    me = bearer(client, person.username)
    today = NOW.date().isoformat()
    r = claim(client, me, person.id, invoice("PH-3001", PHARMACY, today, ("drug", 40_000)))  # bought for cash
    assert approve(client, desk, r.json()["application_id"]).json()["approved_fen"] == 40_000
    sale = sell(ctx, admin, person, PHARMACY, "after-claim", ("drug", 30_000))
    assert (sale["account_paid_fen"], sale["cash_fen"]) == (10_000, 20_000)  # ¥500 a day there, ¥400 claimed
    assert "limit.institution_daily" in sale["decision"]["limited_by"]


def test_a_category_the_account_does_not_pay_at_the_issuer_is_not_paid(ctx, admin, client, desk):
    person = beijinger(ctx, admin, "林木")
    me = bearer(client, person.username)
    mixed = claim(client, me, person.id, invoice("PH-1", PHARMACY, "2026-02-18", ("drug", 6_000),
                                                 ("medical_service", 4_000)))
    assert mixed.status_code == 201, mixed.text
    approved = approve(client, desk, mixed.json()["application_id"]).json()
    assert (approved["amount_fen"], approved["approved_fen"]) == (10_000, 6_000)  # a pharmacy: drugs, not services
    assert "national.settlement.coverage.pharmacy" in [rule["rule_id"] for rule in approved["rules"]]
    before = snapshot(ctx)
    r = claim(client, me, person.id, invoice("PH-2", PHARMACY, "2026-02-19", ("medical_service", 4_000)))
    assert_problem(r, 422, "category.not_covered")
    assert snapshot(ctx)["applications"] == before["applications"]


# --- the legal path: a truly unsettled cost -----------------------------------------------------------------


def test_an_emergency_at_a_place_that_cannot_settle_is_paid_once_within_the_limits(ctx, admin, client, desk):
    person = beijinger(ctx, admin, "黄河")
    me = bearer(client, person.username)
    emergency = invoice("JZ-0001", CLINIC, "2026-02-25", ("medical_service", 20_000), ("drug", 10_000))
    r = claim(client, me, person.id, emergency, reason="emergency")
    assert r.status_code == 201, r.text
    approved = approve(client, desk, r.json()["application_id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_fen"] == 30_000 and approved.json()["status"] == "approved"
    again = claim(client, me, person.id, emergency, reason="emergency")
    problem = assert_problem(again, 422, "application.invoice_duplicate")
    assert problem["application_id"] == r.json()["application_id"]

    elsewhere = claim(client, me, person.id, invoice("DL-3001", HOSPITAL, "2026-02-10", ("drug", 45_000)))
    assert elsewhere.status_code == 201, elsewhere.text  # treated in Dalian, not settled directly: no filing
    assert approve(client, desk, elsewhere.json()["application_id"]).json()["approved_fen"] == 45_000


def test_an_approved_claims_use_of_the_limits_is_not_reversed_on_its_own(ctx, admin, client, desk):
    """The claim's quota entry belongs to the claim: a bare reversal would give the day's limit back."""
    person = beijinger(ctx, admin, "郑岚")
    me = bearer(client, person.username)
    r = claim(client, me, person.id, invoice("PH-3101", PHARMACY, NOW.date().isoformat(), ("drug", 40_000)))
    application_id = r.json()["application_id"]
    assert approve(client, desk, application_id).status_code == 200
    with ctx.uow() as uow:
        [details] = uow.session.scalars(sa.select(audit_records.c.details).where(
            audit_records.c.action == "application.limits_take", audit_records.c.entity_id == application_id))
    auth.add_user(ctx, actor=admin, username="admin-1", password="correct-horse-9", role="admin")
    agency_admin = bearer(client, "admin-1")
    before = snapshot(ctx)
    problem = assert_problem(client.post(f"{API}/entries/{details['entry_id']}/reverse", headers=agency_admin,
                                         json={"reason": "退回额度"}), 409, "entry.owned_by_record")
    assert (problem["record_kind"], problem["record_id"]) == ("claim", application_id)
    assert snapshot(ctx) == before
    sale = sell(ctx, admin, person, PHARMACY, "after-refused-reversal", ("drug", 30_000))
    assert sale["account_paid_fen"] == 10_000  # the day's limit stays used by the claim
