"""What the auditor reads (R7: reads everything, changes nothing): the audit trail searched by person, entity, actor
and dates, a page at a time; the books verified against their chains and the signed checkpoints; and the last
checkpoint signed. Nothing here writes."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.audit import checkpoints
from yibao.services.context import Context

PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class TrailRecord:
    """One audit record as the auditor reads it: the seals it carries are counted, not listed."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict
    sealed: int
    seq: int


@dataclass(frozen=True)
class TrailPage:
    records: list[TrailRecord]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass(frozen=True)
class LastCheckpoint:
    number: int
    signed_at: dt.datetime | None
    signed_by: str
    key_id: str


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI)


def _record(row) -> TrailRecord:
    details = dict(row.details) if isinstance(row.details, dict) else {}
    seals = details.pop("seals", [])
    return TrailRecord(id=row.id, at=row.at, actor=row.actor, action=row.action, entity=row.entity,
                       entity_id=row.entity_id, details=details, sealed=len(seals), seq=row.seq)


def search(ctx: Context, *, actor: Actor, person_id: str | None = None, entity: str | None = None,
           entity_id: str | None = None, username: str | None = None, day_from: dt.date | None = None,
           day_to: dt.date | None = None, page: int = 1, per_page: int = PER_PAGE) -> TrailPage:
    """The audit records matching every filter given (days in China time, both included), oldest first."""
    access.ensure(actor, "audit_trail", "read")
    if day_from and day_to and day_to < day_from:
        raise errors.RequestInvalid(summary="the end date is before the start date")
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    with ctx.uow() as uow:
        rows, total = uow.audit_trail.search(
            person_id=person_id, entity=entity, entity_id=entity_id, actor=username,
            since=_start_of(day_from) if day_from else None,
            until=_start_of(day_to + dt.timedelta(days=1)) if day_to else None,
            offset=(page - 1) * per_page, limit=per_page)
    return TrailPage([_record(r) for r in rows], total, page, per_page)


def verify_books(ctx: Context, *, actor: Actor) -> checkpoints.Verification:
    """`audit verify` for the auditor: every chain, balance and seal, against the checkpoints signed."""
    access.ensure(actor, "audit_trail", "read")
    return checkpoints.verify(ctx)


def last_checkpoint(ctx: Context, *, actor: Actor) -> LastCheckpoint | None:
    """The newest checkpoint line that holds together (None before the first is signed)."""
    access.ensure(actor, "audit_trail", "read")
    last = checkpoints.read_file(checkpoints.file_path(ctx.settings), None).last
    if last is None:
        return None
    return LastCheckpoint(number=int(last.get("n", 0)),
                          signed_at=dt.datetime.fromisoformat(last["at"]) if last.get("at") else None,
                          signed_by=str(last.get("actor", "")), key_id=str(last.get("key_id", "")))
