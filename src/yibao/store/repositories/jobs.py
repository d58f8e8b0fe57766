"""Jobs beyond one by its key: the newest on a subject, a user's latest."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.jobs import Job


class SqlJobs:
    def __init__(self, session: Session) -> None:
        self.session = session

    def latest_for(self, kind: str, subject_id: str) -> Job | None:
        return self.session.scalars(sa.select(Job).filter_by(kind=kind, subject_id=subject_id)
                                    .order_by(Job.created_at.desc(), Job.id.desc()).limit(1)).first()

    def started_by(self, username: str, limit: int) -> list[Job]:
        return list(self.session.scalars(sa.select(Job).filter_by(started_by=username)
                                         .order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)))
