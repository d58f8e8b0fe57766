"""Starting a background job, following it, retrying it, and running it (what a worker calls).

A job is a row of our own table (`Job`): its kind, who started it, what it works on, and its progress. `submit`
writes it and hands its id to the runner (ctx.extras["job_runner"], wired by bootstrap); a worker then calls `run`,
which runs the kind's handler with a `progress` callback and keeps its result. A job whose worker died stays
"running" with an old sign of life: it is shown as stalled and may be retried, and so may a failed one. A job
already done is never run again, and each handler resumes where its own records say it stopped.
"""

from __future__ import annotations

import logging
import time

from yibao.domain import errors
from yibao.domain.ids import new_id
from yibao.domain.jobs import Job, JobState
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context
from yibao.services.jobs.kinds import KINDS, handler_of
from yibao.services.jobs.ports import JobRunner

REPORT_EVERY_SECONDS = 0.5  # a worker writes its progress at most this often (and always at the end)

log = logging.getLogger(__name__)


def runner(ctx: Context) -> JobRunner:
    """The runner wired for this context; without one, jobs run at once in the caller (service tests)."""
    return ctx.extras.setdefault("job_runner", InlineRunner(ctx))


def submit(ctx: Context, *, actor: Actor, kind: str, payload: dict, total: int = 0,
           subject_id: str | None = None) -> Job:
    """Record a job of this kind for the actor and hand it to the runner; the job as recorded."""
    if kind not in KINDS:
        raise errors.JobKindUnknown()
    job = Job(id=new_id("job"), kind=kind, started_by=actor.username, actor=Job.actor_of(actor), payload=payload,
              subject_id=subject_id, total=total, created_at=ctx.now())
    with ctx.uow() as uow:
        uow.add(job)
        ctx.audit(uow, actor, "job.submit", "job", job.id, kind=kind, subject_id=subject_id)
        uow.commit()
    runner(ctx).enqueue(job.id)
    return job


def progress(ctx: Context, *, actor: Actor, job_id: str) -> Job:
    """A job and its progress: for the actor who started it, or an administrator."""
    with ctx.uow() as uow:
        job = uow.get(Job, job_id)
        if job is None:
            raise errors.JobNotFound()
        access.ensure_starter_or_admin(actor, job.started_by, job.actor["role"])
        return job


def of_subject(ctx: Context, *, actor: Actor, kind: str, subject_id: str) -> Job | None:
    """The newest job of this kind on this subject (an import, a batch), if the actor may follow it."""
    with ctx.uow() as uow:
        job = uow.jobs.latest_for(kind, subject_id)
    if job is None or not access.is_starter_or_admin(actor, job.started_by, job.actor["role"]):
        return None
    return job


def mine(ctx: Context, *, actor: Actor, limit: int = 20) -> list[Job]:
    """The actor's latest jobs, newest first."""
    with ctx.uow() as uow:
        return [j for j in uow.jobs.started_by(actor.username, limit) if j.actor["role"] == actor.role]


def retry(ctx: Context, *, actor: Actor, job_id: str) -> Job:
    """Run a failed or stalled job again (its handler resumes where it stopped); refused while it runs or once
    done."""
    progress(ctx, actor=actor, job_id=job_id)
    with ctx.uow() as uow:
        job = uow.get(Job, job_id, for_update=True)
        if not job.retryable(ctx.now()):
            raise errors.JobNotRetryable()
        job.requeue(ctx.now())
        ctx.audit(uow, actor, "job.retry", "job", job.id, attempts=job.attempts)
        uow.commit()
    runner(ctx).enqueue(job.id, again=True)
    return job


def waiting(ctx: Context) -> list[str]:
    """The jobs queued and not begun (a server that stopped leaves them so), oldest first."""
    with ctx.uow() as uow:
        return [job.id for job in uow.all_by(Job, "created_at", state=JobState.QUEUED.value)]


def run(ctx: Context, job_id: str) -> Job | None:
    """Carry the job out (the worker's entry point): nothing for a job that is gone, done or begun by another
    worker (a stalled one is handed back by a retry first)."""
    with ctx.uow() as uow:
        job = uow.get(Job, job_id, for_update=True)
        if job is None or job.state in (JobState.DONE, JobState.RUNNING):
            return job
        job.begin(ctx.now())
        uow.commit()
    try:
        result = handler_of(job.kind)(ctx, job, Reporter(ctx, job_id))
    except Exception as exc:  # the job is kept as failed, to retry; the worker goes on with the next one
        log.exception("the job %s (%s) failed", job_id, job.kind)
        code = getattr(exc, "code", "job.failed")
        return _end(ctx, job_id, lambda j: j.fail(ctx.now(), code))
    return _end(ctx, job_id, lambda j: j.finish(ctx.now(), result))


def _end(ctx: Context, job_id: str, ending) -> Job:
    with ctx.uow() as uow:
        job = uow.get(Job, job_id, for_update=True)
        ending(job)
        uow.commit()
        return job


class Reporter:
    """The handler's `progress(done, total=None)`: written at most every REPORT_EVERY_SECONDS, and when done."""

    def __init__(self, ctx: Context, job_id: str) -> None:
        self.ctx, self.job_id, self._last = ctx, job_id, float("-inf")

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self._last < REPORT_EVERY_SECONDS and (total is None or done < total):
            return
        self._last = now
        with self.ctx.uow() as uow:
            job = uow.get(Job, self.job_id, for_update=True)
            job.report(self.ctx.now(), done, total)
            uow.commit()


class InlineRunner:
    """Runs each job at once in the caller: for a context with no runner wired (services tested alone)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def enqueue(self, job_id: str, *, again: bool = False) -> None:
        run(self.ctx, job_id)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
