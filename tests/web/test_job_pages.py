"""The background jobs' pages: /jobs lists the user's jobs, /jobs/{id} shows one refreshing itself until done and then
its result, a stalled job may be retried there (and from the unit import's page); and the cheats: another user's
job, a staff session of another role, no session, a missing form token, a retry of a job still running."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.support import PASSWORD, build_world, new_id_number, new_phone, new_uscc, row_counts
from tests.web.conftest import axe_clean, csrf_of, page_sign_in, post_form, sign_in, text_of
from tests.web.test_unit_pages import finished, upload
from yibao.domain.ids import new_id
from yibao.domain.jobs import STALL_SECONDS, Job, JobState
from yibao.domain.users import Actor, Role, User
from yibao.services.credentials import auth
from yibao.services.registry import enrolment, unit_imports


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx, admin)


@pytest.fixture
def unit_client(client, world):
    page_sign_in(client, "unit-user", PASSWORD)
    return client


def staff_csv(ctx, names=("王芳", "李强")) -> bytes:
    lines = ["id_number,name,phone,start_date",
             *(f"{new_id_number()},{name},{new_phone()},{ctx.today().isoformat()}" for name in names)]
    return ("\r\n".join(lines) + "\r\n").encode()


def stopped_import(ctx, unit: Actor, *, stalled: bool = True) -> tuple[str, str]:
    """An import whose worker died before its first row (its job left running): (import id, job id)."""
    started, rows = unit_imports.start(ctx, actor=unit, file_name="staff.csv", data=staff_csv(ctx))
    long_ago = ctx.now() - dt.timedelta(seconds=STALL_SECONDS + 30 if stalled else 1)
    job = Job(id=new_id("job"), kind="unit_import", started_by=unit.username, actor=Job.actor_of(unit),
              payload={"import_id": started.id, "rows": [r.__dict__ for r in rows]}, subject_id=started.id,
              total=len(rows), created_at=long_ago, state=JobState.RUNNING, attempts=1, heartbeat_at=long_ago)
    with ctx.uow() as uow:
        uow.add(job)
        uow.commit()
    return started.id, job.id


def unit_of(world) -> Actor:
    return Actor(username="unit-user", role=Role.UNIT, employer_id=world.employer_id)


def unit_of_ctx(ctx) -> Actor:
    with ctx.uow() as uow:
        user = uow.one_by(User, username="unit-user")
    return Actor(username=user.username, role=Role.UNIT, user_id=user.id, employer_id=user.employer_id)


def test_a_unit_follows_its_import_as_a_job_to_its_result(unit_client, ctx):
    started = upload(unit_client, staff_csv(ctx, ("王芳", "李强", "刘洋")))
    import_id = started.headers["location"].rsplit("/", 1)[-1]
    job = unit_imports.job_of(ctx, actor=unit_of_ctx(ctx), import_id=import_id)

    page = finished(unit_client, f"/jobs/{job.id}")
    listing = text_of(unit_client.get("/jobs").text)

    shown = text_of(page)
    assert "从文件批量增员" in shown and "已完成 3 / 共 3" in shown and "已增员 3" in shown
    assert f'href="/unit/imports/{import_id}"' in page and "<progress" in page
    assert "从文件批量增员" in listing and f"/jobs/{job.id}" in unit_client.get("/jobs").text
    english = text_of(unit_client.get(f"/jobs/{job.id}?lang=en").text)
    assert "Enrolment from a file" in english and "Done" in english


def test_a_running_job_refreshes_itself_until_told_not_to(unit_client, ctx, world):
    _, job_id = stopped_import(ctx, unit_of(world), stalled=False)

    watched = unit_client.get(f"/jobs/{job_id}")
    still = unit_client.get(f"/jobs/{job_id}?watch=0")

    assert '<meta http-equiv="refresh" content="2">' in watched.text and "<progress" in watched.text
    assert f'href="/jobs/{job_id}?watch=0"' in watched.text
    assert 'http-equiv="refresh"' not in still.text and "/retry" not in still.text


def test_a_stalled_job_is_retried_from_its_page_and_goes_on(unit_client, ctx, world):
    import_id, job_id = stopped_import(ctx, unit_of(world))
    page = unit_client.get(f"/jobs/{job_id}")
    assert 'http-equiv="refresh"' not in page.text and 'data-testid="stalled"' in page.text
    assert f'action="/jobs/{job_id}/retry"' in page.text

    answer = post_form(unit_client, f"/jobs/{job_id}/retry", {}, from_page=f"/jobs/{job_id}")

    assert answer.status_code == 303 and answer.headers["location"] == f"/jobs/{job_id}"
    assert "任务将从中断处继续执行" in text_of(unit_client.get(f"/jobs/{job_id}?watch=0").text)
    done = text_of(finished(unit_client, f"/jobs/{job_id}"))
    assert "已完成 2 / 共 2" in done and "执行次数 2" in done
    assert unit_imports.get(ctx, actor=unit_of(world), import_id=import_id).enrolled == 2


def test_the_import_page_offers_to_go_on_after_its_job_stopped(unit_client, ctx, world):
    import_id, job_id = stopped_import(ctx, unit_of(world))

    page = unit_client.get(f"/unit/imports/{import_id}")

    assert 'http-equiv="refresh"' not in page.text and f'action="/jobs/{job_id}/retry"' in page.text
    answer = post_form(unit_client, f"/jobs/{job_id}/retry", {}, from_page=f"/unit/imports/{import_id}")
    assert answer.status_code == 303
    assert "已完成" in text_of(finished(unit_client, f"/unit/imports/{import_id}"))


def test_a_retry_of_a_job_still_running_is_refused_and_changes_nothing(unit_client, ctx, world):
    _, job_id = stopped_import(ctx, unit_of(world), stalled=False)
    before = row_counts(ctx)

    answer = post_form(unit_client, f"/jobs/{job_id}/retry", {}, from_page=f"/jobs/{job_id}?watch=0")

    assert answer.status_code == 303
    assert "无需重试" in text_of(unit_client.get(f"/jobs/{job_id}?watch=0").text)
    assert row_counts(ctx) == before


def test_no_token_is_refused_and_writes_nothing(unit_client, ctx, world):
    _, job_id = stopped_import(ctx, unit_of(world))
    before = row_counts(ctx)

    answer = unit_client.post(f"/jobs/{job_id}/retry", data={}, follow_redirects=False)
    stale = unit_client.post(f"/jobs/{job_id}/retry", data={"csrf_token": "x" * 40}, follow_redirects=False)

    assert answer.status_code == 403 and stale.status_code == 403
    assert row_counts(ctx) == before


def test_another_user_sees_nor_retries_the_job(client, ctx, admin, world, app):
    from fastapi.testclient import TestClient

    _, job_id = stopped_import(ctx, unit_of(world))
    other = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="别的单位", region="110000",
                                        contact_name="林涛", contact_phone=new_phone())
    auth.add_user(ctx, actor=admin, username="other-unit", password=PASSWORD, role="unit", employer_id=other.id)
    auth.add_user(ctx, actor=admin, username="a-reviewer", password=PASSWORD, role="reviewer")
    before = row_counts(ctx)
    for username in ("other-unit", "a-reviewer"):
        with TestClient(app) as stranger:
            page_sign_in(stranger, username, PASSWORD)
            assert stranger.get(f"/jobs/{job_id}").status_code == 403
            token = csrf_of(stranger.get("/jobs").text)
            assert stranger.post(f"/jobs/{job_id}/retry", data={"csrf_token": token},
                                 follow_redirects=False).status_code == 403
            assert job_id not in stranger.get("/jobs").text
            assert stranger.get("/jobs/job_0000000000000000").status_code == 404
    after = row_counts(ctx)
    assert after.pop("auth_tokens") == 2 and after == {k: n for k, n in before.items() if k != "auth_tokens"}
    with ctx.uow() as uow:
        assert (uow.get(Job, job_id).state, uow.get(Job, job_id).attempts) == (JobState.RUNNING, 1)
    assert client.get(f"/jobs/{job_id}", follow_redirects=False).headers["location"].startswith("/login?next=")


def test_an_administrator_follows_anyones_job(client, ctx, admin, world):
    _, job_id = stopped_import(ctx, unit_of(world))
    auth.add_user(ctx, actor=admin, username="an-admin", password=PASSWORD, role="admin")
    page_sign_in(client, "an-admin", PASSWORD)

    assert client.get(f"/jobs/{job_id}?watch=0").status_code == 200


def test_the_job_pages_pass_axe_and_fit_a_phone(browser, phone_context_args, live_server):
    ctx = live_server.ctx
    with ctx.uow() as uow:
        user = uow.one_by(User, username="unit_bj")
    unit = Actor(username=user.username, role=Role.UNIT, user_id=user.id, employer_id=user.employer_id)
    _, job_id = stopped_import(ctx, unit)
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    sign_in(page, "unit_bj", "yibao-demo-2026")
    page.wait_for_url(re.compile("/unit$"))
    for path in ("/jobs", f"/jobs/{job_id}"):
        page.goto(path)
        axe_clean(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    page.get_by_role("button", name="重试任务").click()
    page.wait_for_url(re.compile(rf"/jobs/{job_id}$"))
    page.get_by_test_id("state").filter(has_text="已完成").wait_for(timeout=30_000)
    axe_clean(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
