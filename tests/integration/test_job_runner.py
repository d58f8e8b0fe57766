"""Background jobs on each database's runner (procrastinate's worker on PostgreSQL, the thread pool on SQLite), with
the worker started here: a job runs and keeps its progress; done, it is never run again; a job whose worker died
stays unfinished, is shown as stalled and, retried, goes on where it stopped without doing any row twice."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import build_world, new_id_number, new_phone, row_counts
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.jobs import STALL_SECONDS, Job, JobState
from yibao.domain.registry import Enrollment
from yibao.domain.unit_imports import ImportStatus, UnitImport
from yibao.domain.users import Actor, Role
from yibao.jobs.runners import ProcrastinateRunner, ThreadRunner
from yibao.services.jobs import work
from yibao.services.registry import unit_imports

NAMES = ("王芳", "李强", "刘洋", "陈静", "杨敏", "赵磊", "黄勇", "周杰")
TODAY = dt.datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI)


class WorkerDied(BaseException):
    """What the death of a worker's process looks like to the job: it stops, and nothing it holds is written."""


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI))
    built = build_world(ctx, admin)
    ctx.clock.set(TODAY)
    return built


@pytest.fixture
def unit(world) -> Actor:
    return Actor(username="unit-user", role=Role.UNIT, user_id="usr_unit", employer_id=world.employer_id)


@pytest.fixture
def worker(ctx):
    runner = work.runner(ctx)
    runner.start()
    yield runner
    runner.stop()


def staff_file(count: int) -> bytes:
    lines = ["id_number,name,phone,start_date",
             *(f"{new_id_number()},{NAMES[n]},{new_phone()},2026-03-01" for n in range(count))]
    return ("\r\n".join(lines) + "\r\n").encode()


def finished(ctx, job_id: str, seconds: float = 30) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with ctx.uow() as uow:
            job = uow.get(Job, job_id)
        if job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job is still {job.state} after {seconds} s")


def enrolments(ctx, employer_id: str) -> int:
    with ctx.uow() as uow:
        return len(uow.all_by(Enrollment, employer_id=employer_id))


def test_each_database_has_its_runner(ctx, backend):
    expected = ProcrastinateRunner if backend == "postgresql" else ThreadRunner
    assert isinstance(work.runner(ctx), expected)


def test_a_job_runs_on_the_worker_and_keeps_its_progress_and_result(ctx, unit, worker):
    started = unit_imports.submit(ctx, actor=unit, file_name="staff.csv", data=staff_file(5))
    job = unit_imports.job_of(ctx, actor=unit, import_id=started.id)
    assert job.kind == "unit_import" and job.total == 5 and job.started_by == unit.username

    done = finished(ctx, job.id)

    assert done.state == JobState.DONE and done.done == done.total == 5 and done.percent == 100
    assert done.result == {"import_id": started.id, "enrolled": 5, "unchanged": 0, "rejected": 0}
    assert done.attempts == 1 and done.finished_at is not None
    assert done.payload == {}  # the file's rows (ID numbers, phones) are not kept once the job is done
    assert unit_imports.get(ctx, actor=unit, import_id=started.id).status == ImportStatus.DONE


def test_a_job_done_is_never_run_again(ctx, unit, worker):
    started = unit_imports.submit(ctx, actor=unit, file_name="staff.csv", data=staff_file(3))
    job = finished(ctx, unit_imports.job_of(ctx, actor=unit, import_id=started.id).id)
    before = row_counts(ctx)

    again = work.run(ctx, job.id)

    assert again.state == JobState.DONE and again.attempts == 1 and row_counts(ctx) == before
    with pytest.raises(errors.JobNotRetryable):
        work.retry(ctx, actor=unit, job_id=job.id)


