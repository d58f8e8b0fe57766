"""Bank files that cannot be forged or replayed: the bank simulator's signed return pays; a forged, unsigned,
foreign or replayed return, or one turning a paid line failed, is refused with its code, writes nothing to
the books and is audited; the hold behind a sent line never lapses nor is voided by hand; the payee is the
account approved; four eyes from the policy's amount; a batch skips the claim that no longer fits."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support import API, PDF, add_person, assert_problem, bank_return, bearer, fund, new_bank_no, row_counts
from yibao.domain import bank_files, errors
from yibao.domain.clock import SHANGHAI
from yibao.services.accounts import balances
from yibao.services.accounts.books import Books
from yibao.services.credentials import auth, evouchers
from yibao.services.registry import enrolment, institutions
from yibao.store.tables import audit_records, disbursement_lines

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
EMIGRATION_DOCS = ("emigration_proof", "id_card", "id_card_copy", "insurance_card", "bank_card")


@pytest.fixture
def staff(ctx, admin, client):
    ctx.clock.set(NOW)
    for username, role in (("approver-1", "reviewer"), ("payer-1", "reviewer"), ("payer-2", "reviewer"),
                           ("desk-1", "counter")):
        auth.add_user(ctx, actor=admin, username=username, password="correct-horse-9", role=role)
    return {name: bearer(client, name) for name in ("approver-1", "payer-1", "payer-2", "desk-1")}


def insured(ctx, admin, *, name: str, region: str = "210200", months: int = 4, bank: str = "中国工商银行"):
    person = add_person(ctx, admin, name=name, region=region, card=False)
    enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, admin, person.id, months=months)
    evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=new_bank_no(),
                                  bank_name=bank, holder_name=name)
    return person


def approved_withdrawal(client, staff, person_id: str, amount_fen: int) -> str:
    """A Dalian emigration withdrawal taken at the counter and approved by another hand."""
    docs = []
    for type in EMIGRATION_DOCS:
        r = client.post(f"{API}/documents", headers=staff["desk-1"], data={"type": type, "person_id": person_id},
                        files={"file": ("scan.pdf", PDF, "application/octet-stream")})
        docs.append(r.json()["document_id"])
    r = client.post(f"{API}/applications", headers=staff["desk-1"], json={
        "person_id": person_id, "kind": "withdrawal", "reason": "emigration", "amount_fen": amount_fen,
        "document_ids": docs})
    assert r.status_code == 201, r.text
    app_id = r.json()["application_id"]
    r = client.post(f"{API}/applications/{app_id}/review", headers=staff["approver-1"], json={"action": "approve"})
    assert r.json()["status"] == "approved", r.text
    return app_id


def batch(client, headers) -> dict:
    r = client.post(f"{API}/disbursements/batches", headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def post_return(client, headers, batch_id: str, content: bytes):
    return client.post(f"{API}/disbursements/batches/{batch_id}/returns", headers=headers, content=content)


def account(client, headers, person_id: str) -> dict:
    return client.get(f"{API}/accounts/{person_id}", headers=headers).json()


def status(client, headers, app_id: str) -> str:
    return client.get(f"{API}/applications/{app_id}", headers=headers).json()["status"]


def books_rows(ctx) -> dict:
    """Every table's row count but the audit trail, which records the refusal."""
    return {k: v for k, v in row_counts(ctx).items() if k != "audit_records"}


def refusals(ctx) -> list[dict]:
    with ctx.engine.connect() as conn:
        return [{"actor": r.actor, "batch_id": r.entity_id, **r.details} for r in conn.execute(
            sa.select(audit_records).where(audit_records.c.action == "disbursement.return_refused")
            .order_by(audit_records.c.id))]


def forged(content: bytes, *, failed_line: int) -> bytes:
    """The bank's return turned 'failed' and signed with a key of one's own making."""
    signed = content[:content.rindex(b"SIGNATURE,")]
    returned = bank_files.read_return(signed)
    lines = [{**line, "result": "failed" if line["line_no"] == failed_line else line["result"],
              "reason": "账户已销户" if line["line_no"] == failed_line else line["reason"]} for line in returned.lines]
    body = bank_files.return_body(return_id="ret_forged", batch_id=returned.batch_id, file_id=returned.file_id,
                                  returned_at=returned.returned_at, lines=lines)
    return body + bank_files.signature_line(Ed25519PrivateKey.generate().sign(body))


