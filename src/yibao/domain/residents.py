"""The residents register (人口库): who exists, by the agency's word. A row names a person by ID number and
name, with their status (alive, deceased, emigrated) and the date of that event; rows come from the
register's extract and are the source of truth that self-registration and real-name checks meet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.domain import errors
from yibao.domain.identity import parse_id_number, validate_name


class ResidentStatus(StrEnum):
    ALIVE = "alive"
    DECEASED = "deceased"
    EMIGRATED = "emigrated"


# A register status that is a life event, and the life event's kind (POST /persons/{id}/life-events).
LIFE_EVENT_KIND = {ResidentStatus.DECEASED: "death", ResidentStatus.EMIGRATED: "emigration"}

COLUMNS = ("id_number", "name", "status", "event_date")


@dataclass(eq=False)
class Resident:
    id: str
    id_number: str
    name: str
    status: str
    event_date: dt.date | None
    source: str
    imported_at: dt.datetime
    updated_at: dt.datetime

    def snapshot(self) -> dict:
        return {"id_number": self.id_number, "name": self.name, "status": self.status,
                "event_date": self.event_date.isoformat() if self.event_date else None, "source": self.source}

    def same_as(self, row: ResidentRow) -> bool:
        return (self.name, self.status, self.event_date) == (row.name, row.status, row.event_date)

    @property
    def alive(self) -> bool:
        return self.status == ResidentStatus.ALIVE


@dataclass(frozen=True)
class ResidentRow:
    """One checked row of a register extract."""

    id_number: str
    name: str
    status: str
    event_date: dt.date | None

    @classmethod
    def parse(cls, row: dict, *, today: dt.date) -> ResidentRow:
        """Check a raw row (`id_number, name, status, event_date`); the first problem is raised."""
        resident = parse_id_number(str(row.get("id_number") or ""), today=today)
        name = validate_name(str(row.get("name") or ""))
        try:
            status = ResidentStatus(str(row.get("status") or "").strip().lower())
        except ValueError:
            raise errors.ResidentStatusInvalid() from None
        event_date = _event_date(str(row.get("event_date") or "").strip())
        if status == ResidentStatus.ALIVE and event_date is not None:
            raise errors.ResidentEventDateInvalid(reason_zh="状态为在世时不填事件日期",
                                                  reason_en="an alive row has no event date")
        if status != ResidentStatus.ALIVE and event_date is None:
            raise errors.ResidentEventDateInvalid(reason_zh="死亡或迁出须填事件日期",
                                                  reason_en="a deceased or emigrated row needs its event date")
        if event_date is not None and not resident.birth_date <= event_date <= today:
            raise errors.ResidentEventDateInvalid(reason_zh="事件日期须在出生之后、今天之前",
                                                  reason_en="the event date must be after the birth and not after today")
        return cls(resident.number, name, status.value, event_date)


def _event_date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise errors.ResidentEventDateInvalid(reason_zh="日期格式须为 YYYY-MM-DD",
                                              reason_en="the date must be written YYYY-MM-DD") from None
