"""An invoice is reimbursed once (R18, R23): the same invoice, paid once as a cash voucher, is refused as a bank
payout (however its number or issuer is written, by whoever claims it); a directly settled purchase's receipt
(its settlement id) is not claimed again; a rejected or withdrawn claim gives its invoices back; two claims of
one invoice at once pay once. And a rule with a window is not skipped by leaving out event_date."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.e2e.test_application_stories import NOW, apply, documents, insured
from tests.integration.test_ledger_concurrency import all_at_once
from tests.support import API, CLAIM_DOCS, PIN, assert_problem, bearer, count
from tests.support import row_counts as snapshot
from yibao.bootstrap import bootstrap
from yibao.domain import errors
from yibao.domain.applications import Application
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases
from yibao.services.credentials import auth, cards
from yibao.services.registry import institutions
from yibao.store.tables import invoice_claims

HOSPITAL = "H21020000001"  # a Dalian hospital where a Beijing insured person was treated
PHARMACY = "P11000000009"  # a Beijing pharmacy that settles directly
INVOICE = {"number": "INV-2026-0001", "issuer": HOSPITAL, "date": "2026-02-20",
           "items": [{"category": "drug", "amount_fen": 12_000}, {"category": "medical_service", "amount_fen": 3_000}]}


@pytest.fixture
def desk(ctx, admin, client):
    """The reviewer, a Dalian hospital (cash vouchers) and a Beijing pharmacy (direct settlement), with users."""
    ctx.clock.set(NOW)
    auth.add_user(ctx, actor=admin, username="reviewer-1", password="correct-horse-9", role="reviewer")
    auth.add_user(ctx, actor=admin, username="clerk-1", password="correct-horse-9", role="counter")
    for code, name, kind, region in ((HOSPITAL, "大连市中心医院", "hospital", "210200"),
                                     (PHARMACY, "北京市示例药房", "pharmacy", "110000")):
        institutions.add_institution(ctx, actor=admin, code=code, name=name, kind=kind, region=region,
                                     designated=True, cross_region=True, designated_from=dt.date(2024, 1, 1))
        auth.add_user(ctx, actor=admin, username=f"user-{code}", password="correct-horse-9", role="institution",
                      institution_code=code)
    return {"reviewer": bearer(client, "reviewer-1"), "clerk": bearer(client, "clerk-1"),
            "hospital": bearer(client, f"user-{HOSPITAL}"), "pharmacy": bearer(client, f"user-{PHARMACY}")}


def claimant(ctx, admin, client, name: str):
    """A Beijing insured person with a card, signed in, and the papers a cross-region claim needs."""
    person = insured(ctx, admin, region="110000", name=name)
    card = cards.issue_card(ctx, actor=admin, person_id=person.id)
    cards.activate(ctx, actor=admin, card_no=card.card_no, id_number=person.id_number, pin=PIN)
    person.card_no = card.card_no
    me = bearer(client, person.username)
    return person, me, documents(client, me, person.id, *CLAIM_DOCS)


def claim(client, headers, person_id: str, docs: list[str], *invoices: dict, **more):
    return apply(client, headers, person_id, kind="reimbursement", reason="cross_region", document_ids=docs,
                 invoices=list(invoices), **more)


def review(client, desk, application_id: str, action: str = "approve", note: str = "发票齐全"):
    r = client.post(f"{API}/applications/{application_id}/review", headers=desk["reviewer"],
                    json={"action": action, "note": note})
    assert r.status_code == 200, r.text
    return r.json()


def refused_without_echo(r, number: str) -> dict:
    problem = assert_problem(r, 422, "application.invoice_duplicate")
    for field in ("title", "detail", "message_zh", "message_en"):
        assert number not in problem[field] and number.replace("-", "") not in problem[field]
    return problem


def test_an_invoice_paid_as_a_cash_voucher_is_not_paid_again_to_the_bank(ctx, admin, client, desk):
    person, me, docs = claimant(ctx, admin, client, "陈晨")
    first = claim(client, me, person.id, docs, INVOICE, payout="cash_voucher", institution_code=HOSPITAL)
    assert first.status_code == 201, first.text
    first_id = first.json()["application_id"]
    code = review(client, desk, first_id)["cash_voucher"]["code"]
    paid = client.post(f"{API}/cash-vouchers/{code}/redeem", headers=desk["hospital"],
                       json={"credential": {"type": "card", "card_no": person.card_no, "pin": PIN}})
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text

    before = snapshot(ctx)
    again = claim(client, me, person.id, docs, INVOICE)  # the same invoice, now to the bank
    assert refused_without_echo(again, INVOICE["number"])["application_id"] == first_id
    written_otherwise = {**INVOICE, "number": "ｉｎｖ ２０２６ ０００１", "issuer": " h2102-0000-001 "}
    again = claim(client, me, person.id, docs, written_otherwise)  # full-width, spaces, dashes, case
    assert refused_without_echo(again, INVOICE["number"])["earlier"] == first_id
    with_code = {**INVOICE, "einvoice_code": "11010026000000000001"}
    assert claim(client, me, person.id, docs, with_code).json()["application_id"] == first_id
    someone, theirs, their_docs = claimant(ctx, admin, client, "刘洋")
    before = snapshot(ctx)
    r = claim(client, theirs, someone.id, their_docs, INVOICE)  # another person with a copy of it
    assert refused_without_echo(r, INVOICE["number"])["application_id"] == first_id
    assert snapshot(ctx) == before

    other = claim(client, me, person.id, docs, {**INVOICE, "number": "INV-2026-0002"})  # another invoice: paid
    assert other.status_code == 201, other.text
    assert review(client, desk, other.json()["application_id"])["status"] == "approved"
    assert count(ctx, invoice_claims) == 2


def test_an_e_invoice_code_names_the_invoice_whatever_number_it_is_given_with(ctx, admin, client, desk):
    person, me, docs = claimant(ctx, admin, client, "周敏")
    first = claim(client, me, person.id, docs, {**INVOICE, "einvoice_code": "11010026000000000001"})
    assert first.status_code == 201, first.text
    before = snapshot(ctx)
    r = claim(client, me, person.id, docs, {**INVOICE, "number": "X-1", "einvoice_code": "1101-0026-0000-0000-0001"})
    assert refused_without_echo(r, "11010026000000000001")["application_id"] == first.json()["application_id"]
    twice = claim(client, me, person.id, docs, {**INVOICE, "number": "A-1"}, {**INVOICE, "number": "a 1"})
    assert "twice" in assert_problem(twice, 422, "application.invalid")["message_en"]
    no_issuer = claim(client, me, person.id, docs, {k: v for k, v in INVOICE.items() if k != "issuer"})
    assert_problem(no_issuer, 422, "request.invalid")
    assert_problem(apply(client, me, person.id, kind="reimbursement", reason="cross_region", document_ids=docs,
                         amount_fen=15_000, event_date="2026-02-20"), 422, "application.invalid")  # no invoices
    assert snapshot(ctx) == before


def test_a_directly_settled_receipt_is_not_reimbursed_again(ctx, admin, client, desk):
    person, me, docs = claimant(ctx, admin, client, "赵磊")
    sale = client.post(f"{API}/settlements", headers=desk["pharmacy"], json={
        "idempotency_key": "sale-1", "institution_code": PHARMACY,
        "credential": {"type": "card", "card_no": person.card_no, "pin": PIN},
        "items": [{"category": "drug", "amount_fen": 8_000}]})
    assert sale.status_code == 201, sale.text
    receipt = sale.json()["settlement_id"]  # printed on the receipt
    before = snapshot(ctx)
    as_receipt = {"number": receipt, "issuer": PHARMACY, "date": "2026-03-02",
                  "items": [{"category": "drug", "amount_fen": 8_000}]}
    r = claim(client, me, person.id, docs, as_receipt)
    problem = assert_problem(r, 422, "application.invoice_duplicate")
    assert problem["settlement_id"] == receipt == problem["earlier"]
    r = claim(client, me, person.id, docs, {**as_receipt, "number": receipt.upper().replace("_", " ")})
    assert assert_problem(r, 422, "application.invoice_duplicate")["settlement_id"] == receipt
    assert snapshot(ctx) == before
    bought_elsewhere = claim(client, me, person.id, docs, {**as_receipt, "number": "FP-88231", "issuer": HOSPITAL})
    assert bought_elsewhere.status_code == 201, bought_elsewhere.text


def test_a_rejected_or_withdrawn_claim_gives_its_invoices_back(ctx, admin, client, desk):
    person, me, docs = claimant(ctx, admin, client, "孙丽")
    first = claim(client, me, person.id, docs, INVOICE).json()["application_id"]
    review(client, desk, first, "reject", note="发票印章不清，请重新开具后申请")
    second = claim(client, me, person.id, docs, INVOICE)
    assert second.status_code == 201, second.text
    withdrawn = client.post(f"{API}/applications/{second.json()['application_id']}/withdraw", headers=me)
    assert withdrawn.status_code == 200, withdrawn.text
    third = claim(client, me, person.id, docs, INVOICE)
    assert third.status_code == 201, third.text
    r = claim(client, me, person.id, docs, INVOICE)
    assert assert_problem(r, 422, "application.invoice_duplicate")["application_id"] == third.json()[
        "application_id"]


@pytest.mark.postgresql_only
def test_one_invoice_claimed_many_times_at_once_is_claimed_once(ctx, admin, client, desk, settings):
    person, me, docs = claimant(ctx, admin, client, "冯静")
    clerk = Actor("clerk-1", Role.COUNTER)
    contexts = [bootstrap(settings) for _ in range(6)]
    for c in contexts:
        c.clock.set(NOW)
    try:
        outcomes = all_at_once(6, lambda i: cases.submit(
            contexts[i], actor=clerk, person_id=person.id, kind="reimbursement", reason="cross_region",
            document_ids=docs, invoices=[INVOICE]))
    finally:
        for c in contexts:
            c.engine.dispose()
    filed = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, errors.InvoiceDuplicate)]
    assert len(filed) == 1 and len(refused) == 5, outcomes
    assert {e.facts["application_id"] for e in refused} == {filed[0][0].id}
    assert count(ctx, invoice_claims) == 1
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Application.__table__)).scalar() == 1


# --- the window (申请期限) needs the day the case arose --------------------------------------------------------


def test_a_window_is_not_skipped_by_leaving_out_event_date(ctx, admin, client, desk):
    person = insured(ctx, admin, region="410000", name="王芳")  # Henan: 24 months from moving out
    docs = documents(client, bearer(client, person.username), person.id, "transfer_proof", "id_card",
                     "id_card_copy", "bank_card")
    body = {"kind": "withdrawal", "reason": "transfer_out", "amount_fen": 10_000, "document_ids": docs}
    before = snapshot(ctx)
    r = apply(client, desk["clerk"], person.id, **body)
    problem = assert_problem(r, 422, "application.event_date_required")
    assert "24 个月" in problem["message_zh"] and "24 months" in problem["message_en"]
    late = apply(client, desk["clerk"], person.id, **body, event_date="2023-12-01")
    assert assert_problem(late, 422, "application.window_closed")["deadline"] == "2025-12-01"
    future = apply(client, desk["clerk"], person.id, **body, event_date="2026-04-01")
    assert_problem(future, 422, "application.invalid")
    assert snapshot(ctx) == before
    on_time = apply(client, desk["clerk"], person.id, **body, event_date="2025-06-01")
    assert on_time.status_code == 201, on_time.text
    assert on_time.json()["event_date"] == "2025-06-01"


def test_a_claims_window_runs_from_its_earliest_invoice(ctx, admin, client, desk):
    person, me, docs = claimant(ctx, admin, client, "林木")
    old = {**INVOICE, "date": "2025-02-01"}  # 13 months ago: past the 12 months
    before = snapshot(ctx)
    r = claim(client, me, person.id, docs, old, event_date="2026-02-20")  # a later day to stretch the window
    assert "event_date" in assert_problem(r, 422, "application.invalid")["message_en"]
    assert_problem(claim(client, me, person.id, docs, old), 422, "application.window_closed")
    assert snapshot(ctx) == before
    derived = claim(client, me, person.id, docs, INVOICE)
    assert derived.status_code == 201 and derived.json()["event_date"] == "2026-02-20"