def test_the_banks_genuine_return_pays_and_a_self_made_one_is_refused(ctx, admin, client, staff):
    person = insured(ctx, admin, name="钱塘")
    before = account(client, staff["payer-1"], person.id)["balance_fen"]
    app_id = approved_withdrawal(client, staff, person.id, 30_000)
    made = batch(client, staff["payer-1"])
    assert made["file"].startswith(f"FILE,{made['batch_id']},{made['file_id']},")
    genuine = bank_return(ctx, made["file_id"])
    rows = books_rows(ctx)

    r = post_return(client, staff["payer-1"], made["batch_id"], forged(genuine, failed_line=1))
    assert_problem(r, 422, "disbursement.return_signature_invalid")
    assert books_rows(ctx) == rows and status(client, staff["payer-1"], app_id) == "disbursing"
    assert refusals(ctx) == [{"actor": "payer-1", "batch_id": made["batch_id"],
                              "reason": "disbursement.return_signature_invalid"}]

    paid = post_return(client, staff["payer-1"], made["batch_id"], genuine)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "returned" and paid.json()["lines"][0]["status"] == "paid"
    assert account(client, staff["payer-1"], person.id)["balance_fen"] == before - 30_000
    assert status(client, staff["payer-1"], app_id) == "paid"


def test_unsigned_json_rows_are_no_return_at_all(ctx, admin, client, staff):
    person = insured(ctx, admin, name="孙武")
    app_id = approved_withdrawal(client, staff, person.id, 20_000)
    made = batch(client, staff["payer-1"])
    rows = books_rows(ctx)
    r = client.post(f"{API}/disbursements/batches/{made['batch_id']}/returns", headers=staff["payer-1"],
                    json={"lines": [{"line_no": 1, "application_id": app_id, "amount_fen": 20_000,
                                     "result": "failed", "reason": "账户已销户"}]})
    assert_problem(r, 422, "disbursement.return_unsigned")
    assert books_rows(ctx) == rows and status(client, staff["payer-1"], app_id) == "disbursing"
    assert [x["reason"] for x in refusals(ctx)] == ["disbursement.return_unsigned"]
    # the bank's genuine return, uploaded as a file
    r = client.post(f"{API}/disbursements/batches/{made['batch_id']}/returns", headers=staff["payer-1"],
                    files={"file": ("return.csv", bank_return(ctx, made["file_id"]), "text/csv")})
    assert r.status_code == 200 and status(client, staff["payer-1"], app_id) == "paid"


def test_a_genuine_failed_of_one_batch_is_refused_for_the_retry_and_the_retry_pays_once(ctx, admin, client, staff):
    person = insured(ctx, admin, name="周密")
    me = bearer(client, person.username)
    before = account(client, me, person.id)["balance_fen"]
    app_id = approved_withdrawal(client, staff, person.id, 30_000)
    first = batch(client, staff["payer-1"])
    failed = bank_return(ctx, first["file_id"], {1: "户名不符"})
    assert post_return(client, staff["payer-1"], first["batch_id"], failed).status_code == 200
    assert status(client, me, app_id) == "failed"
    assert client.post(f"{API}/applications/{app_id}/retry", headers=me).json()["status"] == "approved"
    second = batch(client, staff["payer-1"])
    assert (second["batch_id"], second["file_id"]) != (first["batch_id"], first["file_id"])
    assert second["file"] != first["file"]  # a retry's file is a new file
    assert second["lines"][0]["line_id"] != first["lines"][0]["line_id"]
    rows = books_rows(ctx)

    foreign = post_return(client, staff["payer-1"], second["batch_id"], failed)
    assert_problem(foreign, 409, "disbursement.return_foreign")
    replayed = post_return(client, staff["payer-1"], first["batch_id"], failed)
    assert assert_problem(replayed, 409, "disbursement.return_replayed")["batch_status"] == "returned"
    assert books_rows(ctx) == rows and status(client, me, app_id) == "disbursing"
    assert [(x["batch_id"], x["reason"]) for x in refusals(ctx)] == [
        (second["batch_id"], "disbursement.return_foreign"), (first["batch_id"], "disbursement.return_replayed")]
    assert account(client, me, person.id)["available_fen"] == before - 30_000  # still held for the bank

    paid = post_return(client, staff["payer-1"], second["batch_id"], bank_return(ctx, second["file_id"]))
    assert paid.json()["lines"][0]["status"] == "paid"
    assert account(client, me, person.id)["balance_fen"] == before - 30_000  # paid once
    assert status(client, me, app_id) == "paid"


