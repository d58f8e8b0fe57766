"""The runners behind `services.jobs.ports.JobRunner`: procrastinate on PostgreSQL (its queue in the same database,
its schema installed by migration 0023), a thread pool in the server's process on SQLite. Both run
`services.jobs.work.run`, which keeps the progress in our own table."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import procrastinate
from procrastinate import exceptions, sql

from yibao.domain.jobs import STALL_SECONDS
from yibao.services.context import Context
from yibao.services.jobs import work

QUEUE = "yibao"
TASK = "yibao.job"

log = logging.getLogger(__name__)


def install(ctx: Context) -> None:
    """Wire the runner for the context's database (ctx.extras["job_runner"])."""
    dialect = ctx.engine.dialect.name if ctx.engine is not None else "memory"
    ctx.extras["job_runner"] = ProcrastinateRunner(ctx) if dialect == "postgresql" else ThreadRunner(ctx)


class ThreadRunner:
    """Jobs in a small thread pool of this process (SQLite, where one process serves). At start it takes up the
    jobs a stopped server left queued; a job whose process stopped while it ran stays unfinished, shown as
    stalled, to retry."""

    def __init__(self, ctx: Context, workers: int = 2) -> None:
        self.ctx, self.workers = ctx, workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def enqueue(self, job_id: str, *, again: bool = False) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="yibao-job")
            self._pool.submit(work.run, self.ctx, job_id)

    def start(self) -> None:
        for job_id in work.waiting(self.ctx):
            self.enqueue(job_id)

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def conninfo(ctx: Context) -> str:
    """The engine's database as a libpq URI, for procrastinate's own connections."""
    return ctx.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class ProcrastinateRunner:
    """procrastinate on PostgreSQL: `enqueue` defers a task (one lock per job, so one job never runs twice at
    once); `start` runs a worker in a thread of this process, `work()` one in the foreground (`yibao jobs worker`).
    A retry first hands back to the queue the job that a dead worker left "doing" (procrastinate's stalled jobs,
    found by the workers' heartbeats)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._defer_app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(
            conninfo=conninfo(ctx), min_size=1, max_size=4))
        self._defer_task = self._task_of(self._defer_app)
        self._opened = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker_task: asyncio.Task | None = None
        self._ready = threading.Event()
        self._starts = 0  # the servers of this process that asked for the worker (a test may open two)

    def _task_of(self, app):
        @app.task(name=TASK, queue=QUEUE)
        def run_job(job_id: str) -> None:
            work.run(self.ctx, job_id)

        return run_job

    def _deferring(self):
        with self._lock:
            if not self._opened:
                self._defer_app.open()
                self._opened = True
        return self._defer_task

    def enqueue(self, job_id: str, *, again: bool = False) -> None:
        task = self._deferring()
        if again and self._retry_stalled(job_id):
            return
        try:
            task.configure(lock=job_id, queueing_lock=job_id).defer(job_id=job_id)
        except exceptions.AlreadyEnqueued:
            pass  # still waiting in the queue: it runs once

    def _retry_stalled(self, job_id: str) -> bool:
        """Hand back to the queue the task of this job that a dead worker left "doing"; whether there was one."""
        rows = self._defer_app.connector.execute_query_all(
            query=sql.queries["select_stalled_jobs_by_heartbeat"], queue=QUEUE, task_name=TASK,
            seconds_since_heartbeat=STALL_SECONDS)
        stalled = [row["id"] for row in rows if (row["args"] or {}).get("job_id") == job_id]
        for task_id in stalled:
            self._defer_app.job_manager.retry_job_by_id(task_id, retry_at=dt.datetime.now(dt.UTC))
        return bool(stalled)

    def worker_app(self):
        """A procrastinate app of its own for a worker (asynchronous connections, on the worker's event loop)."""
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(self.ctx)))
        self._task_of(app)
        return app

    async def work(self, *, install_signal_handlers: bool = True) -> None:
        """Run a worker until stopped (cancelled, or by a signal when it installs their handlers)."""
        app = self.worker_app()
        async with app.open_async():
            self._loop, self._worker_task = asyncio.get_running_loop(), asyncio.current_task()
            self._ready.set()
            await app.run_worker_async(queues=[QUEUE], name="yibao", install_signal_handlers=install_signal_handlers,
                                       shutdown_graceful_timeout=30, update_heartbeat_interval=10,
                                       stalled_worker_timeout=STALL_SECONDS)

    def start(self) -> None:
        with self._lock:
            self._starts += 1
            if self._thread is not None:
                return
            self._ready.clear()
            self._thread = threading.Thread(target=self._run_in_thread, name="yibao-job-worker", daemon=True)
            self._thread.start()
        self._ready.wait(20)

    def _run_in_thread(self) -> None:
        try:
            asyncio.run(self.work(install_signal_handlers=False))
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the job worker stopped")
        finally:
            self._ready.set()

    def stop(self) -> None:
        with self._lock:
            self._starts = max(0, self._starts - 1)
            if self._starts:
                return
        thread, self._thread = self._thread, None
        if thread is not None and self._loop is not None and self._worker_task is not None:
            self._loop.call_soon_threadsafe(self._worker_task.cancel)
            thread.join(40)
        with self._lock:
            if self._opened:
                self._defer_app.close()
                self._opened = False
