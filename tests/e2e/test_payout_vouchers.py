"""Vouchers of applications and cash payouts (R9, R22): the approval and the bank payment printed as Chinese
PDFs whose codes verify; a cross-region claim paid in cash against a voucher with a QR code, exactly once,
at the institution it names and by appointment where the institution needs one; a voucher that lapses frees
the amount and a retry issues a new one; slots never overbooked, also when many book at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tests.e2e.test_application_stories import NOW, apply, balance, documents, insured
from tests.integration.test_ledger_concurrency import all_at_once
from tests.support import API, CLAIM_DOCS, PIN, add_person, assert_problem, bank_return, bearer, count
from yibao.bootstrap import bootstrap
from yibao.domain import errors
from yibao.domain.appointments import Appointment
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor, Role
from yibao.services.applications import appointments, cash_vouchers
from yibao.services.credentials import auth, cards
from yibao.services.registry import institutions
from yibao.store.tables import applications, holds, ledger_entries
from yibao.store.tables import cash_vouchers as cash_rows

HOSPITAL = "H21020000001"  # a Dalian hospital where a Beijing insured person was treated
OTHER = "H21020000002"
INVOICES = [{"number": "INV-001", "issuer": HOSPITAL, "date": "2026-02-20",
             "items": [{"category": "drug", "amount_fen": 12_000}, {"category": "medical_service",
                                                                     "amount_fen": 3_000}]}]


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def counters(ctx, admin, client):
    """Staff, two Dalian hospitals, and a user at each."""
    ctx.clock.set(NOW)
    auth.add_user(ctx, actor=admin, username="reviewer-1", password="correct-horse-9", role="reviewer")
    auth.add_user(ctx, actor=admin, username="counter-1", password="correct-horse-9", role="admin")
    for code, name, user in ((HOSPITAL, "大连市中心医院", "hospital-1"), (OTHER, "大连市第二医院", "hospital-2")):
        institutions.add_institution(ctx, actor=admin, code=code, name=name, kind="hospital", region="210200",
                                     designated=True, cross_region=True, designated_from=dt.date(2024, 1, 1))
        auth.add_user(ctx, actor=admin, username=user, password="correct-horse-9", role="institution",
                      institution_code=code)
    return {"reviewer": bearer(client, "reviewer-1"), "admin": bearer(client, "counter-1"),
            "hospital": bearer(client, "hospital-1"), "other": bearer(client, "hospital-2")}


def cash_claim(ctx, admin, client, counters, *, name: str, institution_code: str | None = HOSPITAL):
    """A Beijing person's cross-region claim, paid in cash, approved: returns the person and the application."""
    person = insured(ctx, admin, region="110000", name=name)
    card = cards.issue_card(ctx, actor=admin, person_id=person.id)  # brought to the counter with the voucher
    cards.activate(ctx, actor=admin, card_no=card.card_no, id_number=person.id_number, pin=PIN)
    person.card_no = card.card_no
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, *CLAIM_DOCS)
    r = apply(client, me, person.id, kind="reimbursement", reason="cross_region", document_ids=docs,
              invoices=INVOICES, payout="cash_voucher", institution_code=institution_code)
    assert r.status_code == 201, r.text
    assert (r.json()["payout"], r.json()["institution_code"]) == ("cash_voucher", institution_code)
    approved = client.post(f"{API}/applications/{r.json()['application_id']}/review", headers=counters["reviewer"],
                           json={"action": "approve", "note": "发票齐全"})
    assert approved.status_code == 200, approved.text
    return person, me, approved.json()


def redeem(client, headers, code: str, holder=None, **body):
    """Present the voucher; the holder proves who they are with card and PIN."""
    if holder is not None:
        body["credential"] = {"type": "card", "card_no": holder.card_no, "pin": PIN}
    return client.post(f"{API}/cash-vouchers/{code}/redeem", headers=headers, json=body or None)


