"""SQL for settlement's hot path, in as few statements as it takes.

What a settlement's decision depends on is read in one statement: the payer (given, or the holder of the
e-voucher whose payment code pays), the account owner's region, the institution, and the candidates of the
records in force (the owner's active enrolments, their active filing, the pair's open grant), with the standing
of payer and owner (a death or emigration on record, an agency freeze of the account). Which enrolment, filing
and grant count is decided by `domain.in_force`, as the plain lookups decide it; the database keeps at most one
active filing per person and one open grant per pair, so only enrolments add rows. The statement is built once
and its compiled form cached. On PostgreSQL the same statement may also claim the payment's idempotency key
(as SqlKeys.claim_key does), so the first statement of a payment is its only read before the lock.

What a settlement leaves besides its ledger entry (its row, the first record of its audit chain, the answer
its idempotency key gives from now on) is written by one statement on PostgreSQL, three elsewhere.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from yibao.domain import in_force
from yibao.domain.audit import AuditRecord
from yibao.domain.filings import OPEN_GRANT, FamilyGrant, Filing
from yibao.domain.payment_facts import Claim, SettlementFacts
from yibao.domain.registry import Enrollment, Institution
from yibao.domain.settlement import Settlement
from yibao.store import standing
from yibao.store.tables import (
    audit_records,
    enrollments,
    evouchers,
    family_grants,
    filings,
    idempotency_keys,
    institutions,
    payment_codes,
    persons,
    settlements,
)


def code_holder(code_digest, now) -> sa.Select:
    """Whose payment code has this digest, while it is unused, unexpired at `now` and its e-voucher active."""
    pc, v = payment_codes, evouchers
    return (sa.select(pc.c.person_id).join(v, v.c.id == pc.c.evoucher_id)
            .where(pc.c.code_digest == code_digest, pc.c.used_at.is_(None), pc.c.expires_at > now,
                   v.c.status == "active"))


def _statement(*, claiming: bool = False) -> sa.Select:
    e, f, g, i = enrollments, filings, family_grants, institutions
    owner = persons.alias("owner")
    holder = code_holder(sa.bindparam("code_digest", type_=sa.String),
                         sa.bindparam("now", type_=payment_codes.c.expires_at.type)).limit(1).scalar_subquery()
    who = sa.select(sa.func.coalesce(sa.bindparam("payer_id", type_=sa.String), holder).label("payer_id")).cte("who")
    claimed = []
    if claiming:  # a data-modifying CTE runs once whatever reads it; the INSERT waits on a concurrent holder
        k = idempotency_keys
        claim = (postgresql.insert(k)
                 .values(scope=sa.bindparam("scope", type_=k.c.scope.type), key=sa.bindparam("key", type_=k.c.key.type),
                         request_hash=sa.bindparam("request_hash", type_=k.c.request_hash.type),
                         created_at=sa.bindparam("claimed_at", type_=k.c.created_at.type))
                 .on_conflict_do_nothing().returning(k.c.key).cte("claim"))
        claimed = [sa.select(sa.func.count()).select_from(claim).scalar_subquery().label("claimed")]
    return (
        sa.select(who.c.payer_id, owner.c.id.label("owner_id"), owner.c.region.label("owner_region"), *claimed,
                  *standing.columns(who.c.payer_id, "payer_"), *standing.columns(owner.c.id, "owner_"),
                  *[c.label(f"institution_{c.name}") for c in i.c], *[c.label(f"filing_{c.name}") for c in f.c],
                  *[c.label(f"grant_{c.name}") for c in g.c], *[c.label(f"enrollment_{c.name}") for c in e.c])
        .select_from(
            who.outerjoin(owner, owner.c.id == sa.func.coalesce(sa.bindparam("owner_id", type_=sa.String),
                                                                who.c.payer_id))
            .outerjoin(i, i.c.code == sa.bindparam("institution_code", type_=sa.String))
            # Whose filing governs (异地就医备案): the account owner's. The money and the rules that pay it out
            # are the owner's insured region's (医保发〔2022〕22号: direct settlement elsewhere for the insured who
            # filed); a grantee's own filing opens their own account elsewhere, not a relative's
            # (国办发〔2021〕14号 shares the account, not the filing). For one's own account, owner = payer.
            .outerjoin(f, sa.and_(f.c.person_id == owner.c.id, f.c.status == "active"))
            .outerjoin(g, sa.and_(g.c.owner_id == owner.c.id, g.c.grantee_id == who.c.payer_id,
                                  sa.or_(*(g.c.status == s.value for s in OPEN_GRANT))))  # no list: compiled once
            .outerjoin(e, sa.and_(e.c.person_id == owner.c.id, e.c.status == "active")))
    )


_FACTS = _statement()
_CLAIM_AND_FACTS = _statement(claiming=True)


def _part(row, cls, table, prefix: str):
    values = {c.name: getattr(row, f"{prefix}{c.name}") for c in table.c}
    first = next(iter(table.primary_key.columns)).name
    return None if values[first] is None else cls(**values)


def settlement_facts(conn: Connection, *, institution_code: str, day: dt.date, now: dt.datetime,
                     payer_id: str | None = None, code_digest: str | None = None, owner_id: str | None = None,
                     claim: Claim | None = None) -> SettlementFacts:
    """The facts of a payment by `payer_id`, or by the holder of the e-voucher whose payment code has
    `code_digest` (unused and valid at `now`), from the account of `owner_id` (default: the payer's own) at the
    institution on a day; with `claim` (only on PostgreSQL), the key claimed by the same statement."""
    params = {"payer_id": payer_id, "code_digest": code_digest, "owner_id": owner_id,
              "institution_code": institution_code, "now": now}
    if claim is not None:
        params |= {"scope": claim.scope, "key": claim.key, "request_hash": claim.request_hash, "claimed_at": claim.at}
    rows = conn.execute(_FACTS if claim is None else _CLAIM_AND_FACTS, params).all()
    row = rows[0]  # one a candidate enrolment (at least one row: the outer joins start from the payer)
    enrollment = in_force.enrollment_on([e for r in rows if (e := _part(r, Enrollment, enrollments, "enrollment_"))],
                                        day)
    filing = in_force.filing_in_force([f] if (f := _part(row, Filing, filings, "filing_")) else [])
    grant = in_force.grant_in_force([g] if (g := _part(row, FamilyGrant, family_grants, "grant_")) else [],
                                    row.owner_id, row.payer_id)
    return SettlementFacts(
        payer_id=row.payer_id, owner_id=row.owner_id, owner_region=row.owner_region,
        scheme=enrollment.scheme if enrollment else None, relation=grant.relation if grant else None,
        institution=_part(row, Institution, institutions, "institution_"), filing=filing,
        payer_standing=standing.of_row(row, "payer_"), owner_standing=standing.of_row(row, "owner_"),
        claimed=None if claim is None else row.claimed == 1)


_SETTLEMENT_COLUMNS = {c.name: c for c in settlements.c}
_AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "details", "seq", "prev_hash", "hash")
_CASTS = ((sa.Boolean, "boolean"), (sa.DateTime, "timestamptz"), (sa.BigInteger, "bigint"), (sa.Integer, "integer"), (sa.Date, "date"),
          (sa.JSON, "json"), (sa.String, "varchar"))


def _cast(column: sa.Column) -> str:
    kind = column.type.impl if isinstance(column.type, sa.TypeDecorator) else column.type
    return next(cast for base, cast in _CASTS if isinstance(kind, base))


def _param(column: sa.Column, value):
    if isinstance(column.type, sa.JSON):
        return json.dumps(value)
    return str(value) if isinstance(value, StrEnum) else value


_RECORD_ON_SERVER = (
    f"WITH settlement AS (INSERT INTO settlements ({', '.join(_SETTLEMENT_COLUMNS)}) VALUES ("
    + ", ".join(f"%(s_{name})s::{_cast(c)}" for name, c in _SETTLEMENT_COLUMNS.items()) + ")), "
    f"audit AS (INSERT INTO audit_records ({', '.join(_AUDIT_COLUMNS)}) VALUES ("
    + ", ".join(f"%(a_{name})s::{_cast(audit_records.c[name])}" for name in _AUDIT_COLUMNS) + ")) "
    "UPDATE idempotency_keys SET response = %(response)s::json WHERE scope = %(scope)s AND key = %(key)s")


def record_settlement(conn: Connection, settlement: Settlement, audit: AuditRecord, *, scope: str, key: str,
                      response: dict) -> None:
    """Write a settlement, the first record of its audit chain (already linked) and the answer of the
    idempotency key this unit of work claimed."""
    row = {name: getattr(settlement, name) for name in _SETTLEMENT_COLUMNS}
    audited = {name: getattr(audit, name) for name in _AUDIT_COLUMNS}
    if conn.dialect.name == "postgresql":
        params = {f"s_{name}": _param(_SETTLEMENT_COLUMNS[name], value) for name, value in row.items()}
        params |= {f"a_{name}": _param(audit_records.c[name], value) for name, value in audited.items()}
        conn.exec_driver_sql(_RECORD_ON_SERVER, {**params, "response": json.dumps(response), "scope": scope,
                                                 "key": key})
        return
    conn.execute(settlements.insert().values(row))
    conn.execute(audit_records.insert().values(audited))
    t = idempotency_keys
    conn.execute(t.update().where(t.c.scope == scope, t.c.key == key).values(response=response))