def test_a_job_whose_worker_died_is_stalled_and_a_retry_goes_on_where_it_stopped(ctx, unit, worker):
    before = enrolments(ctx, unit.employer_id)
    started, rows = unit_imports.start(ctx, actor=unit, file_name="staff.csv", data=staff_file(6))
    job = Job(id="job_died0000000000", kind="unit_import", started_by=unit.username, actor=Job.actor_of(unit),
              payload={"import_id": started.id, "rows": [r.__dict__ for r in rows]}, subject_id=started.id,
              total=6, created_at=ctx.now())
    with ctx.uow() as uow:
        uow.add(job)
        uow.commit()

    def dies_after_four(done, total=None):
        if done == 4:
            raise WorkerDied()

    with pytest.raises(WorkerDied):  # the worker takes four rows, then its process is gone
        unit_imports.run(ctx, actor=unit, import_id=started.id, rows=rows, progress=dies_after_four)
    with ctx.uow() as uow:
        job_row = uow.get(Job, job.id)
        job_row.begin(ctx.now())
        uow.commit()
    assert enrolments(ctx, unit.employer_id) == before + 4
    with pytest.raises(errors.JobNotRetryable):  # not yet stalled: it may still be working
        work.retry(ctx, actor=unit, job_id=job.id)
    ctx.clock.set(ctx.now() + dt.timedelta(seconds=STALL_SECONDS + 5))
    stalled = work.progress(ctx, actor=unit, job_id=job.id)
    assert stalled.state == JobState.RUNNING and stalled.stalled(ctx.now()) and stalled.retryable(ctx.now())

    work.retry(ctx, actor=unit, job_id=job.id)
    done = finished(ctx, job.id)

    assert done.state == JobState.DONE and done.attempts == 2
    assert done.result["enrolled"] == 6 and enrolments(ctx, unit.employer_id) == before + 6
    with ctx.uow() as uow:
        imported = uow.get(UnitImport, started.id)
    assert (imported.done_rows, imported.enrolled, imported.status) == (6, 6, ImportStatus.DONE)


def queued_import(ctx, unit, job_id: str, count: int = 3) -> Job:
    """An import's job queued as a server that stopped before running it leaves it."""
    started, rows = unit_imports.start(ctx, actor=unit, file_name="staff.csv", data=staff_file(count))
    job = Job(id=job_id, kind="unit_import", started_by=unit.username, actor=Job.actor_of(unit),
              payload={"import_id": started.id, "rows": [r.__dict__ for r in rows]}, subject_id=started.id,
              total=count, created_at=ctx.now())
    with ctx.uow() as uow:
        uow.add(job)
        uow.commit()
    return job


def test_a_server_started_on_sqlite_takes_up_the_jobs_a_stopped_one_left_queued(ctx, unit):
    # the thread pool (SQLite's runner) taken on each database: procrastinate keeps its own queue on PostgreSQL
    before = enrolments(ctx, unit.employer_id)
    job = queued_import(ctx, unit, "job_left0000000000")
    assert work.waiting(ctx) == [job.id]
    runner = ThreadRunner(ctx)

    runner.start()  # what `yibao serve` does as it starts
    try:
        done = finished(ctx, job.id)
    finally:
        runner.stop()

    assert done.state == JobState.DONE and done.attempts == 1
    assert enrolments(ctx, unit.employer_id) == before + 3 and work.waiting(ctx) == []


def test_a_job_begun_by_another_worker_is_not_begun_again(ctx, unit):
    job = queued_import(ctx, unit, "job_busy0000000000")
    with ctx.uow() as uow:
        uow.get(Job, job.id).begin(ctx.now())
        uow.commit()
    before = row_counts(ctx)

    again = work.run(ctx, job.id)

    assert again.state == JobState.RUNNING and again.attempts == 1 and row_counts(ctx) == before