def test_an_approval_and_a_bank_payment_print_vouchers_that_read_in_chinese_and_verify(ctx, admin, client, counters):
    person = insured(ctx, admin, region="210200", name="孙丽")
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, "emigration_proof", "id_card", "id_card_copy", "insurance_card",
                     "bank_card")
    app_id = apply(client, counters["admin"], person.id, kind="withdrawal", reason="emigration", amount_fen=30_000,
                   document_ids=docs).json()["application_id"]  # taken at the counter, the person there
    assert client.get(f"{API}/applications/{app_id}/vouchers", headers=me).json() == []
    assert_problem(client.get(f"{API}/applications/{app_id}/vouchers/approval.pdf", headers=me), 404,
                   "voucher.not_issued")
    client.post(f"{API}/applications/{app_id}/review", headers=counters["reviewer"], json={"action": "approve"})

    [listed] = client.get(f"{API}/applications/{app_id}/vouchers", headers=me).json()
    assert listed["kind"] == "approval" and listed["code"] and listed["subject"]["approved_fen"] == 30_000
    r = client.get(f"{API}/applications/{app_id}/vouchers/approval.pdf", headers=me)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    code = r.headers["x-voucher-code"]
    assert code == listed["code"] and hashlib.sha256(r.content).hexdigest() == listed["sha256"]
    text = text_of(r.content)
    assert "医疗保险申请审核通过凭证" in text and "个人账户支取" in text and "出国（境）定居" in text
    assert "孙丽" in text and person.id_number not in text and "¥300.00" in text and code in text
    assert "拨付至本人银行账户" in text

    check = client.get(f"{API}/vouchers/{code}").json()  # whoever holds the paper
    assert (check["kind"], check["subject"]["application_id"], check["subject"]["approved_fen"]) == (
        "approval", app_id, 30_000)
    assert check["holder_name"] == "孙*" and check["sha256"] == listed["sha256"]
    again = client.get(f"{API}/applications/{app_id}/vouchers/approval.pdf", headers=counters["admin"])
    assert (again.content, again.headers["x-voucher-code"]) == (r.content, code)  # a reprint is the same paper

    batch = client.post(f"{API}/disbursements/batches", headers=counters["admin"]).json()
    client.post(f"{API}/disbursements/batches/{batch['batch_id']}/returns", headers=counters["admin"],
                content=bank_return(ctx, batch["file_id"]))
    listed = {v["kind"]: v for v in client.get(f"{API}/applications/{app_id}/vouchers", headers=me).json()}
    assert listed["payment"]["code"] is None  # issued when first printed, not inside the bank's return
    paid = client.get(f"{API}/applications/{app_id}/vouchers/payment.pdf", headers=me)
    assert paid.status_code == 200, paid.text
    text = text_of(paid.content)
    assert "医疗保险拨付凭证" in text and "¥300.00" in text and "尾号" in text
    check = client.get(f"{API}/vouchers/{paid.headers['x-voucher-code']}").json()
    assert (check["kind"], check["subject"]["paid_fen"], check["subject"]["batch_id"]) == (
        "payment", 30_000, batch["batch_id"])
    assert client.get(f"{API}/applications/{app_id}/vouchers/payment.pdf", headers=me).content == paid.content
    stranger = bearer(client, add_person(ctx, admin, name="外人", card=False).username)
    assert_problem(client.get(f"{API}/applications/{app_id}/vouchers/payment.pdf", headers=stranger), 403)
    assert_problem(client.get(f"{API}/applications/{app_id}/vouchers/receipt.pdf", headers=me), 404)


