"""What the tamper check reads, streamed from a session (`services.audit.ports.AuditTrail`): large tables are read
in batches, never whole; and the audit records an auditor searches, a page at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from itertools import groupby

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.ledger.entries import Entry, Posting
from yibao.store.ledger_repo import total
from yibao.store.tables import (
    application_steps,
    applications,
    audit_records,
    holds,
    ledger_entries,
    ledger_postings,
    metadata,
)

BATCH = 2000

# The entities a person owns, as the audit trail names them: (table, the key the trail gives, the owners' columns).
OWNED_BY = {
    "application": ("applications", "id", ("person_id",)),
    "appointment": ("appointments", "id", ("person_id",)),
    "bank_account": ("bank_accounts", "id", ("person_id",)),
    "card": ("cards", "card_no", ("person_id",)),
    "cash_voucher": ("cash_vouchers", "code", ("person_id",)),
    "contribution_declaration": ("contribution_declarations", "id", ("person_id",)),
    "document": ("documents", "id", ("person_id",)),
    "enrollment": ("enrollments", "id", ("person_id",)),
    "evoucher": ("evouchers", "id", ("person_id",)),
    "family_grant": ("family_grants", "id", ("owner_id", "grantee_id")),
    "filing": ("filings", "id", ("person_id",)),
    "life_event": ("life_events", "id", ("person_id",)),
    "settlement": ("settlements", "id", ("payer_id", "owner_id")),
    "user": ("users", "id", ("person_id",)),
    "voucher": ("vouchers", "code", ("person_id",)),
}


class SqlAuditTrail:
    def __init__(self, session: Session) -> None:
        self._session = session

    def entries(self) -> Iterator[Entry]:
        """Every entry with its postings, by anchor account and sequence."""
        e, p = ledger_entries, ledger_postings
        query = (sa.select(e, p.c.id.label("posting_id"), p.c.account_id, p.c.amount_fen, p.c.bucket)
                 .select_from(e.outerjoin(p, p.c.entry_id == e.c.id))
                 .order_by(e.c.anchor_account_id, e.c.anchor_seq, p.c.id))
        for _, rows in groupby(self._session.execute(query.execution_options(yield_per=BATCH)), key=lambda r: r.id):
            rows = list(rows)
            head = rows[0]
            yield Entry(id=head.id, kind=head.kind, at=head.at, business_date=head.business_date, memo=head.memo,
                        details=head.details, reverses_id=head.reverses_id, anchor_account_id=head.anchor_account_id,
                        anchor_seq=head.anchor_seq, prev_hash=head.prev_hash, hash=head.hash, chain_v=head.chain_v,
                        postings=[Posting(r.account_id, r.amount_fen, r.bucket) for r in rows if r.posting_id])

    def posting_sums(self) -> dict[str, tuple[int, int]]:
        """Per account: all postings, and those of the current-year bucket."""
        p = ledger_postings
        current = total(sa.case((p.c.bucket == "current", p.c.amount_fen), else_=0))
        return {r.account_id: (r.total, r.current) for r in self._session.execute(
            sa.select(p.c.account_id, total(p.c.amount_fen).label("total"), current.label("current"))
            .group_by(p.c.account_id))}

    def pending_holds(self) -> dict[str, int]:
        """Per account: what its pending holds keep back."""
        h = holds
        return dict(self._session.execute(sa.select(h.c.account_id, total(h.c.amount_fen))
                                          .where(h.c.status == "pending").group_by(h.c.account_id)).all())

    def audit_links(self) -> Iterator:
        """Every audit record, chain by chain."""
        a = audit_records
        return iter(self._session.execute(sa.select(a).order_by(a.c.entity, a.c.entity_id, a.c.seq)
                                          .execution_options(yield_per=BATCH)))

    def sealed_rows(self, table: str, columns: Iterable[str]) -> Iterator[dict]:
        """The named columns of a sealed table's rows, in key order."""
        t = metadata.tables[table]
        query = sa.select(*[t.c[c] for c in columns]).order_by(*t.primary_key.columns)
        return (row._asdict() for row in self._session.execute(query.execution_options(yield_per=BATCH)))

    def application_ends(self) -> Iterator[tuple[str, str, str | None]]:
        """Each application's status beside where its last step took it."""
        a, s = applications, application_steps
        last = (sa.select(s.c.application_id, sa.func.max(s.c.id).label("step_id")).group_by(s.c.application_id)
                .subquery())
        rows = self._session.execute(sa.select(a.c.id, a.c.status, s.c.to_status)
                                     .select_from(a.outerjoin(last, last.c.application_id == a.c.id)
                                                  .outerjoin(s, s.c.id == last.c.step_id)).order_by(a.c.id))
        return (tuple(row) for row in rows)

    def row_counts(self, tables: Iterable[str]) -> dict[str, int]:
        """The rows of each named table, counted by the database."""
        return {name: self._session.execute(sa.select(sa.func.count()).select_from(metadata.tables[name]))
                .scalar_one() for name in tables}

    def search(self, *, person_id: str | None = None, entity: str | None = None, entity_id: str | None = None,
               actor: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
               offset: int = 0, limit: int = 50) -> tuple[list, int]:
        """One page of the matching records, oldest first, and how many match."""
        a = audit_records
        where = [a.c[column] == value for column, value in (("entity", entity), ("entity_id", entity_id),
                                                             ("actor", actor)) if value is not None]
        where += [a.c.at >= since] if since is not None else []
        where += [a.c.at < until] if until is not None else []
        where += [_of_person(person_id)] if person_id is not None else []
        total_rows = self._session.execute(sa.select(sa.func.count()).select_from(a).where(*where)).scalar_one()
        rows = self._session.execute(sa.select(a).where(*where).order_by(a.c.at, a.c.id).offset(offset).limit(limit))
        return list(rows), total_rows


def _of_person(person_id: str):
    """The records of the person and of every entity they own."""
    a = audit_records
    owned = [sa.and_(a.c.entity == "person", a.c.entity_id == person_id)]
    for name, (table_name, key, owners) in OWNED_BY.items():
        table = metadata.tables[table_name]
        keys = sa.select(table.c[key]).where(sa.or_(*(table.c[o] == person_id for o in owners)))
        owned.append(sa.and_(a.c.entity == name, a.c.entity_id.in_(keys)))
    return sa.or_(*owned)