def test_a_failed_job_is_kept_failed_and_its_retry_finishes_it(ctx, unit, worker, monkeypatch):
    real = unit_imports._take_on
    calls = {"n": 0}

    def breaks_once(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")
        return real(*args)

    monkeypatch.setattr(unit_imports, "_take_on", breaks_once)
    before = enrolments(ctx, unit.employer_id)
    started = unit_imports.submit(ctx, actor=unit, file_name="staff.csv", data=staff_file(3))
    job_id = unit_imports.job_of(ctx, actor=unit, import_id=started.id).id
    failed = finished(ctx, job_id)
    assert failed.state == JobState.FAILED and failed.error_code == "job.failed" and failed.retryable(ctx.now())
    assert unit_imports.get(ctx, actor=unit, import_id=started.id).status == ImportStatus.FAILED

    work.retry(ctx, actor=unit, job_id=job_id)
    done = finished(ctx, job_id)

    assert done.state == JobState.DONE and done.result["enrolled"] == 3
    assert enrolments(ctx, unit.employer_id) == before + 3
    assert unit_imports.get(ctx, actor=unit, import_id=started.id).enrolled == 3


def test_only_the_starter_or_an_admin_follows_a_job(ctx, unit, admin, worker):
    started = unit_imports.submit(ctx, actor=unit, file_name="staff.csv", data=staff_file(1))
    job_id = unit_imports.job_of(ctx, actor=unit, import_id=started.id).id
    finished(ctx, job_id)

    assert work.progress(ctx, actor=admin, job_id=job_id).id == job_id
    for stranger in (Actor(username="other-unit", role=Role.UNIT, employer_id=unit.employer_id),
                     Actor(username=unit.username, role=Role.REVIEWER),
                     Actor(username="reviewer", role=Role.REVIEWER)):
        with pytest.raises(errors.AccessForbidden):
            work.progress(ctx, actor=stranger, job_id=job_id)
        with pytest.raises(errors.AccessForbidden):
            work.retry(ctx, actor=stranger, job_id=job_id)
        assert unit_imports.job_of(ctx, actor=stranger, import_id=started.id) is None
    with pytest.raises(errors.JobNotFound):
        work.progress(ctx, actor=unit, job_id="job_0000000000000000")
    with pytest.raises(errors.JobKindUnknown):
        work.submit(ctx, actor=unit, kind="bank_batch_typo", payload={})


async def _taken_by_a_worker_that_dies(runner: ProcrastinateRunner, job_id: str) -> int:
    """A procrastinate worker takes the job's task ("doing"), then stops sending its heartbeat."""
    app = runner.worker_app()
    async with app.open_async():
        worker_id = await app.job_manager.register_worker()
        while True:
            task = await app.job_manager.fetch_job(queues=["yibao"], worker_id=worker_id)
            assert task is not None, "the job's task is not in the queue"
            if task.task_kwargs.get("job_id") == job_id:
                return worker_id


@pytest.mark.postgresql_only
def test_a_task_left_doing_by_a_dead_procrastinate_worker_is_handed_back_on_retry(ctx, unit):
    import asyncio

    import sqlalchemy as sa

    runner = work.runner(ctx)
    started = unit_imports.submit(ctx, actor=unit, file_name="staff.csv", data=staff_file(2))  # no worker yet
    job_id = unit_imports.job_of(ctx, actor=unit, import_id=started.id).id
    with ThreadPoolExecutor(1) as thread:  # its own event loop, whatever runs in this one (a browser's driver)
        dead = thread.submit(asyncio.run, _taken_by_a_worker_that_dies(runner, job_id)).result()
    with ctx.engine.begin() as conn:
        conn.execute(sa.text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '10 minutes' "
                             "WHERE id = :id"), {"id": dead})
    ctx.clock.set(ctx.now() + dt.timedelta(seconds=STALL_SECONDS + 5))
    runner.start()
    try:
        time.sleep(0.5)
        assert work.progress(ctx, actor=unit, job_id=job_id).state == JobState.QUEUED  # its task is held, locked
        work.retry(ctx, actor=unit, job_id=job_id)
        done = finished(ctx, job_id)
    finally:
        runner.stop()
    assert done.state == JobState.DONE and done.result["enrolled"] == 2
    with ctx.engine.connect() as conn:
        statuses = conn.execute(sa.text("SELECT status FROM procrastinate_jobs WHERE args->>'job_id' = :id"),
                                {"id": job_id}).scalars().all()
    assert statuses == ["succeeded"]  # the same task, retried: not a second one


def worker_env(database_url: str, tmp_path) -> dict:
    import os

    return {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path),
            "YIBAO_ARGON2_PROFILE": "light", "YIBAO_ENV": "dev", "COLUMNS": "200"}


def test_yibao_jobs_worker_works_in_its_own_process_on_postgresql(ctx, unit, backend, database_url, tmp_path):
    import signal
    import subprocess

    from tests.support import YIBAO, yibao

    env = worker_env(database_url, tmp_path)
    if backend == "sqlite":
        refused = yibao(env, "jobs", "worker")
        assert refused.returncode == 2 and "PostgreSQL" in refused.stderr
        return
    today = dt.datetime.now(SHANGHAI).date().isoformat()  # the worker's process keeps the real time
    data = "id_number,name,phone,start_date\r\n" + "".join(
        f"{new_id_number()},{name},{new_phone()},{today}\r\n" for name in NAMES[:3])
    started = unit_imports.submit(ctx, actor=unit, file_name="staff.csv", data=data.encode())
    process = subprocess.Popen([YIBAO, "jobs", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        done = finished(ctx, unit_imports.job_of(ctx, actor=unit, import_id=started.id).id, seconds=60)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert done.state == JobState.DONE and done.result["enrolled"] == 3, err[-2000:]
    assert process.returncode == 0 and "job worker stopped" in out, err[-2000:]


def test_the_jobs_migration_goes_down_and_up_again(database_url):
    import sqlalchemy as sa
    from alembic import command

    from yibao.store.db import create_engine
    from yibao.store.migrate import alembic_config, upgrade

    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0022")
        with engine.connect() as conn:
            left = set(sa.inspect(conn).get_table_names())
            if conn.dialect.name == "postgresql":
                left |= set(conn.execute(sa.text("SELECT proname FROM pg_proc WHERE proname LIKE 'procrastinate%' "
                                                 "UNION SELECT typname FROM pg_type WHERE typname LIKE "
                                                 "'procrastinate%'")).scalars())
        assert "jobs" not in left and not {name for name in left if name.startswith("procrastinate")}
    finally:
        upgrade(engine)
        engine.dispose()
