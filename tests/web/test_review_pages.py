"""The reviewer's console through the in-process client: the queue and its filters, a case with its papers inline,
the decisions, and the bank batches from the payment file to the bank's return; with the cheats (another role,
one's own intake, a paper of a case not in review, a forged or replayed return, no form token) refused."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.support import (
    PASSWORD,
    PDF,
    PNG,
    add_shanghai_hospital,
    bank_return,
    cross_region_claim,
    funded_world,
    row_counts,
)
from tests.web.conftest import csrf_of, page_sign_in, post_form, text_of
from yibao.domain.applications import Application
from yibao.domain.clock import SHANGHAI
from yibao.domain.jobs import Job
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases, documents, review_desk

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(ctx, admin):
    world = funded_world(ctx, admin, at=NOW)
    add_shanghai_hospital(ctx, admin)
    return world


def _person(world) -> Actor:
    return Actor(username="employee", role=Role.PERSON, person_id=world.person.id)


def _status(ctx, app_id: str) -> str:
    with ctx.uow() as uow:
        return uow.get(Application, app_id).status


def _sign_in(client, username: str = "reviewer-user"):
    page_sign_in(client, username, PASSWORD)


def _batched(client, ctx, answer) -> Job:
    """The batch run a page started, followed to its end (the worker runs beside the app)."""
    assert answer.status_code == 303 and answer.headers["location"].startswith("/jobs/job_"), answer.headers
    job_id = answer.headers["location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 30
    while True:
        with ctx.uow() as uow:
            job = uow.get(Job, job_id)
        if job.state in ("done", "failed"):
            break
        assert time.monotonic() < deadline, "the batch run did not finish"
        time.sleep(0.05)
    assert job.state == "done", job.error_code
    return job


def _upload_return(client, batch_id: str, content: bytes):
    page = client.get(f"/review/batches/{batch_id}")
    return client.post(f"/review/batches/{batch_id}/return", data={"csrf_token": csrf_of(page.text)},
                       files={"return_file": ("return.txt", content, "text/plain")}, follow_redirects=False)


def test_the_queue_is_filtered_and_a_case_shows_its_papers_inline(client, ctx, world):
    app_id = cross_region_claim(ctx, world)
    _sign_in(client)
    page = client.get("/review")
    assert page.status_code == 200 and f"/review/cases/{app_id}" in page.text and "¥150.00" in text_of(page.text)
    assert f"/review/cases/{app_id}" in client.get("/review?region=110000&kind=reimbursement&min=100&max=150").text
    for narrowed in ("region=310000", "kind=withdrawal", "reason=general", "days=3", "min=150.01", "max=149"):
        assert f"/review/cases/{app_id}" not in client.get(f"/review?{narrowed}").text, narrowed
    bad = client.get("/review?days=abc&min=-5&region=999999")
    assert bad.status_code == 422 and all(f'id="e-{f}"' in bad.text for f in ("days", "min", "region"))
    assert "abc" not in text_of(bad.text)

    case = client.get(f"/review/cases/{app_id}")
    shown = text_of(case.text)
    assert case.status_code == 200 and world.person.id_number not in case.text
    assert world.person.id_number[:4] + "**********" + world.person.id_number[-4:] in shown
    assert "national.reimbursement.cross_region" in shown and 'data-testid="decision"' in case.text
    policy = case.headers["content-security-policy"]  # frames fall back to default-src: this site's own only
    assert "default-src 'self'" in policy and "frame-src" not in policy and "child-src" not in policy
    view = cases.get(ctx, actor=Actor(username="r", role=Role.REVIEWER), application_id=app_id)
    pdf = next(d for d in view.documents if d.media_type == "application/pdf")
    png = next(d for d in view.documents if d.media_type == "image/png")
    assert f'<iframe src="/review/cases/{app_id}/documents/{pdf.id}"' in case.text
    assert f'<img src="/review/cases/{app_id}/documents/{png.id}"' in case.text
    paper = client.get(f"/review/cases/{app_id}/documents/{pdf.id}")
    assert paper.status_code == 200 and paper.content == PDF
    assert paper.headers["content-type"] == "application/pdf"
    assert paper.headers["content-disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in paper.headers["content-security-policy"]
    assert paper.headers["x-frame-options"] == "SAMEORIGIN"
    assert client.get(f"/review/cases/{app_id}/documents/{png.id}").headers["content-type"] == "image/png"


def test_a_supplement_then_approval_then_the_bank_pays_through_its_signed_return(client, ctx, world):
    app_id = cross_region_claim(ctx, world)
    _sign_in(client)
    case = f"/review/cases/{app_id}"
    before = row_counts(ctx)
    none_ticked = post_form(client, f"{case}/supplement", {"guidance": "请补交"}, from_page=case)
    assert none_ticked.status_code == 422 and 'id="e-missing"' in none_ticked.text and row_counts(ctx) == before
    asked = post_form(client, f"{case}/supplement", {"missing": ["photo"], "guidance": "请补交近期照片"},
                      from_page=case)
    assert asked.status_code == 303 and _status(ctx, app_id) == "supplement_requested"
    photo = documents.upload(ctx, actor=_person(world), person_id=world.person.id, type="photo", content=PNG)
    cases.supplement(ctx, actor=_person(world), application_id=app_id, document_ids=[photo.id])
    assert f"{case}" in client.get("/review").text  # back in the queue
    approved = post_form(client, f"{case}/approve", {"note": "材料齐全"}, from_page=case)
    assert approved.status_code == 303 and _status(ctx, app_id) == "approved"
    assert "审核通过" in text_of(client.get(approved.headers["location"]).text)

    reader = Actor(username="r", role=Role.REVIEWER)
    unknown = post_form(client, "/review/batches", {"bank": "不存在的银行"}, from_page="/review/batches")
    assert unknown.status_code == 303 and review_desk.batches(ctx, actor=reader) == []
    assert '<option value="中国工商银行">' in client.get("/review/batches").text
    job = _batched(client, ctx, post_form(client, "/review/batches", {"bank": "中国工商银行"},
                                          from_page="/review/batches"))
    batch = review_desk.batches(ctx, actor=Actor(username="r", role=Role.REVIEWER))[0]
    assert job.result["batch_ids"] == [batch.batch_id] and job.result["lines"] == 1
    assert f'href="/review/batches/{batch.batch_id}"' in client.get(f"/jobs/{job.id}").text
    file = client.get(f"/review/batches/{batch.batch_id}/file")
    assert file.status_code == 200 and "attachment" in file.headers["content-disposition"]
    assert app_id in file.text and batch.file_id in file.text

    signed = bank_return(ctx, batch.file_id)
    for forged in (b"batch,line\n1,paid\n", signed.replace(b"paid", b"PAID", 1), signed[:-8] + b"AAAAAAAA"):
        refused = _upload_return(client, batch.batch_id, forged)
        assert refused.status_code in (409, 422) and 'id="e-return_file"' in refused.text
        assert _status(ctx, app_id) == "disbursing"
    taken = _upload_return(client, batch.batch_id, signed)
    assert taken.status_code == 303 and _status(ctx, app_id) == "paid"
    page = text_of(client.get(f"/review/batches/{batch.batch_id}").text)
    assert "已支付" in page or "已到账" in page
    with ctx.uow() as uow:
        balance = cases.available_fen(uow, world.person.id)
    again = client.post(f"/review/batches/{batch.batch_id}/return", files={"return_file": ("r.txt", signed)},
                        data={"csrf_token": csrf_of(client.get("/review/batches").text)}, follow_redirects=False)
    assert again.status_code == 409 and _status(ctx, app_id) == "paid"
    with ctx.uow() as uow:
        assert cases.available_fen(uow, world.person.id) == balance  # paid once


def test_a_line_the_bank_returned_is_paid_again_on_the_next_batch(client, ctx, world):
    app_id = cross_region_claim(ctx, world)
    _sign_in(client)
    post_form(client, f"/review/cases/{app_id}/approve", {}, from_page=f"/review/cases/{app_id}")
    before = row_counts(ctx)
    twice = post_form(client, f"/review/cases/{app_id}/approve", {}, from_page=f"/review/cases/{app_id}")
    assert twice.status_code == 409 and 'role="alert"' in twice.text and row_counts(ctx) == before
    _batched(client, ctx, post_form(client, "/review/batches", {}, from_page="/review/batches"))
    batch = review_desk.batches(ctx, actor=Actor(username="r", role=Role.REVIEWER))[0]
    returned = bank_return(ctx, batch.file_id, {1: "账户已冻结"})
    assert _upload_return(client, batch.batch_id, returned).status_code == 303
    page = client.get(f"/review/batches/{batch.batch_id}")
    assert "账户已冻结" in text_of(page.text) and _status(ctx, app_id) == "failed"
    retry = f"/review/batches/{batch.batch_id}/lines/1/retry"
    assert post_form(client, retry, {}, from_page=f"/review/batches/{batch.batch_id}").status_code == 303
    assert _status(ctx, app_id) == "approved"
    assert post_form(client, retry, {}, from_page=f"/review/batches/{batch.batch_id}").status_code == 303
    assert _status(ctx, app_id) == "approved"  # a second press changes nothing
    _batched(client, ctx, post_form(client, "/review/batches", {}, from_page="/review/batches"))
    assert _status(ctx, app_id) == "disbursing"


def test_ones_own_intake_is_not_reviewed_and_a_rejection_needs_its_reason(client, ctx, world):
    own = cross_region_claim(ctx, world, by=Actor(username="reviewer-user", role=Role.REVIEWER), number="INV-OWN")
    _sign_in(client)
    before = row_counts(ctx)
    refused = post_form(client, f"/review/cases/{own}/approve", {}, from_page=f"/review/cases/{own}")
    assert refused.status_code == 409 and "另一位审核人员" in text_of(refused.text)
    assert _status(ctx, own) == "submitted" and row_counts(ctx) == before
    other = cross_region_claim(ctx, world, number="INV-OTHER")
    before = row_counts(ctx)
    blank = post_form(client, f"/review/cases/{other}/reject", {"note": "  "}, from_page=f"/review/cases/{other}")
    assert blank.status_code == 422 and 'id="e-reject_note"' in blank.text and row_counts(ctx) == before
    rejected = post_form(client, f"/review/cases/{other}/reject", {"note": "发票不符"},
                         from_page=f"/review/cases/{other}")
    assert rejected.status_code == 303 and _status(ctx, other) == "rejected"


def test_papers_are_shown_only_for_a_case_in_review_and_only_its_own(client, ctx, world):
    first, second = cross_region_claim(ctx, world, number="INV-A"), cross_region_claim(ctx, world, number="INV-B")
    reader = Actor(username="r", role=Role.REVIEWER)
    paper = cases.get(ctx, actor=reader, application_id=first).documents[0]
    _sign_in(client)
    assert client.get(f"/review/cases/{second}/documents/{paper.id}").status_code == 404
    assert client.get(f"/review/cases/{first}/documents/doc-none").status_code == 404
    cases.review(ctx, actor=Actor(username="another-reviewer", role=Role.REVIEWER), application_id=first,
                 action="reject", note="不符")
    assert client.get(f"/review/cases/{first}/documents/{paper.id}").status_code == 404
    assert f"/documents/{paper.id}" not in client.get(f"/review/cases/{first}").text


@pytest.mark.parametrize("role", ["person", "counter", "auditor", "admin", "institution", "unit"])
def test_other_roles_are_refused_and_no_session_goes_to_sign_in(client, ctx, world, role):
    app_id = cross_region_claim(ctx, world)
    assert client.get("/review", follow_redirects=False).headers["location"].startswith("/login")
    _sign_in(client, world.users[role])
    for path in ("/review", f"/review/cases/{app_id}", "/review/batches"):
        assert client.get(path, follow_redirects=False).status_code == 403, path
    before = row_counts(ctx)
    assert post_form(client, f"/review/cases/{app_id}/approve", {}, from_page="/me").status_code == 403
    assert _status(ctx, app_id) == "submitted" and row_counts(ctx) == before


def test_a_missing_or_stale_form_token_is_refused(client, ctx, world):
    app_id = cross_region_claim(ctx, world)
    _sign_in(client)
    client.get(f"/review/cases/{app_id}")
    before = row_counts(ctx)
    for data in ({}, {"csrf_token": "stale"}):
        assert client.post(f"/review/cases/{app_id}/approve", data=data, follow_redirects=False).status_code == 403
        assert client.post("/review/batches", data=data, follow_redirects=False).status_code == 403
    assert _status(ctx, app_id) == "submitted" and row_counts(ctx) == before


def test_the_queue_service_filters_and_refuses_a_person(ctx, world):
    app_id = cross_region_claim(ctx, world, amount_fen=30_000)
    reader = Actor(username="r", role=Role.REVIEWER)
    found = review_desk.queue(ctx, actor=reader, wanted=review_desk.QueueFilter(region="110000", min_fen=30_000))
    assert [row.application.id for row in found] == [app_id] and found[0].days_waiting == 0
    assert review_desk.queue(ctx, actor=reader, wanted=review_desk.QueueFilter(max_fen=29_999)) == []
    from yibao.domain import errors

    with pytest.raises(errors.AccessForbidden):
        review_desk.queue(ctx, actor=_person(world), wanted=review_desk.QueueFilter())
    with pytest.raises(errors.AccessForbidden):
        review_desk.batches(ctx, actor=_person(world))


def test_a_large_payout_is_batched_and_returned_by_other_hands_than_its_approvers(client, ctx, admin, world):
    from tests.support import fund
    from yibao.services.credentials import auth

    fund(ctx, admin, world.person.id, months=20, last="2025-09", employer_id=world.employer_id)
    for name in ("reviewer-two", "reviewer-three"):
        auth.add_user(ctx, actor=admin, username=name, password=PASSWORD, role="reviewer")
    app_id = cross_region_claim(ctx, world, number="INV-LARGE", amount_fen=50_000, days=11)
    _sign_in(client)
    assert post_form(client, f"/review/cases/{app_id}/approve", {}, from_page=f"/review/cases/{app_id}"
                     ).status_code == 303 and _status(ctx, app_id) == "approved"
    with ctx.uow() as uow:
        assert uow.get(Application, app_id).approved_fen == 550_000  # ¥500 a day at one institution, 11 days
    refused = _batched(client, ctx, post_form(client, "/review/batches", {}, from_page="/review/batches"))
    assert refused.result["batches"] == 0 and _status(ctx, app_id) == "approved"
    assert f"{app_id}: 金额较大" in text_of(client.get("/review/batches").text)

    client.cookies.clear()
    _sign_in(client, "reviewer-two")
    made = _batched(client, ctx, post_form(client, "/review/batches", {}, from_page="/review/batches"))
    assert _status(ctx, app_id) == "disbursing"
    batch_id = made.result["batch_ids"][0]
    batch = review_desk.batches(ctx, actor=Actor(username="r", role=Role.REVIEWER))[0]
    signed = bank_return(ctx, batch.file_id)
    by_maker = _upload_return(client, batch_id, signed)
    assert by_maker.status_code == 409 and 'id="e-return_file"' in by_maker.text
    assert _status(ctx, app_id) == "disbursing"

    client.cookies.clear()
    _sign_in(client, "reviewer-three")
    assert _upload_return(client, batch_id, signed).status_code == 303 and _status(ctx, app_id) == "paid"


def test_a_batch_run_carried_out_again_pays_nothing_twice(ctx, world):
    """A worker that dies after making the batch and is retried: the second run finds nothing left to batch."""
    from yibao.services.applications import disbursement

    app_id = cross_region_claim(ctx, world)
    reviewer = Actor(username="reviewer-user", role=Role.REVIEWER)
    cases.review(ctx, actor=reviewer, application_id=app_id, action="approve")
    job = Job(id="job_test_batch", kind=disbursement.BATCH_JOB, started_by=reviewer.username,
              actor=Job.actor_of(reviewer), payload={"bank_name": None}, subject_id="all", total=1,
              created_at=ctx.now())
    first = disbursement.run_job(ctx, job, lambda done, total: None)
    again = disbursement.run_job(ctx, job, lambda done, total: None)
    assert first["batches"] == 1 and first["lines"] == 1 and _status(ctx, app_id) == "disbursing"
    assert again == {"batches": 0, "lines": 0, "left": 0, "batch_ids": [], "skipped": []}
    assert len(review_desk.batches(ctx, actor=reviewer)) == 1
