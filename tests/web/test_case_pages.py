"""The person's case pages through the in-process client: family grants, cross-region filings, applications from
the policy's answer to "paid", and the 12333 help; with the cheats (someone else's ids, a second submit, a unit
session, no form token) refused and nothing written."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.support import (
    CLAIM_DOCS,
    PASSWORD,
    PDF,
    PNG,
    SHANGHAI_HOSPITAL,
    add_person,
    add_shanghai_hospital,
    bank_return,
    funded_world,
    row_counts,
)
from tests.web.conftest import csrf_of, page_sign_in, post_form, text_of
from yibao.domain.applications import Application
from yibao.domain.clock import SHANGHAI
from yibao.domain.filings import FamilyGrant, Filing
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases, disbursement
from yibao.services.crossregion import family, filings

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
REVIEWER = Actor(username="reviewer-user", role=Role.REVIEWER)


@pytest.fixture
def world(ctx, admin):
    return funded_world(ctx, admin, at=NOW)


def _sign_in(client, username: str = "employee"):
    page_sign_in(client, username, PASSWORD)


def _get(ctx, kind, record_id: str):
    with ctx.uow() as uow:
        return uow.get(kind, record_id)


def _post_files(client, path: str, data: dict, files: dict, *, from_page: str):
    page = client.get(from_page)
    return client.post(path, data={**data, "csrf_token": csrf_of(page.text)}, follow_redirects=False,
                       files=[(name, (f"{name}.pdf", content, "application/octet-stream"))
                              for name, content in files.items()])


# --- family --------------------------------------------------------------------------------------------------


@pytest.fixture
def father(ctx, admin, world):
    return add_person(ctx, admin, name="张建国", username="father", birth="19550101")


def test_a_grant_made_by_id_number_is_accepted_by_the_relative_and_then_ended(client, ctx, world, father):
    _sign_in(client)
    assert "授权家庭成员" in text_of(client.get("/me/family").text)
    made = post_form(client, "/me/family", {"id_number": father.id_number, "name": father.name,
                                            "relation": "parent"})
    assert made.status_code == 303, text_of(made.text)
    shown = text_of(client.get("/me/family").text)
    assert "张**" in shown and "等待对方确认" in shown and father.id_number not in shown
    [grant] = family.list_grants(ctx, actor=REVIEWER, person_id=father.id)
    assert f"/me/family/{grant.id}/accept" not in client.get("/me/family").text  # the owner cannot accept

    client.cookies.clear()
    _sign_in(client, "father")
    page = client.get("/me/family").text
    assert f"/me/family/{grant.id}/accept" in page and "为您授权" in text_of(page)
    accepted = post_form(client, f"/me/family/{grant.id}/accept", {}, from_page="/me/family")
    assert accepted.status_code == 303
    assert _get(ctx, FamilyGrant, grant.id).status == "active"
    assert "已生效" in text_of(client.get("/me/family").text)
    ended = post_form(client, f"/me/family/{grant.id}/revoke", {}, from_page="/me/family")
    assert ended.status_code == 303 and _get(ctx, FamilyGrant, grant.id).status == "revoked"


def test_a_wrong_name_or_bad_number_writes_nothing_and_says_so_beside_the_field(client, ctx, world, father):
    _sign_in(client)
    before = row_counts(ctx)
    wrong = post_form(client, "/me/family", {"id_number": father.id_number, "name": "别人", "relation": "parent"})
    assert wrong.status_code == 404 and "未找到该参保人" in text_of(wrong.text)
    bad = post_form(client, "/me/family", {"id_number": "12345", "name": "", "relation": "cousin"})
    assert bad.status_code == 422
    assert set(re.findall(r'class="error" id="e-([a-z_]+)"', bad.text)) == {"id_number", "name", "relation"}
    assert "12345" not in text_of(bad.text).replace('value="12345"', "")
    assert row_counts(ctx) == before


def test_someone_elses_grant_cannot_be_accepted_or_ended(client, ctx, admin, world, father):
    owner = Actor(username="employee", role=Role.PERSON, person_id=world.person.id)
    grant, _ = family.grant(ctx, actor=owner, owner_id=world.person.id, grantee_id=father.id, relation="parent")
    _sign_in(client, "stranger")
    before = row_counts(ctx)
    for step in ("accept", "decline", "revoke"):
        refused = post_form(client, f"/me/family/{grant.id}/{step}", {}, from_page="/me/family")
        assert refused.status_code == 403, step
    assert _get(ctx, FamilyGrant, grant.id).status == "pending" and row_counts(ctx) == before


def test_what_a_grantee_paid_is_shown_to_the_owner(client, ctx, admin, world, father):
    from tests.support import code_credential
    from yibao.services.credentials import evouchers
    from yibao.services.settlement import payments

    owner = Actor(username="employee", role=Role.PERSON, person_id=world.person.id)
    grant, _ = family.grant(ctx, actor=owner, owner_id=world.person.id, grantee_id=father.id, relation="parent")
    family.accept(ctx, actor=Actor(username="father", role=Role.PERSON, person_id=father.id), grant_id=grant.id)
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=father.id, id_number=father.id_number,
                                           name=father.name, channel="app")
    payments.settle(ctx, actor=admin, idempotency_key="k-1", institution_code=world.institution_code,
                    credential=code_credential(ctx, token), account_owner_id=world.person.id,
                    items=[{"category": "drug", "amount_fen": 3_456}])
    _sign_in(client)
    shown = text_of(client.get("/me/family").text)
    assert "示例大药房" in shown and "¥34.56" in shown and "父母" in shown


# --- filings -------------------------------------------------------------------------------------------------


def test_the_lock_is_explained_before_filing_and_a_locked_cancel_cites_its_rule(client, ctx, world):
    _sign_in(client)
    page = text_of(client.get("/me/filings").text)
    assert "national.filing.long_term" in page and "医保发〔2022〕22号" in page  # before any filing
    assert "备案满 6 个月后方可变更或取消" in page and "2026年9月2日" in page  # the lock, and when it ends
    made = post_form(client, "/me/filings", {"type": "long_term", "reason": "resettled_retiree",
                                             "destination_region": "310000", "start_date": ""})
    assert made.status_code == 303, text_of(made.text)
    [filing] = filings.list_filings(ctx, actor=REVIEWER, person_id=world.person.id)
    assert "长期备案" in text_of(client.get("/me/filings").text)
    before = row_counts(ctx)
    refused = post_form(client, f"/me/filings/{filing.id}/cancel", {}, from_page="/me/filings")
    assert refused.status_code == 422
    shown = text_of(refused.text)
    assert "不予办理" in shown and "national.filing" in shown
    assert _get(ctx, Filing, filing.id).status == "active" and row_counts(ctx) == before


def test_a_temporary_filing_is_cancelled_and_bad_input_is_refused_beside_each_field(client, ctx, world):
    _sign_in(client)
    before = row_counts(ctx)
    bad = post_form(client, "/me/filings", {"type": "forever", "reason": "", "destination_region": "999999",
                                            "start_date": "yesterday"})
    assert bad.status_code == 422 and row_counts(ctx) == before
    assert set(re.findall(r'class="error" id="e-([a-z_]+)"', bad.text)) == {
        "type", "reason", "destination_region", "start_date"}
    post_form(client, "/me/filings", {"type": "temporary", "reason": "other", "destination_region": "310000"})
    [filing] = filings.list_filings(ctx, actor=REVIEWER, person_id=world.person.id)
    done = post_form(client, f"/me/filings/{filing.id}/cancel", {}, from_page="/me/filings")
    assert done.status_code == 303 and _get(ctx, Filing, filing.id).status == "cancelled"


def test_someone_elses_filing_cannot_be_cancelled(client, ctx, world):
    filing, _ = filings.file(ctx, actor=REVIEWER.__class__(username="counter-user", role=Role.COUNTER),
                             person_id=world.other.id, type="temporary", reason="other",
                             destination_region="310000")
    _sign_in(client)
    refused = post_form(client, f"/me/filings/{filing.id}/cancel", {}, from_page="/me/filings")
    assert refused.status_code == 403 and _get(ctx, Filing, filing.id).status == "active"


# --- applications --------------------------------------------------------------------------------------------




def _claim(client, *, number: str = "INV-100", docs=CLAIM_DOCS):
    return _post_files(client, "/me/applications", {
        "kind": "reimbursement", "reason": "cross_region", "invoice_number": number,
        "invoice_issuer": SHANGHAI_HOSPITAL, "invoice_date": "2026-02-20", "invoice_category": "drug",
        "amount": "150.00"}, {f"doc_{d}": PDF for d in docs}, from_page="/me/applications")


def _draft_id(answer) -> str:
    assert answer.status_code == 303, text_of(answer.text)
    return answer.headers["location"].rsplit("/", 1)[-1]


def test_the_case_is_answered_at_once_by_the_policy(client, ctx, world):
    _sign_in(client)
    refused = post_form(client, "/me/applications/check", {"case": "withdrawal/general"},
                        from_page="/me/applications")
    shown = text_of(refused.text)
    assert "不能提取现金" in shown and "bj.withdrawal.base" in shown and 'name="kind"' not in refused.text
    allowed = post_form(client, "/me/applications/check", {"case": "reimbursement/cross_region"},
                        from_page="/me/applications")
    shown = text_of(allowed.text)
    assert "医疗费用发票" in shown and "12 个月" in shown and "national.reimbursement.cross_region" in shown
    assert 'name="doc_medical_invoice"' in allowed.text and 'enctype="multipart/form-data"' in allowed.text
    assert post_form(client, "/me/applications/check", {"case": "withdrawal/cross_region"},
                     from_page="/me/applications").status_code == 422


def test_a_claim_goes_from_upload_to_paid_with_a_supplement_on_the_way(client, ctx, admin, world):
    add_shanghai_hospital(ctx, admin)
    _sign_in(client)
    app_id = _draft_id(_claim(client))
    page = text_of(client.get(f"/me/applications/{app_id}").text)
    assert "草稿" in page and "诊断证明" in page
    submitted = post_form(client, f"/me/applications/{app_id}/submit", {}, from_page=f"/me/applications/{app_id}")
    assert submitted.status_code == 303 and _get(ctx, Application, app_id).status == "submitted"
    assert "如今天审核通过，预计到账日期" in text_of(client.get(f"/me/applications/{app_id}").text)
    before = row_counts(ctx)
    again = post_form(client, f"/me/applications/{app_id}/submit", {}, from_page=f"/me/applications/{app_id}")
    assert again.status_code == 409 and row_counts(ctx) == before  # a second submit changes nothing

    cases.review(ctx, actor=REVIEWER, application_id=app_id, action="request_supplement",
                 note="请补交近期照片", missing=["photo"])
    page = client.get(f"/me/applications/{app_id}").text
    assert 'name="doc_photo"' in page and "请补交近期照片" in text_of(page)
    before = row_counts(ctx)
    empty = post_form(client, f"/me/applications/{app_id}/supplement", {}, from_page=f"/me/applications/{app_id}")
    assert empty.status_code == 422 and 'id="e-doc_photo"' in empty.text and row_counts(ctx) == before
    sent = _post_files(client, f"/me/applications/{app_id}/supplement", {}, {"doc_photo": PNG},
                       from_page=f"/me/applications/{app_id}")
    assert sent.status_code == 303 and _get(ctx, Application, app_id).status == "resubmitted"

    cases.review(ctx, actor=REVIEWER, application_id=app_id, action="approve")
    page = text_of(client.get(f"/me/applications/{app_id}").text)
    assert "预计到账" in page and "审核通过" in page
    pdf = post_form(client, f"/me/applications/{app_id}/vouchers/approval", {}, from_page=f"/me/applications/{app_id}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    batches, _ = disbursement.make_batches(ctx, actor=Actor.system("batch-maker"))
    disbursement.apply_returns(ctx, actor=Actor.system("returns-clerk"), batch_id=batches[0].batch_id,
                               content=bank_return(ctx, batches[0].file_id))
    page = client.get(f"/me/applications/{app_id}").text
    assert _get(ctx, Application, app_id).status == "paid"
    assert re.search(r'aria-current="step"[^>]*>\s*已到账', page) or "已到账" in text_of(page)


def test_bad_input_and_bad_files_are_refused_beside_their_fields(client, ctx, admin, world):
    add_shanghai_hospital(ctx, admin)
    _sign_in(client)
    before = row_counts(ctx)
    bad = _post_files(client, "/me/applications", {"kind": "reimbursement", "reason": "cross_region",
                                                   "invoice_number": "", "invoice_issuer": "", "invoice_date": "x",
                                                   "invoice_category": "food", "amount": "-3"}, {},
                      from_page="/me/applications")
    assert bad.status_code == 422 and row_counts(ctx) == before
    assert set(re.findall(r'class="error" id="e-([a-z_]+)"', bad.text)) >= {
        "invoice_number", "invoice_issuer", "invoice_date", "invoice_category", "amount"}
    not_a_pdf = _post_files(client, "/me/applications", {
        "kind": "reimbursement", "reason": "cross_region", "invoice_number": "INV-7", "invoice_issuer": SHANGHAI_HOSPITAL,
        "invoice_date": "2026-02-20", "invoice_category": "drug", "amount": "10"},
        {"doc_medical_invoice": b"just text, named .pdf", "doc_diagnosis": PDF}, from_page="/me/applications")
    assert not_a_pdf.status_code == 422 and 'id="e-doc_medical_invoice"' in not_a_pdf.text
    assert "内容须为 PDF、JPEG 或 PNG 文件" in text_of(not_a_pdf.text) and row_counts(ctx) == before
    app_id = _draft_id(_claim(client, docs=()))
    before = row_counts(ctx)
    text = _post_files(client, f"/me/applications/{app_id}/documents", {},
                       {"doc_diagnosis": b"just text, named .pdf"}, from_page=f"/me/applications/{app_id}")
    assert text.status_code == 422 and 'id="e-doc_diagnosis"' in text.text and row_counts(ctx) == before
    missing = post_form(client, f"/me/applications/{app_id}/submit", {}, from_page=f"/me/applications/{app_id}")
    assert missing.status_code == 422 and "医疗费用发票" in text_of(missing.text)
    assert _get(ctx, Application, app_id).status == "draft"


def test_someone_elses_application_is_not_shown_nor_changed(client, ctx, admin, world):
    add_shanghai_hospital(ctx, admin)
    _sign_in(client)
    app_id = _draft_id(_claim(client))
    client.cookies.clear()
    _sign_in(client, "stranger")
    assert client.get(f"/me/applications/{app_id}").status_code == 403
    before = row_counts(ctx)
    for step in ("submit", "withdraw", "vouchers/approval"):
        assert post_form(client, f"/me/applications/{app_id}/{step}", {},
                         from_page="/me/applications").status_code == 403, step
    sneaked = _post_files(client, f"/me/applications/{app_id}/documents", {}, {"doc_photo": PNG},
                          from_page="/me/applications")
    assert sneaked.status_code == 403
    assert row_counts(ctx) == before and _get(ctx, Application, app_id).status == "draft"


def test_a_unit_session_and_a_missing_token_are_refused(client, ctx, world):
    _sign_in(client, "unit-user")
    for path in ("/me/family", "/me/filings", "/me/applications"):
        assert client.get(path).status_code == 403, path
    client.cookies.clear()
    _sign_in(client)
    client.get("/me/filings")
    before = row_counts(ctx)
    forged = client.post("/me/filings", data={"type": "temporary", "reason": "other",
                                              "destination_region": "310000"}, follow_redirects=False)
    assert forged.status_code == 403 and row_counts(ctx) == before


# --- /ask ----------------------------------------------------------------------------------------------------


def test_ask_answers_a_person_for_their_own_account(client, ctx, world):
    _sign_in(client)
    answer = post_form(client, "/ask", {"action": "withdraw", "reason": "general"})
    shown = text_of(answer.text)
    assert answer.status_code == 200 and "不能提取现金" in shown and "bj.withdrawal.base" in shown


def test_ask_shows_the_rules_in_force_of_a_region_to_anyone(client, ctx, world):
    answer = post_form(client, "/ask", {"action": "file", "region": "210200"})
    shown = text_of(answer.text)
    assert answer.status_code == 200 and "national.filing.long_term" in shown
    missing = post_form(client, "/ask", {"action": "launch", "region": "", "amount": "abc"})
    assert missing.status_code == 422
    assert set(re.findall(r'class="error" id="e-([a-z_]+)"', missing.text)) == {"action", "region", "amount"}


# --- the services these pages added ------------------------------------------------------------------------


def test_a_grant_to_a_named_relative_answers_a_wrong_name_as_unknown_and_throttles_misses(ctx, world, father):
    from yibao.domain import errors

    owner = Actor(username="employee", role=Role.PERSON, person_id=world.person.id)
    with pytest.raises(errors.PersonNotFound):
        family.grant_to_named(ctx, actor=owner, owner_id=world.person.id, id_number=father.id_number,
                              name="别人", relation="parent")
    with pytest.raises(errors.AccessForbidden):
        family.grant_to_named(ctx, actor=owner, owner_id=world.other.id, id_number=father.id_number,
                              name=father.name, relation="parent")
    with pytest.raises(errors.PersonLookupThrottled):
        for _ in range(ctx.settings.unit_lookup_max_misses + 1):
            with pytest.raises(errors.PersonNotFound):
                family.grant_to_named(ctx, actor=owner, owner_id=world.person.id, id_number=father.id_number,
                                      name="别人", relation="parent")


def test_documents_go_on_a_draft_only_and_the_case_names_what_it_needs(ctx, admin, world):
    from yibao.domain import errors
    from yibao.services.applications import documents

    add_shanghai_hospital(ctx, admin)
    me = Actor(username="employee", role=Role.PERSON, person_id=world.person.id)
    stranger = Actor(username="stranger", role=Role.PERSON, person_id=world.other.id)
    app, _ = cases.submit(ctx, actor=me, person_id=world.person.id, kind="reimbursement", reason="cross_region",
                          invoices=[{"number": "INV-9", "issuer": SHANGHAI_HOSPITAL, "date": "2026-02-20",
                                     "items": [{"category": "drug", "amount_fen": 5_000}]}], draft=True)
    assert cases.documents_asked(ctx, actor=me, application_id=app.id) == list(CLAIM_DOCS)
    with pytest.raises(errors.AccessForbidden):
        cases.documents_asked(ctx, actor=stranger, application_id=app.id)
    ids = [documents.upload(ctx, actor=me, person_id=world.person.id, type=t, content=PDF).id for t in CLAIM_DOCS]
    with pytest.raises(errors.AccessForbidden):
        cases.add_documents(ctx, actor=stranger, application_id=app.id, document_ids=ids)
    cases.add_documents(ctx, actor=me, application_id=app.id, document_ids=ids)
    cases.submit_draft(ctx, actor=me, application_id=app.id)
    with pytest.raises(errors.ApplicationWrongState):
        cases.add_documents(ctx, actor=me, application_id=app.id, document_ids=ids)


def test_the_case_pages_speak_english_when_asked(client, ctx, world):
    _sign_in(client)
    client.get("/lang?to=en&next=/me")
    assert "Grant a relative" in text_of(client.get("/me/family").text)
    assert "File for treatment in another region" in text_of(client.get("/me/filings").text)
    answer = post_form(client, "/me/applications/check", {"case": "reimbursement/cross_region"},
                       from_page="/me/applications")
    assert "Bring: medical invoices" in text_of(answer.text)
    assert "Ask 12333" in text_of(client.get("/ask").text)


def test_an_application_reads_in_english_too(client, ctx, admin, world):
    add_shanghai_hospital(ctx, admin)
    _sign_in(client)
    client.get("/lang?to=en&next=/me")
    app_id = _draft_id(_claim(client))
    shown = text_of(client.get(f"/me/applications/{app_id}").text)
    assert "Reimbursement claim: treatment elsewhere not settled directly" in shown
    assert "Draft, not submitted yet" in shown and "Submit the application" in shown


def test_filing_terms_count_the_filing_in_force_and_record_nothing(ctx, world):
    counter = Actor(username="counter-user", role=Role.COUNTER)
    before = row_counts(ctx)
    terms = {t["reason"]: t for t in filings.terms(ctx, actor=counter, person_id=world.person.id)}
    assert row_counts(ctx) == before
    assert terms["other"]["valid_to"] == dt.date(2026, 9, 1) and terms["other"]["changeable_from"] is None
    assert terms["resettled_retiree"]["valid_to"] is None
    assert terms["resettled_retiree"]["changeable_from"] == dt.date(2026, 9, 2)
    filings.file(ctx, actor=counter, person_id=world.person.id, type="long_term", reason="resettled_retiree",
                 destination_region="310000")
    locked = filings.terms(ctx, actor=counter, person_id=world.person.id)
    assert not any(t["allowed"] for t in locked)  # within its first months the long-term filing holds
    from yibao.domain import errors

    with pytest.raises(errors.AccessForbidden):
        filings.terms(ctx, actor=Actor(username="stranger", role=Role.PERSON, person_id=world.other.id),
                      person_id=world.person.id)


def test_a_payout_the_bank_returned_is_asked_for_again_from_the_page(client, ctx, admin, world):
    add_shanghai_hospital(ctx, admin)
    _sign_in(client)
    app_id = _draft_id(_claim(client))
    post_form(client, f"/me/applications/{app_id}/submit", {}, from_page=f"/me/applications/{app_id}")
    cases.review(ctx, actor=REVIEWER, application_id=app_id, action="approve")
    batches, _ = disbursement.make_batches(ctx, actor=Actor.system("batch-maker"))
    disbursement.apply_returns(ctx, actor=Actor.system("returns-clerk"), batch_id=batches[0].batch_id,
                               content=bank_return(ctx, batches[0].file_id, {1: "账户已冻结"}))
    page = client.get(f"/me/applications/{app_id}").text
    assert "银行退回了这笔拨付" in text_of(page) and "账户已冻结" in text_of(page)
    again = post_form(client, f"/me/applications/{app_id}/retry", {}, from_page=f"/me/applications/{app_id}")
    assert again.status_code == 303 and _get(ctx, Application, app_id).status == "approved"


def test_a_relation_the_policy_refuses_is_answered_with_its_rule(client, ctx, world, father):
    _sign_in(client)
    before = row_counts(ctx)
    refused = post_form(client, "/me/family", {"id_number": father.id_number, "name": father.name,
                                               "relation": "sibling"})
    shown = text_of(refused.text)
    assert refused.status_code == 422 and "national.family" in shown and row_counts(ctx) == before
    asked = post_form(client, "/ask", {"action": "family_grant"})
    assert asked.status_code == 422 and 'id="e-relation"' in asked.text
    answered = post_form(client, "/ask", {"action": "family_grant", "relation": "parent"})
    assert answered.status_code == 200 and "可以办理" in text_of(answered.text)


def test_a_file_is_checked_without_being_kept(ctx):
    from yibao.domain import errors
    from yibao.services.applications import documents

    before = row_counts(ctx)
    assert documents.check(ctx, type="photo", content=PNG) == "image/png"
    for type, content in (("photo", b"plain text"), ("passport", PDF), ("photo", b"")):
        with pytest.raises(errors.DocumentInvalid):
            documents.check(ctx, type=type, content=content)
    assert row_counts(ctx) == before