def test_a_cross_region_claim_is_paid_in_cash_once_at_the_institution_it_names(ctx, admin, client, counters):
    person, me, approved = cash_claim(ctx, admin, client, counters, name="陈晨")
    app_id = approved["application_id"]
    before = balance(client, me, person.id)
    assert approved["status"] == "disbursing" and approved["expected_arrival_date"] is None
    cash = approved["cash_voucher"]
    assert (cash["amount_fen"], cash["institution_code"], cash["status"]) == (15_000, HOSPITAL, "issued")
    valid = dt.datetime.fromisoformat(cash["valid_until"]) - dt.datetime.fromisoformat(cash["issued_at"])
    assert cash["qr_svg"].startswith("<svg") and valid == dt.timedelta(days=ctx.settings.cash_voucher_days)
    assert before["balance_fen"] - before["available_fen"] == 15_000  # held until it is redeemed
    assert [h["to_status"] for h in approved["history"]][-2:] == ["approved", "disbursing"]
    inbox = client.get(f"{API}/persons/{person.id}/notices", headers=me).json()
    assert inbox[0]["title_zh"] == "取现凭证已开具" and cash["code"] in inbox[0]["body_zh"]

    printed = client.get(f"{API}/applications/{app_id}/vouchers/cash_voucher.pdf", headers=me)
    assert printed.headers["x-voucher-code"] == cash["code"]  # the code that pays is the code that verifies
    text = text_of(printed.content)
    assert "异地就医取现凭证" in text and "¥150.00" in text and "大连市中心医院" in text and cash["code"] in text
    assert client.get(f"{API}/vouchers/{cash['code']}").json()["subject"]["amount_fen"] == 15_000

    assert_problem(redeem(client, me, cash["code"], person), 403, "auth.forbidden")
    assert_problem(redeem(client, counters["other"], cash["code"], person), 422, "cash_voucher.wrong_institution")
    assert_problem(redeem(client, counters["hospital"], "ABCD-EFGH-JKMN-PQRS", person), 404,
                   "cash_voucher.not_found")
    r = redeem(client, counters["hospital"], cash["code"].lower().replace("-", ""), person)  # as typed in
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["amount_fen"], done["institution_code"]) == ("paid", 15_000, HOSPITAL)
    assert_problem(redeem(client, counters["hospital"], cash["code"], person), 409, "cash_voucher.redeemed")

    after = balance(client, me, person.id)
    assert (after["balance_fen"], after["available_fen"]) == (before["balance_fen"] - 15_000,
                                                              before["available_fen"])
    final = client.get(f"{API}/applications/{app_id}", headers=me).json()
    assert final["status"] == "paid" and final["cash_voucher"]["status"] == "redeemed"
    inbox = client.get(f"{API}/persons/{person.id}/notices", headers=me).json()
    assert inbox[0]["title_zh"] == "现金已兑付" and "¥150.00" in inbox[0]["body_zh"]
    slip = client.get(done["voucher_pdf"], headers=me)
    assert slip.headers["x-voucher-code"] == done["voucher_code"]
    assert "取现兑付凭证" in text_of(slip.content) and "大连市中心医院" in text_of(slip.content)
    check = client.get(f"{API}/vouchers/{done['voucher_code']}").json()
    assert (check["kind"], check["subject"]["amount_fen"], check["subject"]["institution_code"]) == (
        "redemption", 15_000, HOSPITAL)
    kinds = [v["kind"] for v in client.get(f"{API}/applications/{app_id}/vouchers", headers=me).json()]
    assert kinds == ["approval", "cash_voucher", "redemption"]


def test_cash_is_for_cross_region_claims_only_and_a_refusal_writes_nothing(ctx, admin, client, counters):
    person = insured(ctx, admin, region="210200", name="钱多")
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, "emigration_proof", "id_card", "id_card_copy", "insurance_card",
                     "bank_card")
    r = apply(client, me, person.id, kind="withdrawal", reason="emigration", amount_fen=10_000,
              document_ids=docs, payout="cash_voucher")
    assert "reimbursement / cross_region" in assert_problem(r, 422, "application.invalid")["message_en"]
    r = apply(client, me, person.id, kind="withdrawal", reason="emigration", amount_fen=10_000,
              document_ids=docs, institution_code=HOSPITAL)
    assert_problem(r, 422, "application.invalid")
    assert_problem(apply(client, me, person.id, kind="withdrawal", reason="emigration", amount_fen=10_000,
                         document_ids=docs, payout="cash"), 422, "request.invalid")
    beijing = insured(ctx, admin, region="110000", name="陈静")
    mine = bearer(client, beijing.username)
    claim_docs = documents(client, mine, beijing.id, *CLAIM_DOCS)
    r = apply(client, mine, beijing.id, kind="reimbursement", reason="cross_region",
              document_ids=claim_docs, invoices=INVOICES, payout="cash_voucher", institution_code="H00000000000")
    assert_problem(r, 404, "institution.not_found")
    assert count(ctx, applications) == 0


