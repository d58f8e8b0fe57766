"""Contributions in the store (`uow.contributions`): a crediting file's facts, keys and answers a batch at a
time, and the declarations waiting for the collector.

On PostgreSQL a batch of file rows is COPY'd into a staging table and resolved in one statement against
persons, employers, enrolments, life events and the idempotency keys of earlier runs; keys are claimed and
answered a batch at a time the same way. Elsewhere the same answers come from a few portable statements a row.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.collection import Declaration, DeclarationStatus
from yibao.domain.life_events import Standing
from yibao.policy.crediting import Found, FoundRow, contribution_key
from yibao.store.repositories.keys import SqlKeys
from yibao.store.staging import stage
from yibao.store.tables import employers, enrollments, idempotency_keys, life_events, persons

# One row per staged line. The enrolment is the one the per-row path picks: the earliest-starting active
# enrolment covering the month, through the named unit when there is one. The key is the contribution's
# natural key (person, month, payer), as policy.crediting.contribution_key spells it. The person's life event, if
# any, says which months may still be paid (policy.crediting.check_month).
# Each lookup is a LATERAL subquery with LIMIT 1 (on a unique key where there is one), which the planner keeps
# as an index probe per staged row: as a join it reads the whole of persons and of the keys, tables that grow
# with every batch, so a file's batches got slower and slower.
_RESOLVE = """
SELECT s.line, p.id AS person_id, p.region, p.birth_date, u.id AS employer_id, e.id AS enrollment_id,
       e.scheme, e.flexible, k.request_hash, le.kind, le.event_date, le.account_closed_at
  FROM credit_staging s
  LEFT JOIN LATERAL (
        SELECT p.id, p.region, p.birth_date FROM persons p WHERE p.id_number = s.id_number LIMIT 1) p ON true
  LEFT JOIN LATERAL (SELECT u.id FROM employers u WHERE u.uscc = s.employer_uscc LIMIT 1) u ON true
  LEFT JOIN LATERAL (
        SELECT n.id, n.scheme, n.flexible FROM enrollments n
         WHERE n.person_id = p.id AND n.status = 'active' AND n.start_date <= %(last)s
           AND (n.end_date IS NULL OR n.end_date >= %(first)s)
           AND (s.employer_uscc IS NULL OR n.employer_id = u.id)
         ORDER BY n.start_date, n.id LIMIT 1) e ON true
  LEFT JOIN LATERAL (
        SELECT k.request_hash FROM idempotency_keys k
         WHERE k.scope = %(scope)s AND k.key = p.id || ':' || %(period)s || ':' || coalesce(u.id, 'self')
         LIMIT 1) k ON true
  LEFT JOIN LATERAL (
        SELECT le.kind, le.event_date, le.account_closed_at FROM life_events le WHERE le.person_id = p.id
         LIMIT 1) le ON true
 ORDER BY s.line
"""

_CLAIM = """
INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
SELECT %(scope)s, c.key, c.request_hash, %(now)s FROM credit_staged_keys c ORDER BY c.key
ON CONFLICT DO NOTHING RETURNING key
"""

# The keys' own list narrows the keys read to this batch's by the primary key (the join alone reads the
# whole scope, every key ever claimed).
_ANSWER = """
UPDATE idempotency_keys AS k SET response = a.response::json
  FROM credit_staged_answers a WHERE k.scope = %(scope)s AND k.key = ANY(%(keys)s::varchar[]) AND k.key = a.key
