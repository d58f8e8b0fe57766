"""SQL for the requests to reverse a ledger entry (the port `services.accounts.ports.ReversalRequests`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.ledger.reversals import ReversalRequest
from yibao.store.tables import reversal_requests


def _request(row) -> ReversalRequest:
    return ReversalRequest(**row._asdict())


class SqlReversals:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _first(self, query) -> ReversalRequest | None:
        row = self._session.connection().execute(query).first()
        return _request(row) if row else None

    def get(self, reversal_id: str, *, lock: bool = False) -> ReversalRequest | None:
        query = sa.select(reversal_requests).where(reversal_requests.c.id == reversal_id)
        return self._first(query.with_for_update() if lock else query)

    def pending_for(self, entry_id: str) -> ReversalRequest | None:
        t = reversal_requests
        return self._first(sa.select(t).where(t.c.entry_id == entry_id, t.c.status == "pending"))

    def add(self, request: ReversalRequest) -> None:
        values = {name: value for name, value in asdict(request).items() if value is not None}
        self._session.connection().execute(reversal_requests.insert().values(**values))

    def decide(self, reversal_id: str, *, status: str, decided_by: str, decided_at: dt.datetime, note: str,
               reversal_entry_id: str | None = None) -> None:
        t = reversal_requests
        decided = {"status": status, "decided_by": decided_by, "decided_at": decided_at, "note": note}
        if reversal_entry_id is not None:
            decided["reversal_entry_id"] = reversal_entry_id
        self._session.connection().execute(t.update().where(t.c.id == reversal_id).values(**decided))

    def listed(self, *, status: str | None, limit: int) -> list[ReversalRequest]:
        t = reversal_requests
        query = sa.select(t).order_by(t.c.requested_at, t.c.id).limit(limit)
        if status:
            query = query.where(t.c.status == status)
        return [_request(r) for r in self._session.connection().execute(query)]