def test_a_lapsed_voucher_frees_the_amount_and_a_retry_issues_a_new_one(ctx, admin, client, counters):
    person, me, approved = cash_claim(ctx, admin, client, counters, name="吴越", institution_code=None)
    app_id, old = approved["application_id"], approved["cash_voucher"]["code"]
    held = balance(client, me, person.id)
    ctx.clock.set(NOW + dt.timedelta(days=ctx.settings.cash_voucher_days, minutes=1))
    me = bearer(client, person.username)  # sessions end long before a voucher does
    counters = {"hospital": bearer(client, "hospital-1"), "admin": bearer(client, "counter-1")}
    assert_problem(redeem(client, counters["hospital"], old), 422, "cash_voucher.expired")
    failed = client.get(f"{API}/applications/{app_id}", headers=me).json()
    assert failed["status"] == "failed" and "过期" in failed["history"][-1]["note"]
    freed = balance(client, me, person.id)
    assert freed["available_fen"] == held["available_fen"] + 15_000 == freed["balance_fen"]
    inbox = client.get(f"{API}/persons/{person.id}/notices", headers=me).json()
    assert inbox[0]["title_zh"] == "取现凭证已过期"
    assert_problem(redeem(client, counters["hospital"], old), 422, "cash_voucher.expired")  # still no money

    retried = client.post(f"{API}/applications/{app_id}/retry", headers=me)
    assert retried.status_code == 200, retried.text
    new = retried.json()["cash_voucher"]
    assert retried.json()["status"] == "disbursing" and new["code"] != old and new["status"] == "issued"
    assert_problem(redeem(client, counters["admin"], old, person), 404, "cash_voucher.not_found")
    r = redeem(client, counters["admin"], new["code"], person)  # no institution named: any counter
    assert r.status_code == 200, r.text
    assert r.json()["institution_code"] is None and r.json()["status"] == "paid"
    assert balance(client, me, person.id)["balance_fen"] == held["balance_fen"] - 15_000
    printed = client.get(f"{API}/applications/{app_id}/vouchers/cash_voucher.pdf", headers=me)
    assert printed.headers["x-voucher-code"] == new["code"]


def test_an_institution_serving_by_appointment_pays_only_the_booked(ctx, admin, client, counters):
    person, me, approved = cash_claim(ctx, admin, client, counters, name="郑重")
    code = approved["cash_voucher"]["code"]
    slot_body = {"starts_at": "2026-03-02T14:00:00+08:00", "ends_at": "2026-03-02T15:00:00+08:00", "capacity": 1}
    assert_problem(client.post(f"{API}/institutions/{HOSPITAL}/slots", headers=counters["other"], json=slot_body),
                   403, "auth.forbidden")
    assert_problem(client.post(f"{API}/institutions/{HOSPITAL}/slots", headers=counters["hospital"],
                               json={**slot_body, "ends_at": "2026-03-02T13:00:00+08:00"}), 422,
                   "appointment.invalid")
    assert_problem(client.post(f"{API}/institutions/{HOSPITAL}/slots", headers=counters["hospital"],
                               json={**slot_body, "capacity": 0}), 422, "request.invalid")
    r = client.post(f"{API}/institutions/{HOSPITAL}/slots", headers=counters["hospital"], json=slot_body)
    assert r.status_code == 201, r.text
    slot = r.json()
    listed = client.get(f"{API}/institutions/{HOSPITAL}/slots", headers=me, params={"date": "2026-03-02"}).json()
    assert [(s["slot_id"], s["remaining"]) for s in listed] == [(slot["slot_id"], 1)]
    assert client.get(f"{API}/institutions/{HOSPITAL}/slots", headers=me, params={"date": "2026-03-03"}).json() == []

    assert_problem(redeem(client, counters["hospital"], code, person), 422, "appointment.required")
    booked = client.post(f"{API}/appointments", headers=me,
                         json={"slot_id": slot["slot_id"], "person_id": person.id, "purpose": "cash_voucher"})
    assert booked.status_code == 201, booked.text
    assert booked.json()["slot"]["remaining"] == 0 and booked.json()["status"] == "booked"
    assert_problem(client.post(f"{API}/appointments", headers=me, json={
        "slot_id": slot["slot_id"], "person_id": person.id, "purpose": "cash_voucher"}), 409, "appointment.duplicate")
    other = add_person(ctx, admin, name="林木", card=False)
    theirs = bearer(client, other.username)
    assert_problem(client.post(f"{API}/appointments", headers=theirs, json={
        "slot_id": slot["slot_id"], "person_id": other.id, "purpose": "cash_voucher"}), 409, "appointment.full")
    assert_problem(client.post(f"{API}/appointments", headers=theirs, json={
        "slot_id": slot["slot_id"], "person_id": person.id, "purpose": "cash_voucher"}), 403, "auth.forbidden")
    assert_problem(client.post(f"{API}/appointments", headers=me, json={
        "slot_id": "slt_nope", "person_id": person.id, "purpose": "cash_voucher"}), 404, "appointment.slot_not_found")

    appointment_id = booked.json()["appointment_id"]
    assert_problem(client.post(f"{API}/appointments/{appointment_id}/cancel", headers=theirs), 403)
    cancelled = client.post(f"{API}/appointments/{appointment_id}/cancel", headers=me)
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["slot"]["remaining"] == 1
    assert_problem(client.post(f"{API}/appointments/{appointment_id}/cancel", headers=me), 409,
                   "appointment.cancelled")
    assert_problem(redeem(client, counters["hospital"], code, person), 422, "appointment.required")
    rebooked = client.post(f"{API}/appointments", headers=counters["admin"],  # staff book at the counter
                           json={"slot_id": slot["slot_id"], "person_id": person.id, "purpose": "cash_voucher"})
    assert rebooked.status_code == 201, rebooked.text
    r = redeem(client, counters["hospital"], code, person)
    assert r.status_code == 200, r.text


