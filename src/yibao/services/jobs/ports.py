"""What the jobs ask of the outside: a runner that carries a submitted job out in the background, and the store's
queries on jobs beyond one by its key.

Two runners stand behind `JobRunner` (src/yibao/jobs/runners.py): procrastinate on PostgreSQL (its queue in the same
database, workers beside the server or in their own process), and a thread pool in the server's process on SQLite.
Either calls `work.run(ctx, job_id)`, which reads the job from our table and runs its kind's handler, so the
progress, the result and the crash safety are the same whichever runs it.
"""

from __future__ import annotations

from typing import Protocol

from yibao.domain.jobs import Job


class JobRunner(Protocol):
    def enqueue(self, job_id: str, *, again: bool = False) -> None:
        """Have a worker run the job soon (`again`: a retry of a job whose worker stopped)."""

    def start(self) -> None:
        """Start working beside the server (a no-op for a runner that needs no worker)."""

    def stop(self) -> None:
        """Finish the job in hand and stop."""


class Progress(Protocol):
    """Given to a kind's handler: how far the work has got (also the worker's sign of life)."""

    def __call__(self, done: int, total: int | None = None) -> None: ...


class JobRepository(Protocol):
    def latest_for(self, kind: str, subject_id: str) -> Job | None:
        """The newest job of this kind working on this subject."""

    def started_by(self, username: str, limit: int) -> list[Job]:
        """The user's latest jobs, newest first."""