"""


class SqlContributions:
    """The contributions repository on a unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.set_based = session.get_bind().dialect.name == "postgresql"
        self.lanes = 2 if self.set_based else 1  # SQLite has one writer at a time

    @property
    def _conn(self):
        return self.session.connection()

    # --- a crediting file's facts, keys and answers ---------------------------------------------

    def found_rows(self, rows: list[tuple[int, str, str | None]], *, scope: str, period: str, first: dt.date,
                   last: dt.date) -> dict[int, FoundRow]:
        """What the store holds for each (line, ID number, unit's credit code): one statement on PostgreSQL."""
        if not self.set_based:
            return self._found_row_by_row(rows, scope=scope, period=period, first=first, last=last)
        stage(self._conn, "credit_staging", "line integer PRIMARY KEY, id_number varchar(18), "
              "employer_uscc varchar(18)", rows)
        found = self._conn.exec_driver_sql(_RESOLVE, {"scope": scope, "period": period, "first": first,
                                                      "last": last})
        return {r.line: _found_row(r.person_id, r.region, r.birth_date, r.employer_id, r.scheme, r.flexible,
                                   r.request_hash, r.kind, r.event_date, r.account_closed_at) for r in found}

    def _found_row_by_row(self, rows, *, scope, period, first, last) -> dict[int, FoundRow]:
        conn, units, out = self._conn, {}, {}
        for line, id_number, uscc in rows:
            person = conn.execute(sa.select(persons.c.id, persons.c.region, persons.c.birth_date)
                                  .where(persons.c.id_number == id_number).limit(1)).first()
            if person is None:
                out[line] = FoundRow(None)
                continue
            if uscc and uscc not in units:
                units[uscc] = conn.scalar(sa.select(employers.c.id).where(employers.c.uscc == uscc).limit(1))
            employer_id = units[uscc] if uscc else None
            n = enrollments
            covering = sa.select(n.c.scheme, n.c.flexible).where(
                n.c.person_id == person.id, n.c.status == "active", n.c.start_date <= last,
                sa.or_(n.c.end_date.is_(None), n.c.end_date >= first))
            if uscc:
                covering = covering.where(n.c.employer_id == employer_id)
            enrollment = conn.execute(covering.order_by(n.c.start_date, n.c.id).limit(1)).first()
            k = idempotency_keys
            earlier = conn.scalar(sa.select(k.c.request_hash).where(
                k.c.scope == scope, k.c.key == contribution_key(person.id, period, employer_id)))
            e = life_events
            event = conn.execute(sa.select(e.c.kind, e.c.event_date, e.c.account_closed_at)
                                 .where(e.c.person_id == person.id).limit(1)).first() or (None, None, None)
            out[line] = _found_row(person.id, person.region, person.birth_date, employer_id,
                                   *(enrollment or (None, None)), earlier, *event)
        return out

    def claim_keys(self, *, scope: str, keys: dict[str, str], now: dt.datetime) -> set[str]:
        """Claim the keys not claimed yet (one statement on PostgreSQL); the keys this unit of work now owns."""
        if not keys:
            return set()
        if not self.set_based:
            kept = SqlKeys(self.session)
            return {key for key, digest in sorted(keys.items()) if kept.claim_key(scope, key, digest, now)}
        stage(self._conn, "credit_staged_keys", "key varchar(128), request_hash varchar(64)", keys.items())
        claimed = self._conn.exec_driver_sql(_CLAIM, {"scope": scope, "now": now})
        return {r.key for r in claimed}

    def claimed_with(self, *, scope: str, keys: list[str]) -> dict[str, str]:
        """The request hash each of these keys was claimed with."""
        if not keys:
            return {}
        k = idempotency_keys
        rows = self._conn.execute(sa.select(k.c.key, k.c.request_hash).where(k.c.scope == scope, k.c.key.in_(keys)))
        return {r.key: r.request_hash for r in rows}

    def answer(self, *, scope: str, responses: dict[str, dict]) -> None:
        """Keep each claimed key's answer (one statement on PostgreSQL)."""
        if not responses:
            return
        if not self.set_based:
            kept = SqlKeys(self.session)
            for key, response in responses.items():
                kept.store_response(scope, key, response)
            return
        stage(self._conn, "credit_staged_answers", "key varchar(128), response text",
              ((key, json.dumps(r)) for key, r in responses.items()))
        self._conn.exec_driver_sql(_ANSWER, {"scope": scope, "keys": list(responses)})

    # --- declarations ---------------------------------------------------------------------------

    def pending_declarations(self, *, period: str) -> list[Declaration]:
        d = Declaration
        return list(self.session.scalars(sa.select(d).where(d.status == DeclarationStatus.PENDING,
                                                            d.period == period)))

    def arrears(self, *, before: str, employer_id: str | None, person_id: str | None) -> list[Declaration]:
        d = Declaration
        query = sa.select(d).where(d.status == DeclarationStatus.PENDING, d.period < before)
        if employer_id is not None:
            query = query.where(d.employer_id == employer_id)
        if person_id is not None:
            query = query.where(d.person_id == person_id)
        return list(self.session.scalars(query.order_by(d.period, d.declared_at, d.id)).all())


def _found_row(person_id, region, birth_date, employer_id, scheme, flexible, request_hash, event_kind, event_date,
               closed_at) -> FoundRow:
    if person_id is None:
        return FoundRow(None)
    standing = Standing(event_kind, event_date, closed=closed_at is not None)
    return FoundRow(Found(person_id, region, birth_date, standing, employer_id=employer_id, scheme=scheme,
                          flexible=bool(flexible)), earlier_hash=request_hash)
