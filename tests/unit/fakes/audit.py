"""The audit trail's search in memory (`services.audit.ports.AuditTrail.search`); the tamper check's reads need the
database and are tested on it."""

from __future__ import annotations

import datetime as dt

from yibao.domain.audit import AuditRecord
from yibao.store.repositories.audit_trail import OWNED_BY

OWNER_FIELDS = ("person_id", "owner_id", "payer_id", "grantee_id")


class FakeAuditTrail:
    def __init__(self, uow) -> None:
        self._uow = uow

    def _owned_by(self, person_id: str) -> set[str]:
        """The keys of every kept entity one of whose owner fields names the person."""
        from tests.unit.fakes import key_of

        return {str(key_of(obj)) for rows in self._uow.store.rows.values() for obj in rows.values()
                if any(getattr(obj, f, None) == person_id for f in OWNER_FIELDS)}

    def search(self, *, person_id: str | None = None, entity: str | None = None, entity_id: str | None = None,
               actor: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
               offset: int = 0, limit: int = 50) -> tuple[list[AuditRecord], int]:
        owned = self._owned_by(person_id) if person_id is not None else set()

        def matches(r: AuditRecord) -> bool:
            if person_id is not None and not ((r.entity == "person" and r.entity_id == person_id)
                                              or (r.entity in OWNED_BY and r.entity_id in owned)):
                return False
            return ((entity is None or r.entity == entity) and (entity_id is None or r.entity_id == entity_id)
                    and (actor is None or r.actor == actor) and (since is None or r.at >= since)
                    and (until is None or r.at < until))

        found = sorted((r for r in self._uow.all_by(AuditRecord) if matches(r)), key=lambda r: (r.at, r.id))
        return found[offset:offset + limit], len(found)
