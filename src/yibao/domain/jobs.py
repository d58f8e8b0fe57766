"""A background job (后台任务): long work that runs outside the request, with its progress kept in our own table so
any page can show it, whatever the kind of work and whichever runner carries it out."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from enum import StrEnum

from yibao.domain.users import Actor, Role

STALL_SECONDS = 60  # a job not finished whose worker has given no sign for this long has stopped: it may be retried


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # stopped by an error; what was done stays done, and it may be retried


@dataclass(eq=False)
class Job:
    id: str
    kind: str
    started_by: str  # the username of the actor who started it: they (or an administrator) may follow it
    actor: dict  # who the work acts as, as it was when the job started
    payload: dict
    created_at: dt.datetime
    subject_id: str | None = None  # what the job works on (an import, a batch), to find its job from its own page
    state: str = JobState.QUEUED
    done: int = 0
    total: int = 0
    result: dict | None = None
    error_code: str | None = None
    attempts: int = 0
    heartbeat_at: dt.datetime | None = None  # the worker's last sign of life: when it started or last reported
    finished_at: dt.datetime | None = None

    @staticmethod
    def actor_of(actor: Actor) -> dict:
        return {k: (v.value if isinstance(v, Role) else v) for k, v in asdict(actor).items()}

    def acting(self) -> Actor:
        """The actor the work runs as."""
        return Actor(**{**self.actor, "role": Role(self.actor["role"])})

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def percent(self) -> int:
        if self.state == JobState.DONE:
            return 100
        return 0 if not self.total else min(100, self.done * 100 // self.total)

    def stalled(self, now: dt.datetime) -> bool:
        """Not finished, and no sign from a worker for STALL_SECONDS: its worker has died (or none is running)."""
        last = self.heartbeat_at or self.created_at
        return not self.finished and (now - last).total_seconds() > STALL_SECONDS

    def retryable(self, now: dt.datetime) -> bool:
        return self.state == JobState.FAILED or self.stalled(now)

    def begin(self, now: dt.datetime) -> None:
        self.state, self.heartbeat_at, self.attempts = JobState.RUNNING, now, self.attempts + 1

    def report(self, now: dt.datetime, done: int, total: int | None = None) -> None:
        self.done, self.heartbeat_at = done, now
        if total is not None:
            self.total = total

    def finish(self, now: dt.datetime, result: dict | None) -> None:
        """Done: the result is kept, the payload (which may hold personal data, a file's rows) is dropped."""
        self.state, self.result, self.finished_at, self.heartbeat_at = JobState.DONE, result, now, now
        self.error_code, self.payload = None, {}

    def fail(self, now: dt.datetime, code: str) -> None:
        self.state, self.error_code, self.finished_at, self.heartbeat_at = JobState.FAILED, code, now, now

    def requeue(self, now: dt.datetime) -> None:
        self.state, self.heartbeat_at, self.finished_at = JobState.QUEUED, now, None
