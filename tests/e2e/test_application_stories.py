"""Applications, the seeds' central story: what a person must do to get money out of the account legally, and
how the agency reviews and pays it — refusals with their reasons, the heir's withdrawal from review to the
bank's return, the supplement loop, a failed bank line, reimbursement of invoices."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from tests.support import (
    API,
    MONTHLY_BASE_FEN,
    PDF,
    PNG,
    add_person,
    assert_problem,
    bank_return,
    bearer,
    count,
    fund,
    new_bank_no,
)
from yibao.domain.clock import SHANGHAI
from yibao.domain.ids import new_id
from yibao.services.credentials import evouchers
from yibao.services.registry import enrolment, institutions
from yibao.store.tables import applications, disbursement_batches, holds, ledger_postings

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def insured(ctx, admin, *, region: str, name: str, months: int = 4, base_fen: int = MONTHLY_BASE_FEN,
            bank: str | None = "中国工商银行", birth: str = "19850312"):
    """A flexible-employment employee of the region with contributions credited (¥2,000 unless told) and a bank
    account."""
    person = add_person(ctx, admin, name=name, region=region, card=False, birth=birth)
    enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, admin, person.id, months=months, base_fen=base_fen)
    if bank:
        evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=new_bank_no(),
                                      bank_name=bank, holder_name=name)
    return person


@pytest.fixture
def staff(ctx, admin, client):
    from yibao.services.credentials import auth

    ctx.clock.set(NOW)
    auth.add_user(ctx, actor=admin, username="reviewer-1", password="correct-horse-9", role="reviewer")
    auth.add_user(ctx, actor=admin, username="counter-1", password="correct-horse-9", role="admin")
    auth.add_user(ctx, actor=admin, username="clerk-1", password="correct-horse-9", role="counter")
    institutions.add_institution(ctx, actor=admin, code="H21020000001", name="大连市中心医院", kind="hospital",
                                 region="210200", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))  # the issuer of the claims' invoices
    return {"reviewer": bearer(client, "reviewer-1"), "admin": bearer(client, "counter-1"),
            "counter": bearer(client, "clerk-1")}


def upload(client, headers, person_id: str, type: str, content: bytes = PDF, name: str = "scan.pdf"):
    return client.post(f"{API}/documents", headers=headers, data={"type": type, "person_id": person_id},
                       files={"file": (name, content, "application/octet-stream")})


def documents(client, headers, person_id: str, *types: str) -> list[str]:
    ids = []
    for type in types:
        r = upload(client, headers, person_id, type)
        assert r.status_code == 201, r.text
        ids.append(r.json()["document_id"])
    return ids


def apply(client, headers, person_id: str, **body):
    return client.post(f"{API}/applications", headers=headers, json={"person_id": person_id, **body})


def emigrate(client, counter, person_id: str, amount_fen: int):
    """A Dalian withdrawal on settling abroad, taken at the counter with the person there and every document
    the rule asks for."""
    docs = documents(client, counter, person_id, "emigration_proof", "id_card", "id_card_copy", "insurance_card",
                     "bank_card")
    return apply(client, counter, person_id, kind="withdrawal", reason="emigration", amount_fen=amount_fen,
                 document_ids=docs)


def balance(client, headers, person_id: str) -> dict:
    return client.get(f"{API}/accounts/{person_id}", headers=headers).json()


def test_a_henan_person_applying_by_proxy_is_told_to_come_in_person(ctx, admin, client, staff):
    person = insured(ctx, admin, region="410000", name="王芳")
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, "emigration_proof", "id_card", "id_card_copy", "bank_card")
    r = apply(client, staff["counter"], person.id, kind="withdrawal", reason="emigration", amount_fen=100_000,
              by_proxy=True, document_ids=docs)  # a proxy at the counter for the absent person
    body = assert_problem(r, 422, "application.in_person_required")
    assert body["rules"][0]["rule_id"] == "hn.withdrawal.emigration"
    assert "不可代办" in body["message_zh"] or "本人" in body["message_zh"]
    general = apply(client, me, person.id, kind="withdrawal", reason="general", amount_fen=100_000,
                    document_ids=docs)
    refused = assert_problem(general, 422, "withdrawal.not_allowed")
    assert refused["rules"][0]["rule_id"] == "hn.withdrawal.base" and "原则上不提取现金" in refused["message_zh"]
    assert count(ctx, applications) == 0  # a refusal writes nothing


def test_a_dalian_person_is_told_withdrawal_is_not_allowed_with_the_rule(ctx, admin, client, staff):
    person = insured(ctx, admin, region="210200", name="赵磊")
    r = apply(client, bearer(client, person.username), person.id, kind="withdrawal", reason="general",
              amount_fen=50_000, document_ids=[])
    body = assert_problem(r, 422, "withdrawal.not_allowed")
    assert body["rules"][0]["rule_id"] == "dl.withdrawal.base"
    assert "大连市医保个人账户余额一般不能直接提取现金" in body["message_zh"]
    assert "In Dalian" in body["message_en"]


def test_the_heir_withdraws_a_deceased_persons_balance_through_review_and_the_bank(ctx, admin, client, staff):
    deceased = insured(ctx, admin, region="210200", name="孙建国", bank=None, birth="19560708")
    heir = insured(ctx, admin, region="210200", name="孙丽", months=1, base_fen=1_000_000)
    owed = balance(client, staff["admin"], deceased.id)["balance_fen"]
    heir_before = balance(client, staff["admin"], heir.id)["balance_fen"]
    assert owed > 0
    died = client.post(f"{API}/persons/{deceased.id}/life-events", headers=staff["admin"],
                       json={"kind": "death", "date": "2026-02-20"})
    assert died.status_code == 201, died.text
    me = bearer(client, heir.username)
    docs = documents(client, me, heir.id, "death_certificate", "heir_proof", "id_card", "id_card_copy",
                     "insurance_card", "bank_card")
    r = apply(client, staff["counter"], deceased.id, applicant_id=heir.id, kind="withdrawal", reason="death",
              amount_fen=owed, document_ids=docs,  # the heir in person at the counter
              heir={"id_number": heir.id_number, "name": heir.name, "relation": "child"})
    assert r.status_code == 201, r.text
    app = r.json()
    assert (app["status"], app["rule_id"], app["fee_fen"]) == ("submitted", "dl.withdrawal.death", 0)

    queue = client.get(f"{API}/applications", headers=staff["reviewer"]).json()
    assert [a["application_id"] for a in queue] == [app["application_id"]]
    approved = client.post(f"{API}/applications/{app['application_id']}/review", headers=staff["reviewer"],
                           json={"action": "approve", "note": "材料齐全"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approved_fen"]) == ("approved", owed)
    assert approved.json()["expected_arrival_date"] == "2026-03-02"  # 中国工商银行 in Dalian: the same working day

    made = client.post(f"{API}/disbursements/batches", headers=staff["admin"])
    assert made.status_code == 201, made.text
    batch = made.json()
    lines = batch["file"].splitlines()
    assert lines[0].startswith(f"FILE,{batch['batch_id']},{batch['file_id']},中国工商银行,")
    assert lines[1] == "line_no,line_id,application_id,payee_name,account_no,bank_name,amount_fen,fee_fen,purpose"
    line_id = batch["lines"][0]["line_id"]
    assert lines[2].startswith(f"1,{line_id},{app['application_id']},孙丽,") and f",{owed},0," in lines[2]
    assert lines[3].startswith(f"TRAILER,1,{owed},")
    # the amount is held: nothing else may spend it while the bank pays
    assert balance(client, staff["admin"], deceased.id)["available_fen"] == 0
    assert client.get(f"{API}/applications/{app['application_id']}", headers=me).json()["status"] == "disbursing"

    returned = bank_return(ctx, batch["file_id"])  # signed by the bank; recorded by another hand than the maker's
    r = client.post(f"{API}/disbursements/batches/{batch['batch_id']}/returns", headers=staff["reviewer"],
                    content=returned)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "returned" and r.json()["lines"][0]["status"] == "paid"
    again = client.post(f"{API}/disbursements/batches/{batch['batch_id']}/returns", headers=staff["reviewer"],
                        content=returned)
    assert assert_problem(again, 409, "disbursement.return_replayed")["batch_status"] == "returned"  # pays once

    assert balance(client, staff["admin"], deceased.id)["balance_fen"] == 0
    assert balance(client, staff["admin"], heir.id)["balance_fen"] == heir_before  # paid to the bank, not the account
    final = client.get(f"{API}/applications/{app['application_id']}", headers=me).json()
    assert final["status"] == "paid"
    assert [h["to_status"] for h in final["history"]] == [
        "submitted", "under_review", "approved", "disbursing", "paid"]
    assert [h["actor"] for h in final["history"]][1:3] == ["reviewer-1", "reviewer-1"]
    inbox = client.get(f"{API}/persons/{heir.id}/notices", headers=me).json()
    assert inbox[0]["title_zh"] == "款项已到账" and inbox[0]["data"]["application_id"] == app["application_id"]


def test_the_supplement_loop_names_what_is_missing_and_goes_back_to_review(ctx, admin, client, staff):
    person = insured(ctx, admin, region="210200", name="钱多")
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, "emigration_proof", "id_card", "id_card_copy", "insurance_card")
    missing = apply(client, staff["counter"], person.id, kind="withdrawal", reason="emigration", amount_fen=10_000,
                    document_ids=docs)
    body = assert_problem(missing, 422, "application.documents_missing")
    assert body["missing"] == ["bank_card"] and "本人银行卡" in body["message_zh"]

    docs += documents(client, me, person.id, "bank_card")
    r = apply(client, staff["counter"], person.id, kind="withdrawal", reason="emigration", amount_fen=10_000,
              document_ids=docs)
    assert r.status_code == 201, r.text
    app_id = r.json()["application_id"]
    asked = client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"],
                        json={"action": "request_supplement", "note": "出国定居证明须经公证，请补交公证件和近期照片",
                              "missing": ["emigration_proof", "photo"]})
    assert asked.status_code == 200, asked.text
    assert asked.json()["supplement"]["missing"] == ["emigration_proof", "photo"]
    seen = client.get(f"{API}/applications/{app_id}", headers=me).json()
    assert seen["status"] == "supplement_requested" and "公证" in seen["supplement"]["guidance"]
    inbox = client.get(f"{API}/persons/{person.id}/notices", headers=me).json()
    assert inbox[0]["title_zh"] == "请补充材料" and "近期免冠照片" in inbox[0]["body_zh"]

    photo = upload(client, me, person.id, "photo", PNG, "me.png").json()["document_id"]
    short = client.post(f"{API}/applications/{app_id}/supplement", headers=me, json={"document_ids": [photo]})
    assert assert_problem(short, 422, "application.documents_missing")["missing"] == ["emigration_proof"]
    proof = documents(client, me, person.id, "emigration_proof")
    done = client.post(f"{API}/applications/{app_id}/supplement", headers=me, json={"document_ids": [photo, *proof]})
    assert done.status_code == 200 and done.json()["status"] == "resubmitted"
    approved = client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"],
                           json={"action": "approve"})
    assert approved.json()["status"] == "approved"
    steps = [h["to_status"] for h in approved.json()["history"]]
    assert steps == ["submitted", "under_review", "supplement_requested", "resubmitted", "under_review", "approved"]


def test_a_rejection_needs_a_reason_and_is_final(ctx, admin, client, staff):
    person = insured(ctx, admin, region="210200", name="周到")
    me = bearer(client, person.username)
    app_id = emigrate(client, staff["counter"], person.id, 10_000).json()["application_id"]
    assert_problem(client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"],
                               json={"action": "reject"}), 422, "application.note_required")
    assert_problem(client.post(f"{API}/applications/{app_id}/review", headers=me,
                               json={"action": "approve"}), 403, "auth.forbidden")
    r = client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"],
                    json={"action": "reject", "note": "定居证明与本人身份信息不符"})
    assert r.json()["status"] == "rejected" and r.json()["history"][-1]["note"] == "定居证明与本人身份信息不符"
    assert_problem(client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"],
                               json={"action": "approve"}), 409, "application.wrong_state")


def test_more_than_the_balance_is_refused_with_the_maximum(ctx, admin, client, staff):
    person = insured(ctx, admin, region="210200", name="吴越")
    me = bearer(client, person.username)
    have = balance(client, me, person.id)["balance_fen"]
    r = emigrate(client, staff["counter"], person.id, have + 1)
    assert assert_problem(r, 422, "application.amount_exceeds")["max_amount_fen"] == have


def test_a_failed_bank_line_frees_the_amount_and_is_paid_after_the_account_is_fixed(ctx, admin, client, staff):
    person = insured(ctx, admin, region="210200", name="郑重", bank="大连银行")
    me = bearer(client, person.username)
    before = balance(client, me, person.id)
    app_id = emigrate(client, staff["counter"], person.id, 30_000).json()["application_id"]
    client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"], json={"action": "approve"})
    batch = client.post(f"{API}/disbursements/batches", headers=staff["admin"]).json()
    assert balance(client, me, person.id)["available_fen"] == before["available_fen"] - 30_000
    r = client.post(f"{API}/disbursements/batches/{batch['batch_id']}/returns", headers=staff["admin"],
                    content=bank_return(ctx, batch["file_id"], {1: "账户已销户"}))
    assert r.status_code == 200, r.text
    after = balance(client, me, person.id)
    assert (after["balance_fen"], after["available_fen"]) == (before["balance_fen"], before["available_fen"])
    failed = client.get(f"{API}/applications/{app_id}", headers=me).json()
    assert failed["status"] == "failed" and failed["history"][-1]["note"] == "账户已销户"
    inbox = client.get(f"{API}/persons/{person.id}/notices", headers=me).json()
    assert inbox[0]["title_zh"] == "银行拨付失败" and "账户已销户" in inbox[0]["body_zh"]

    client.post(f"{API}/bank-accounts", headers=me, json={"person_id": person.id, "account_no": new_bank_no(),
                                                          "bank_name": "中国工商银行", "holder_name": "郑重",
                                                          "primary": True})
    # a new payee is approved first: the retry goes back to review
    assert client.post(f"{API}/applications/{app_id}/retry", headers=me).json()["status"] == "resubmitted"
    again = client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"], json={"action": "approve"})
    assert again.json()["status"] == "approved", again.text
    second = client.post(f"{API}/disbursements/batches", headers=staff["admin"]).json()
    assert second["bank_name"] == "中国工商银行"
    paid = client.post(f"{API}/disbursements/batches/{second['batch_id']}/returns", headers=staff["admin"],
                       content=bank_return(ctx, second["file_id"]))
    assert paid.json()["lines"][0]["status"] == "paid"
    assert balance(client, me, person.id)["balance_fen"] == before["balance_fen"] - 30_000


def test_a_return_file_altered_or_cut_short_is_refused_whole(ctx, admin, client, staff):
    person = insured(ctx, admin, region="210200", name="冯静")
    me = bearer(client, person.username)
    app_id = emigrate(client, staff["counter"], person.id, 20_000).json()["application_id"]
    client.post(f"{API}/applications/{app_id}/review", headers=staff["reviewer"], json={"action": "approve"})
    batch = client.post(f"{API}/disbursements/batches", headers=staff["admin"]).json()
    assert_problem(client.post(f"{API}/disbursements/batches", headers=staff["admin"]), 422,
                   "disbursement.nothing_to_pay")  # already on a file: not paid twice
    signed = bank_return(ctx, batch["file_id"])
    body = signed[:signed.rindex(b"SIGNATURE,")]
    tampered = signed.replace(b",20000,paid", b",20001,paid")
    cut = body.replace(b"TRAILER", b"T")  # the bank's signature no longer covers what is left
    postings = count(ctx, ledger_postings)
    for content, code in ((tampered, "disbursement.return_signature_invalid"), (body, "disbursement.return_unsigned"),
                          (cut + signed[signed.rindex(b"SIGNATURE,"):], "disbursement.return_signature_invalid")):
        r = client.post(f"{API}/disbursements/batches/{batch['batch_id']}/returns", headers=staff["admin"],
                        content=content)
        assert_problem(r, 422, code)
    assert count(ctx, ledger_postings) == postings
    assert client.get(f"{API}/applications/{app_id}", headers=me).json()["status"] == "disbursing"
    assert count(ctx, disbursement_batches) == 1 and count(ctx, holds) >= 1


def test_a_cross_region_claim_pays_the_invoices_share_to_the_bank(ctx, admin, client, staff):
    person = insured(ctx, admin, region="110000", name="陈晨")
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, "medical_invoice", "expense_list", "diagnosis", "id_card", "bank_card")
    invoices = [{"number": "INV-001", "issuer": "H21020000001", "date": "2026-02-20", "items": [{"category": "drug", "amount_fen": 12_000},
                                                                      {"category": "medical_service",
                                                                       "amount_fen": 3_000}]}]
    r = apply(client, me, person.id, kind="reimbursement", reason="cross_region",
              document_ids=docs, invoices=invoices)
    assert r.status_code == 201, r.text
    assert (r.json()["amount_fen"], r.json()["event_date"]) == (15_000, "2026-02-20")
    approved = client.post(f"{API}/applications/{r.json()['application_id']}/review", headers=staff["reviewer"],
                           json={"action": "approve"}).json()
    assert approved["approved_fen"] == 15_000 and approved["rules"][0]["rule_id"] == "national.reimbursement.cross_region"
    late = apply(client, me, person.id, kind="reimbursement", reason="cross_region",
                 document_ids=docs, invoices=[{**invoices[0], "number": "INV-002", "date": "2025-02-01"}])
    assert assert_problem(late, 422, "application.window_closed")["deadline"] == "2026-02-01"
    wrong = apply(client, me, person.id, kind="reimbursement", reason="cross_region",
                  document_ids=docs, invoices=invoices, amount_fen=99)
    assert_problem(wrong, 422, "application.invalid")


def test_documents_are_checked_by_content_and_stored_by_hash(ctx, admin, client, staff):
    person = insured(ctx, admin, region="210200", name="林木")
    me = bearer(client, person.username)
    ok = upload(client, me, person.id, "id_card")
    assert ok.status_code == 201 and ok.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert client.get(f"{API}/documents/{ok.json()['document_id']}", headers=me).content == PDF
    assert_problem(upload(client, me, person.id, "passport"), 422)
    assert_problem(upload(client, me, person.id, "id_card", b""), 422, "document.invalid")
    assert_problem(upload(client, me, person.id, "id_card", b"just text, named .pdf"), 422, "document.invalid")
    other = add_person(ctx, admin, name="外人", card=False)
    assert_problem(upload(client, me, other.id, "id_card"), 403, "auth.forbidden")
    stranger = bearer(client, other.username)
    assert_problem(client.get(f"{API}/documents/{ok.json()['document_id']}", headers=stranger), 403)
    foreign = upload(client, stranger, other.id, "bank_card").json()["document_id"]
    r = apply(client, me, person.id, kind="withdrawal", reason="emigration", amount_fen=100,
              document_ids=[foreign])
    assert_problem(r, 422, "application.invalid")  # someone else's document


def _approved_claim_arrival(ctx, admin, client, staff, *, bank: str, day: dt.datetime) -> str:
    ctx.clock.set(day - dt.timedelta(days=20))
    person = insured(ctx, admin, region="110000", name="黄河", bank=bank)
    ctx.clock.set(day)
    me = bearer(client, person.username)
    docs = documents(client, me, person.id, "medical_invoice", "expense_list", "diagnosis", "id_card", "bank_card")
    app_id = apply(client, me, person.id, kind="reimbursement", reason="cross_region",
                   document_ids=docs, invoices=[{
                       "number": new_id("inv"), "issuer": "H21020000001",
                       "date": (day.date() - dt.timedelta(days=5)).isoformat(),
                       "items": [{"category": "drug", "amount_fen": 5_000}]}]).json()["application_id"]
    reviewer = bearer(client, "reviewer-1")  # signed in today: a session does not last months
    approved = client.post(f"{API}/applications/{app_id}/review", headers=reviewer, json={"action": "approve"})
    assert approved.status_code == 200, approved.text
    return approved.json()["expected_arrival_date"]


@pytest.mark.parametrize("bank, arrival", [
    ("中国工商银行", "2026-10-08"),  # a Beijing partner bank: the next working day, after the holiday
    ("中国农业银行", "2026-10-10"),  # three working days: 8th, 9th and Saturday the 10th, a make-up workday
])
def test_arrival_is_counted_in_working_days_across_national_day(ctx, admin, client, staff, bank, arrival):
    day = dt.datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert _approved_claim_arrival(ctx, admin, client, staff, bank=bank, day=day) == arrival


SPRING_FESTIVAL_2027 = """calendar:
  2027:
    reference: 节假日安排（测试用：机构按国务院通知录入）
    days_off: [2027-02-05, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11]
    workdays: [2027-02-14, 2027-02-20]
"""


def test_arrival_across_spring_festival_2027_follows_the_agencys_calendar_file(ctx, admin, client, staff, tmp_path):
    import shutil

    from yibao.services.policy import sets

    day = dt.datetime(2027, 2, 4, 10, 0, tzinfo=SHANGHAI)  # Thursday before the holiday
    # the package alone would count Thursday the 11th as a working day
    assert _approved_claim_arrival(ctx, admin, client, staff, bank="中国工商银行", day=day) == "2027-02-11"
    tree = shutil.copytree(sets.BUNDLED, tmp_path / "policies")
    calendar = tree / "000000-national" / "calendar.yaml"
    calendar.write_text(calendar.read_text(encoding="utf-8").replace("calendar: {}\n", SPRING_FESTIVAL_2027),
                        encoding="utf-8")
    sets.load(ctx, actor=admin, root=tree)
    ctx.policy = sets.current(ctx, None)
    # with the schedule entered: off until Thursday the 11th, back on Friday the 12th
    assert _approved_claim_arrival(ctx, admin, client, staff, bank="中国工商银行", day=day) == "2027-02-12"
