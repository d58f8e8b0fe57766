"""tamper evidence: append-only guards on the audit trail and every sealed table; existing rows sealed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 10:00:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

from yibao.domain.audit import AuditRecord
from yibao.ledger import chain, seals
from yibao.store.seals import TABLES as SEALED_TABLES

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# The database refuses what no service does: an audit record, a refund, an application step or a voucher is
# never changed or removed; a settlement changes only by its refunds (refunded_fen grows, status follows);
# a cash voucher's own terms never change, it is redeemed once, and only an unredeemed one may be removed
# (a lapsed voucher replaced on retry); an idempotency key's answer is written once. The ledger's own
# triggers (migration 0002) stay as they are.
_REFUSED = "append-only: {table} rows are not changed or removed; the services append"
APPEND_ONLY = ("audit_records", "refunds", "application_steps", "vouchers")
SETTLEMENT_FIXED = [c for c in seals.COLUMNS["settlements"] if c not in ("refunded_fen", "status")]
CASH_FIXED = ["code", "application_id", "person_id", "hold_id", "amount_fen", "institution_code", "issued_at",
              "valid_until"]
CASH_REDEMPTION = ["redeemed_at", "redeemed_by", "redeemed_at_institution"]


def _changed(columns: list[str], *, sqlite: bool) -> str:
    if sqlite:
        return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
    return " OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in columns)


def _sqlite_refuse(table: str, verb: str, when: str | None = None) -> str:
    name = f"{table}_append_only_{verb.lower()}"
    return (f"CREATE TRIGGER {name} BEFORE {verb} ON {table} " + (f"WHEN {when} " if when else "")
            + f"BEGIN SELECT RAISE(ABORT, '{_REFUSED.format(table=table)}'); END")


SQLITE = [
    *[_sqlite_refuse(t, verb) for t in APPEND_ONLY for verb in ("UPDATE", "DELETE")],
    _sqlite_refuse("settlements", "UPDATE", _changed(SETTLEMENT_FIXED, sqlite=True)
                   + " OR NEW.refunded_fen < OLD.refunded_fen"),
    _sqlite_refuse("settlements", "DELETE"),
    _sqlite_refuse("cash_vouchers", "UPDATE", _changed(CASH_FIXED, sqlite=True) + " OR (OLD.redeemed_at IS NOT NULL"
                   f" AND ({_changed(CASH_REDEMPTION, sqlite=True)}))"),
    _sqlite_refuse("cash_vouchers", "DELETE", "OLD.redeemed_at IS NOT NULL"),
    _sqlite_refuse("idempotency_keys", "UPDATE", _changed(["scope", "key", "request_hash"], sqlite=True)
                   + " OR OLD.response IS NOT NULL"),
    _sqlite_refuse("idempotency_keys", "DELETE"),
]
SQLITE_TRIGGERS = [f"{t}_append_only_{verb}" for t in (*APPEND_ONLY, "settlements", "cash_vouchers",
                                                       "idempotency_keys") for verb in ("update", "delete")]


def _pg_guard(table: str, *, update_when: str | None = None, delete_when: str | None = None) -> list[str]:
    """A row trigger refusing UPDATE (when `update_when`, else always) and DELETE (when `delete_when`, else
    always) on a table."""
    refuse = f"RAISE EXCEPTION '{_REFUSED.format(table=table)}' USING ERRCODE = 'restrict_violation';"
    return [
        f"""CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF {delete_when or 'true'} THEN {refuse} END IF;
            RETURN OLD;
          END IF;
          IF {update_when or 'true'} THEN {refuse} END IF;
          RETURN NEW;
        END $$""",
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""",
    ]


POSTGRESQL = [
    *[statement for t in APPEND_ONLY for statement in _pg_guard(t)],
    *_pg_guard("settlements", update_when=_changed(SETTLEMENT_FIXED, sqlite=False)
               + " OR NEW.refunded_fen < OLD.refunded_fen"),
    *_pg_guard("cash_vouchers", update_when=_changed(CASH_FIXED, sqlite=False)
               + f" OR (OLD.redeemed_at IS NOT NULL AND ({_changed(CASH_REDEMPTION, sqlite=False)}))",
               delete_when="OLD.redeemed_at IS NOT NULL"),
    *_pg_guard("idempotency_keys", update_when=_changed(["scope", "key", "request_hash"], sqlite=False)
               + " OR OLD.response IS NOT NULL"),
]
GUARDED = (*APPEND_ONLY, "settlements", "cash_vouchers", "idempotency_keys")

BASELINE_CHUNK = 500


def _seal_existing_rows() -> None:
    """Rows written before seals existed are sealed as they are now, by records of a chain per table."""
    bind = op.get_bind()
    records = sa.table('audit_records', sa.column('at', sa.DateTime(timezone=True)), sa.column('actor'),
                       sa.column('action'), sa.column('entity'), sa.column('entity_id'),
                       sa.column('details', sa.JSON()), sa.column('seq'), sa.column('prev_hash'), sa.column('hash'))
    now = dt.datetime.now(dt.UTC)
    for name, table in SEALED_TABLES.items():
        if not sa.inspect(bind).has_table(name):
            continue  # a table sealed since, made by a later revision: it has no rows yet
        columns = [table.c[c] for c in seals.COLUMNS[name]]
        found = [row._asdict() for row in bind.execute(sa.select(*columns).order_by(*table.primary_key.columns))]
        if name == "idempotency_keys":
            found = [row for row in found if row["response"] is not None]
        prev = chain.GENESIS
        for seq, start in enumerate(range(0, len(found), BASELINE_CHUNK), start=1):
            record = AuditRecord(at=now, actor="migration", action="seal.baseline", entity="baseline",
                                 entity_id=name, details={"seals": [seals.seal(name, row)
                                                                    for row in found[start:start + BASELINE_CHUNK]]},
                                 seq=seq, prev_hash=prev)
            record.hash = chain.link(prev, chain.audit_content(
                at=record.at, actor=record.actor, action=record.action, entity=record.entity,
                entity_id=record.entity_id, details=record.details, seq=seq))
            bind.execute(records.insert().values(
                at=record.at, actor=record.actor, action=record.action, entity=record.entity,
                entity_id=record.entity_id, details=record.details, seq=seq, prev_hash=prev, hash=record.hash))
            prev = record.hash


def upgrade() -> None:
    _seal_existing_rows()
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    op.execute("DELETE FROM audit_records WHERE entity = 'baseline'")
