"""The registry's queries in SQL: a person's standing, who employs them, what they paid since a day, and the
messages kept for them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.life_events import Standing
from yibao.domain.registry import OPEN_ENROLLMENT, Enrollment
from yibao.domain.settlement import Settlement
from yibao.store import standing as standing_sql
from yibao.store.tables import notices


class SqlPersons:
    """`services.registry.ports.PersonRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def standing(self, person_id: str) -> Standing:
        """The person's life event, account freeze and closure, read in one statement."""
        return standing_sql.standing(self._session.connection(), person_id)

    def employs(self, employer_id: str, person_id: str) -> bool:
        """Whether the person has an open enrolment with this employer."""
        return self._session.scalar(sa.select(sa.literal(1)).where(
            Enrollment.person_id == person_id, Enrollment.employer_id == employer_id,
            Enrollment.status.in_([s.value for s in OPEN_ENROLLMENT])).limit(1)) is not None

    def settlements_since(self, person_id: str, day: dt.date) -> list[Settlement]:
        """The settlements the person paid, or that were paid from their account, on or after `day`, oldest first."""
        return list(self._session.scalars(sa.select(Settlement).where(
            sa.or_(Settlement.payer_id == person_id, Settlement.owner_id == person_id),
            Settlement.business_date >= day).order_by(Settlement.at)))


class SqlNotices:
    """`services.registry.ports.NoticeRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, rows: list[dict]) -> None:
        """Keep these messages."""
        self._session.execute(notices.insert(), rows)

    def find(self, notice_id: int, *, person_id: str | None = None) -> dict | None:
        """The message with this id (the person's, when a person is named), as its stored fields."""
        where = [notices.c.id == notice_id] + ([notices.c.person_id == person_id] if person_id is not None else [])
        row = self._session.execute(sa.select(notices).where(*where)).first()
        return None if row is None else row._asdict()

    def mark_read(self, notice_id: int, at: dt.datetime) -> None:
        """Record that the message was read at `at`."""
        self._session.execute(notices.update().where(notices.c.id == notice_id).values(read_at=at))