def test_a_line_the_bank_confirmed_paid_never_becomes_failed(ctx, admin, client, staff):
    person = insured(ctx, admin, name="吴用")
    me = bearer(client, person.username)
    before = account(client, me, person.id)["balance_fen"]
    app_id = approved_withdrawal(client, staff, person.id, 25_000)
    made = batch(client, staff["payer-1"])
    assert post_return(client, staff["payer-1"], made["batch_id"], bank_return(ctx, made["file_id"])).is_success
    rows = books_rows(ctx)
    later = bank_return(ctx, made["file_id"], {1: "账户已销户"})  # even signed by the bank: a different return
    r = post_return(client, staff["payer-1"], made["batch_id"], later)
    assert assert_problem(r, 409, "disbursement.line_settled")["line_status"] == "paid"
    assert books_rows(ctx) == rows
    assert status(client, me, app_id) == "paid"
    assert account(client, me, person.id)["balance_fen"] == before - 25_000
    retry = client.post(f"{API}/applications/{app_id}/retry", headers=me)
    assert_problem(retry, 409, "application.wrong_state")
    with pytest.raises(sa.exc.DatabaseError), ctx.engine.begin() as conn:  # nor behind the services' back
        conn.execute(disbursement_lines.update().where(disbursement_lines.c.batch_id == made["batch_id"])
                     .values(status="failed"))


def test_a_hold_behind_a_sent_line_never_lapses_and_settles_paid_40_days_later(ctx, admin, client, staff):
    person = insured(ctx, admin, name="郑和")
    me = bearer(client, person.username)
    before = account(client, me, person.id)
    app_id = approved_withdrawal(client, staff, person.id, 30_000)
    made = batch(client, staff["payer-1"])
    ctx.clock.set(NOW + dt.timedelta(days=40))
    assert balances.expire_holds(ctx) == 0  # the job releases nothing behind a sent line
    me, staff["payer-1"] = bearer(client, person.username), bearer(client, "payer-1")  # sessions of the day
    held = account(client, me, person.id)
    assert held["available_fen"] == before["available_fen"] - 30_000  # never spendable meanwhile
    assert [(h["amount_fen"], h["expires_at"]) for h in held["holds"]] == [(30_000, None)]  # until the bank settles
    paid = post_return(client, staff["payer-1"], made["batch_id"], bank_return(ctx, made["file_id"]))
    assert paid.status_code == 200, paid.text
    after = account(client, me, person.id)
    assert (after["balance_fen"], after["available_fen"]) == (before["balance_fen"] - 30_000,
                                                               before["available_fen"] - 30_000)
    assert status(client, me, app_id) == "paid"


def test_the_hold_behind_a_sent_line_cannot_be_voided_or_captured_by_hand(ctx, admin, client, staff):
    person = insured(ctx, admin, name="冯唐")
    me = bearer(client, person.username)
    before = account(client, me, person.id)
    app_id = approved_withdrawal(client, staff, person.id, 30_000)
    made = batch(client, staff["payer-1"])
    [line] = client.get(f"{API}/disbursements/batches/{made['batch_id']}", headers=staff["payer-1"]).json()["lines"]
    with ctx.engine.connect() as conn:
        hold_id = conn.execute(sa.select(disbursement_lines.c.hold_id).where(
            disbursement_lines.c.line_id == line["line_id"])).scalar_one()
    rows = books_rows(ctx)
    for attempt in ("void", "capture"):
        with ctx.uow() as uow:
            books = Books(uow, ctx.now())
            with pytest.raises(errors.HoldBehindBankLine):
                books.void(hold_id) if attempt == "void" else books.capture(hold_id)
    assert books_rows(ctx) == rows
    assert account(client, me, person.id)["available_fen"] == before["available_fen"] - 30_000
    # the bank's genuine failed frees it
    post_return(client, staff["payer-1"], made["batch_id"], bank_return(ctx, made["file_id"], {1: "账户冻结"}))
    assert account(client, me, person.id)["available_fen"] == before["available_fen"]
    assert status(client, me, app_id) == "failed"


