"""SQL of the crediting job's set-based path (PostgreSQL): a batch of file rows is COPY'd into a staging
table and resolved in one statement against persons, employers, enrolments and the idempotency keys of
earlier runs; keys are claimed and answered a batch at a time.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from yibao.store.staging import stage

# One row per staged line. The enrolment is the one the per-row path picks: the earliest-starting active
# enrolment covering the month, through the named unit when there is one. The key is the contribution's
# natural key (person, month, payer), as services.contributions spells it. The person's life event, if any, says
# which months may still be paid (services.contributions.check_month).
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

_EARLIER = ("SELECT key, request_hash FROM idempotency_keys "
            "WHERE scope = %(scope)s AND key = ANY(%(keys)s::varchar[])")

# The keys' own list narrows the keys read to this batch's by the primary key (the join alone reads the
# whole scope, every key ever claimed).
_ANSWER = """
UPDATE idempotency_keys AS k SET response = a.response::json
  FROM credit_staged_answers a WHERE k.scope = %(scope)s AND k.key = ANY(%(keys)s::varchar[]) AND k.key = a.key
"""


@dataclass(frozen=True)
class Resolved:
    line: int
    person_id: str | None
    region: str | None
    birth_date: dt.date | None
    employer_id: str | None
    enrollment_id: str | None
    scheme: str | None
    flexible: bool | None
    request_hash: str | None  # of an earlier run's row with the same key, if any
    event_kind: str | None = None  # the person's death or emigration on record, if any
    event_date: dt.date | None = None
    account_closed_at: dt.datetime | None = None


def resolve(conn: Connection, rows: list[tuple[int, str, int, str | None]], *, scope: str, period: str,
            first: dt.date, last: dt.date) -> dict[int, Resolved]:
    """Stage (line, id_number, base_fen, employer_uscc) rows by COPY and resolve them in one statement."""
    stage(conn, "credit_staging", "line integer PRIMARY KEY, id_number varchar(18), base_fen bigint, "
          "employer_uscc varchar(18)", rows)
    found = conn.exec_driver_sql(_RESOLVE, {"scope": scope, "period": period, "first": first, "last": last})
    return {r[0]: Resolved(*r) for r in found}


def claim_keys(conn: Connection, *, scope: str, keys: dict[str, str], now: dt.datetime) -> set[str]:
    """Claim the keys (key -> request hash) not claimed yet; a key a concurrent run holds is waited for,
    then left to it. The keys this transaction now owns."""
    if not keys:
        return set()
    stage(conn, "credit_staged_keys", "key varchar(128), request_hash varchar(64)", keys.items())
    claimed = conn.exec_driver_sql(_CLAIM, {"scope": scope, "now": now})
    return {r.key for r in claimed}


def earlier(conn: Connection, *, scope: str, keys: list[str]) -> dict[str, str]:
    """The request hash each of these keys was claimed with."""
    rows = conn.exec_driver_sql(_EARLIER, {"scope": scope, "keys": keys}) if keys else []
    return {r.key: r.request_hash for r in rows}


def answer(conn: Connection, *, scope: str, responses: dict[str, dict]) -> None:
    """Store the answer a retry of each claimed key gets back."""
    if responses:
        stage(conn, "credit_staged_answers", "key varchar(128), response text",
              ((key, json.dumps(r)) for key, r in responses.items()))
        conn.exec_driver_sql(_ANSWER, {"scope": scope, "keys": list(responses)})
