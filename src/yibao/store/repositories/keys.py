"""SQL for the idempotency keys (the port `services.accounts.ports.IdempotencyKeys`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.ledger.keys import KeptAnswer
from yibao.store.ledger_repo import insert
from yibao.store.seals import answers_record
from yibao.store.tables import idempotency_keys


class SqlKeys:
    def __init__(self, session: Session) -> None:
        self._session = session

    def claim_key(self, scope: str, key: str, request_hash: str, now: dt.datetime) -> bool:
        """True if this request now owns the key. A concurrent holder of the same key makes this wait
        (PostgreSQL) or was serialised before it (SQLite); either way the first one to commit wins."""
        t, conn = idempotency_keys, self._session.connection()
        claimed = conn.execute(
            insert(conn, t).values(scope=scope, key=key, request_hash=request_hash, created_at=now)
            .on_conflict_do_nothing().returning(t.c.key)).first()  # the driver's rowcount is not told for INSERT
        return claimed is not None

    def key_row(self, scope: str, key: str) -> KeptAnswer | None:
        t = idempotency_keys
        row = self._session.connection().execute(
            sa.select(t.c.request_hash, t.c.response).where(t.c.scope == scope, t.c.key == key)).first()
        return KeptAnswer(row.request_hash, row.response) if row else None

    def store_response(self, scope: str, key: str, response: dict) -> None:
        t = idempotency_keys
        self._session.connection().execute(
            t.update().where(t.c.scope == scope, t.c.key == key).values(response=response))

    def seal_answers(self, at: dt.datetime, seals: list[list]) -> None:
        self._session.add(answers_record(at, seals))