# --- many at once (PostgreSQL) ---------------------------------------------------------------------------------


def _contexts(settings, n: int):
    contexts = [bootstrap(settings) for _ in range(n)]
    for c in contexts:
        c.clock.set(NOW)
    return contexts


@pytest.mark.postgresql_only
def test_a_voucher_redeemed_at_many_counters_at_once_pays_once(ctx, admin, client, counters, settings):
    person, me, approved = cash_claim(ctx, admin, client, counters, name="冯静")
    before = balance(client, me, person.id)
    clerk = Actor("hospital-1", Role.INSTITUTION, institution_code=HOSPITAL)
    contexts = _contexts(settings, 8)
    try:
        card = {"type": "card", "card_no": person.card_no, "pin": PIN}
        outcomes = all_at_once(8, lambda i: cash_vouchers.redeem(contexts[i], actor=clerk, credential=card,
                                                                 code=approved["cash_voucher"]["code"]))
    finally:
        for c in contexts:
            c.engine.dispose()
    paid = [o for o in outcomes if isinstance(o, cash_vouchers.Redemption)]
    refused = [o for o in outcomes if isinstance(o, errors.CashVoucherUsed)]
    assert len(paid) == 1 and len(refused) == 7, outcomes
    with ctx.engine.connect() as conn:
        captured = conn.execute(sa.select(sa.func.count()).select_from(holds).where(
            holds.c.status == "captured", holds.c.purpose == f"cash voucher {approved['application_id']}")).scalar()
        entries = conn.execute(sa.select(sa.func.count()).select_from(ledger_entries).where(
            ledger_entries.c.kind == "hold_capture")).scalar()
        redeemed = conn.execute(sa.select(cash_rows.c.redeemed_at)).scalars().all()
    assert (captured, entries) == (1, 1) and len(redeemed) == 1 and redeemed[0] is not None
    assert balance(client, me, person.id)["balance_fen"] == before["balance_fen"] - 15_000


@pytest.mark.postgresql_only
def test_a_slot_is_never_overbooked_when_many_book_at_once(ctx, admin, settings):
    ctx.clock.set(NOW)
    institutions.add_institution(ctx, actor=admin, code=HOSPITAL, name="大连市中心医院", kind="hospital",
                                 region="210200", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))
    slot = appointments.publish_slot(ctx, actor=admin, institution_code=HOSPITAL,
                                     starts_at=dt.datetime(2026, 3, 3, 9, tzinfo=SHANGHAI),
                                     ends_at=dt.datetime(2026, 3, 3, 10, tzinfo=SHANGHAI), capacity=3)
    people = [add_person(ctx, admin, name="排队", card=False) for _ in range(10)]
    contexts = _contexts(settings, 12)
    try:
        outcomes = all_at_once(12, lambda i: appointments.book(
            contexts[i], actor=admin, slot_id=slot.id, person_id=people[min(i, 9)].id, purpose="cash_voucher"))
    finally:
        for c in contexts:
            c.engine.dispose()
    booked = [o for o in outcomes if isinstance(o, Appointment)]
    refused = [o for o in outcomes if isinstance(o, (errors.SlotFull, errors.AppointmentDuplicate))]
    assert len(booked) == 3 and len(refused) == 9, outcomes
    assert len({b.person_id for b in booked}) == 3  # the last person asked three times: at most one place
    [left] = appointments.list_slots(ctx, actor=admin, institution_code=HOSPITAL, day=dt.date(2026, 3, 3))
    assert (left.booked, left.remaining) == (3, 0)