def test_the_payee_is_the_account_approved_not_one_switched_in_after(ctx, admin, client, staff):
    """A primary account switched in after the approval is not paid on that approval: the case goes back to
    review, and only a new approval, by another hand, fixes the new payee."""
    person = insured(ctx, admin, name="王充")
    [approved] = evouchers.list_bank_accounts(ctx, actor=admin, person_id=person.id)
    app_id = approved_withdrawal(client, staff, person.id, 30_000)
    detail = client.get(f"{API}/applications/{app_id}", headers=staff["payer-1"]).json()
    assert detail["status"] == "approved"
    switched = new_bank_no()  # linked as primary after the approval, by whoever
    evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=switched, bank_name="中国银行",
                                  holder_name="王充", primary=True)
    refused = client.post(f"{API}/disbursements/batches", headers=staff["payer-1"])
    assert assert_problem(refused, 422, "disbursement.nothing_to_pay")
    assert status(client, staff["payer-1"], app_id) == "under_review"
    r = client.post(f"{API}/applications/{app_id}/review", headers=staff["approver-1"], json={"action": "approve"})
    assert r.json()["status"] == "approved", r.text
    made = batch(client, staff["payer-1"])
    assert made["bank_name"] == "中国银行" and made["lines"][0]["application_id"] == app_id
    assert f",{switched}," in made["file"] and approved.account_no not in made["file"]


def test_above_the_four_eyes_amount_the_approver_does_not_batch_nor_the_maker_record_the_return(
        ctx, admin, client, staff):
    person = insured(ctx, admin, name="赵括", months=24)
    me = bearer(client, person.username)
    have = account(client, me, person.id)["available_fen"]
    assert have >= 600_000, have  # the policy's ¥5,000 is within reach
    app_id = approved_withdrawal(client, staff, person.id, 600_000)
    refused = client.post(f"{API}/disbursements/batches", headers=staff["approver-1"])
    assert assert_problem(refused, 422, "disbursement.nothing_to_pay")["skipped"] == [
        {"application_id": app_id, "code": "disbursement.four_eyes"}]
    made = batch(client, staff["payer-1"])
    genuine = bank_return(ctx, made["file_id"])
    rows = books_rows(ctx)
    same = post_return(client, staff["payer-1"], made["batch_id"], genuine)
    assert assert_problem(same, 409, "disbursement.four_eyes")["from_fen"] == 500_000
    approver = post_return(client, staff["approver-1"], made["batch_id"], genuine)
    assert_problem(approver, 409, "disbursement.four_eyes")  # nor the one who approved the case
    assert books_rows(ctx) == rows and status(client, me, app_id) == "disbursing"
    assert [x["reason"] for x in refusals(ctx)] == ["disbursement.four_eyes"] * 2
    other = post_return(client, staff["payer-2"], made["batch_id"], genuine)
    assert other.status_code == 200, other.text
    assert status(client, me, app_id) == "paid"


def test_below_the_four_eyes_amount_one_reviewer_batches_and_records(ctx, admin, client, staff):
    person = insured(ctx, admin, name="李冰")
    me = bearer(client, person.username)
    app_id = approved_withdrawal(client, staff, person.id, 49_900)
    made = batch(client, staff["approver-1"])  # the approver may batch a small one
    assert post_return(client, staff["approver-1"], made["batch_id"], bank_return(ctx, made["file_id"])).is_success
    assert status(client, me, app_id) == "paid"


