"""The residents register's extract sent from the admin's page and imported by a background job: the progress
page, the counts, the refused rows to download; a wrong file starts nothing; only an admin may send one."""

from __future__ import annotations

import time

import pytest

from tests.support import PASSWORD, build_world, new_id_number, row_counts
from tests.web.conftest import page_sign_in, post_form, text_of
from yibao.domain.jobs import Job
from yibao.services.registry import residents


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx, admin)


def _send(client, content: bytes, name: str = "extract.csv"):
    return post_form(client, "/admin/residents", {}, from_page="/admin/residents",
                     files={"file": (name, content, "text/csv")})


def _done(ctx, answer) -> Job:
    assert answer.status_code == 303 and answer.headers["location"].startswith("/jobs/job_"), answer.text[:300]
    job_id, deadline = answer.headers["location"].rsplit("/", 1)[-1], time.monotonic() + 30
    while True:
        with ctx.uow() as uow:
            job = uow.get(Job, job_id)
        if job.state in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.05)


def test_an_extract_is_imported_in_the_background_with_its_refused_rows(client, ctx, world):
    first, second = new_id_number(), new_id_number(place="210202")
    extract = (f"id_number,name,status,event_date\n{first},钱多多,alive,\n{second},孙少安,deceased,2026-01-05\n"
               "12345,无效,alive,\n").encode()
    page_sign_in(client, "admin-user", PASSWORD)
    job = _done(ctx, _send(client, extract))
    assert job.state == "done" and job.done == job.total == len(extract)
    assert (job.result["rows"], job.result["accepted"], job.result["rejected"]) == (3, 2, 1)
    page = text_of(client.get(f"/jobs/{job.id}").text)
    assert "人口库导入" in page and "新增" in page
    with ctx.uow() as uow:
        assert residents.resident_of(uow, first).name == "钱多多"
        assert residents.resident_of(uow, second).status == "deceased"
    listed = client.get("/admin/residents").text
    assert f"/admin/residents/{job.id}/rejected.csv" in listed
    refused = client.get(f"/admin/residents/{job.id}/rejected.csv")
    assert refused.status_code == 200 and refused.text.splitlines()[1].startswith("4,12345")

    again = _done(ctx, _send(client, extract))  # the same extract again changes nothing
    assert (again.result["accepted"], again.result["unchanged"]) == (0, 2)


def test_a_file_with_a_wrong_header_starts_nothing(client, ctx, world):
    page_sign_in(client, "admin-user", PASSWORD)
    before = row_counts(ctx)
    answer = _send(client, b"name,number\n\xe5\xbc\xa0,1\n")
    assert answer.status_code == 422 and 'id="e-file"' in answer.text
    empty = _send(client, b"")
    assert empty.status_code == 422
    assert row_counts(ctx) == before


def test_only_an_admin_sends_an_extract_or_reads_its_refused_rows(client, ctx, world):
    page_sign_in(client, "admin-user", PASSWORD)
    job = _done(ctx, _send(client, f"id_number,name,status,event_date\n{new_id_number()},周正,alive,\n".encode()))
    client.cookies.clear()
    page_sign_in(client, "reviewer-user", PASSWORD)
    before = row_counts(ctx)
    assert client.get("/admin/residents", follow_redirects=False).status_code == 403
    assert client.get(f"/admin/residents/{job.id}/rejected.csv", follow_redirects=False).status_code == 403
    token_page = client.get("/review")
    from tests.web.conftest import csrf_of

    forged = client.post("/admin/residents", data={"csrf_token": csrf_of(token_page.text)},
                         files={"file": ("x.csv", b"id_number,name,status,event_date\n", "text/csv")},
                         follow_redirects=False)
    assert forged.status_code == 403 and row_counts(ctx) == before


def test_the_import_in_chromium_on_a_phone(browser, phone_context_args, live_server):
    import re

    from tests.web.conftest import axe_clean, shot, sign_in

    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    sign_in(page, "admin", "yibao-demo-2026")
    page.goto("/admin/residents")
    axe_clean(page)
    extract = f"id_number,name,status,event_date\n{new_id_number(place='410105')},吴桐,alive,\n".encode()
    page.get_by_label(re.compile("人口库数据文件")).set_input_files(
        {"name": "extract.csv", "mimeType": "text/csv", "buffer": extract})
    page.get_by_role("button", name="导入", exact=True).click()
    page.wait_for_url(re.compile(r"/jobs/job_"))
    page.get_by_test_id("state").filter(has_text="完成").wait_for(timeout=30_000)  # the page renews itself
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    axe_clean(page)
    shot(page, "admin-residents-job")
    context.close()
