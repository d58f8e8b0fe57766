"""What the registry asks of the store beyond entities by key: a person's standing, who employs them, what
they paid since a day, and the messages kept for them (the inbox)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from yibao.domain.life_events import Standing
from yibao.domain.settlement import Settlement


class PersonRepository(Protocol):
    def standing(self, person_id: str) -> Standing:
        """The person's life event, account freeze and closure, read in one statement."""

    def employs(self, employer_id: str, person_id: str) -> bool:
        """Whether the person has an open enrolment with this employer."""

    def settlements_since(self, person_id: str, day: dt.date) -> list[Settlement]:
        """The settlements the person paid, or that were paid from their account, on or after `day`, oldest first."""


class NoticeRepository(Protocol):
    def add_all(self, notices: list[dict]) -> None:
        """Keep these messages (person_id, kind, created_at, title_zh/en, body_zh/en, data)."""

    def find(self, notice_id: int, *, person_id: str | None = None) -> dict | None:
        """The message with this id (the person's, when a person is named), as its stored fields."""

    def mark_read(self, notice_id: int, at: dt.datetime) -> None:
        """Record that the message was read at `at`."""