def test_a_batch_skips_the_claim_the_balance_no_longer_covers_and_pays_the_other(ctx, admin, client, staff):
    person = insured(ctx, admin, name="陈平", region="110000", months=1)  # each claim within the day's limits
    institutions.add_institution(ctx, actor=admin, code="H21020000001", name="大连市中心医院", kind="hospital",
                                 region="210200", designated=True, cross_region=False,
                                 designated_from=dt.date(2024, 1, 1))  # the invoices' issuer
    me = bearer(client, person.username)
    have = account(client, me, person.id)["available_fen"]
    share = have * 6 // 10
    docs = []
    for type in ("medical_invoice", "expense_list", "diagnosis", "id_card", "bank_card"):
        r = client.post(f"{API}/documents", headers=me, data={"type": type, "person_id": person.id},
                        files={"file": ("scan.pdf", PDF, "application/octet-stream")})
        docs.append(r.json()["document_id"])
    claims = []
    for n in (1, 2):
        r = client.post(f"{API}/applications", headers=me, json={
            "person_id": person.id, "kind": "reimbursement", "reason": "cross_region", "document_ids": docs,
            "invoices": [{"number": f"SKIP-{n}", "issuer": "H21020000001", "date": f"2026-02-2{n}",
                          "items": [{"category": "drug", "amount_fen": share}]}]})
        assert r.status_code == 201, r.text
        claims.append(r.json()["application_id"])
        r = client.post(f"{API}/applications/{claims[-1]}/review", headers=staff["approver-1"],
                        json={"action": "approve"})
        assert r.json()["status"] == "approved", r.text
    made = batch(client, staff["payer-1"])
    assert [line["application_id"] for line in made["lines"]] == [claims[0]]
    assert made["skipped"] == [{"application_id": claims[1], "code": "balance.insufficient"}]
    assert status(client, me, claims[1]) == "approved"  # left for later, untouched
    assert account(client, me, person.id)["available_fen"] == have - share


def test_the_return_is_fetched_from_the_bank_and_fetching_again_changes_nothing(ctx, admin, client, staff):
    person = insured(ctx, admin, name="韩信")
    me = bearer(client, person.username)
    before = account(client, me, person.id)["balance_fen"]
    app_id = approved_withdrawal(client, staff, person.id, 30_000)
    made = batch(client, staff["payer-1"])  # handed to the bank when made
    fetched = client.post(f"{API}/disbursements/batches/{made['batch_id']}/returns/fetch", headers=staff["payer-1"])
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["lines"][0]["status"] == "paid" and status(client, me, app_id) == "paid"
    again = client.post(f"{API}/disbursements/batches/{made['batch_id']}/returns/fetch", headers=staff["payer-1"])
    assert_problem(again, 409, "disbursement.return_replayed")
    assert account(client, me, person.id)["balance_fen"] == before - 30_000


def test_a_hold_that_lapsed_under_the_former_time_limit_still_settles_the_banks_paid(ctx, admin, client, staff):
    from yibao.store.tables import holds

    person = insured(ctx, admin, name="萧何")
    me = bearer(client, person.username)
    before = account(client, me, person.id)["balance_fen"]
    app_id = approved_withdrawal(client, staff, person.id, 30_000)
    made = batch(client, staff["payer-1"])
    with ctx.engine.begin() as conn:  # a batch made before holds behind sent lines stopped lapsing
        hold_id = conn.execute(sa.select(disbursement_lines.c.hold_id).where(
            disbursement_lines.c.batch_id == made["batch_id"])).scalar_one()
        conn.execute(holds.update().where(holds.c.id == hold_id).values(expires_at=ctx.now() - dt.timedelta(days=1)))
    assert balances.expire_holds(ctx) == 1
    paid = post_return(client, staff["payer-1"], made["batch_id"], bank_return(ctx, made["file_id"]))
    assert paid.status_code == 200, paid.text
    assert status(client, me, app_id) == "paid"
    after = account(client, me, person.id)
    assert (after["balance_fen"], after["available_fen"]) == (before - 30_000, before - 30_000)


def test_a_return_for_no_batch_is_not_found_and_audited(ctx, admin, client, staff):
    person = insured(ctx, admin, name="张良")
    approved_withdrawal(client, staff, person.id, 30_000)
    made = batch(client, staff["payer-1"])
    r = post_return(client, staff["payer-1"], "bat_" + "0" * 60, bank_return(ctx, made["file_id"]))
    assert_problem(r, 404, "disbursement.batch_not_found")
    assert [x["reason"] for x in refusals(ctx)] == ["disbursement.batch_not_found"]
