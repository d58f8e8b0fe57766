"""SQL for the ledger (the port `services.accounts.ports.LedgerStore`): accounts and their locks, entries with
postings, holds.

Core statements rather than ORM objects: the ledger writes many small rows on the hottest path,
and the order of its statements (postings before their entry, locks in account-id order) matters.

On PostgreSQL the two statements of every payment take one round trip each and need no statement
compilation: the lock is one prepared statement for any number of accounts, and an entry (postings,
entry row, balance rows) is written by one call of the server-side function `ledger_write_entry`
(migration 0007), which runs the plain path's three statements in the same order. An entry whose
accounts were not read before takes one call in all: `ledger_post` (migration 0009) locks, checks,
links and writes it. The plain path (SQLAlchemy Core statements) serves SQLite, and PostgreSQL when
asked for by `plain()` (tests compare the two).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yibao.ledger.accounts import Account, Bucket, is_guarded, unit_of
from yibao.ledger.entries import AccountLine, Entry, Posting
from yibao.ledger.holds import Hold
from yibao.store.staging import stage
from yibao.store.tables import (
    cash_vouchers,
    disbursement_lines,
    holds,
    ledger_accounts,
    ledger_entries,
    ledger_postings,
)

_ACCOUNT_FIELDS = ("id", "kind", "region", "unit", "created_at", "person_id", "institution_code",
                   "posted_fen", "pending_fen", "current_year_fen", "chain_head", "chain_length")


def total(amount) -> sa.ColumnElement[int]:
    """SUM as a whole number of fen (PostgreSQL sums bigint as numeric), zero over no rows."""
    return sa.cast(sa.func.coalesce(sa.func.sum(amount), 0), sa.BigInteger)


_LOCK_ON_SERVER = (f"SELECT {', '.join(_ACCOUNT_FIELDS)} FROM ledger_accounts WHERE id = ANY(%(ids)s::varchar[]) "
                   "ORDER BY id")
# Guarded accounts locked in id order, the others only looked for: which of them exist, in one round trip.
_LOCK_AND_FIND_ON_SERVER = (
    f"WITH locked AS MATERIALIZED (SELECT {', '.join(_ACCOUNT_FIELDS)} FROM ledger_accounts "
    "WHERE id = ANY(%(locked)s::varchar[]) ORDER BY id FOR UPDATE) "
    f"SELECT {', '.join(_ACCOUNT_FIELDS)} FROM locked UNION ALL "
    f"SELECT {', '.join(_ACCOUNT_FIELDS)} FROM ledger_accounts WHERE id = ANY(%(seen)s::varchar[])")
_OPEN_NEW_ON_SERVER = (
    f"INSERT INTO ledger_accounts ({', '.join(_ACCOUNT_FIELDS)}) SELECT * FROM unnest(%(id)s::varchar[], "
    "%(kind)s::varchar[], %(region)s::varchar[], %(unit)s::varchar[], %(created_at)s::timestamptz[], "
    "%(person_id)s::varchar[], %(institution_code)s::varchar[], %(posted_fen)s::bigint[], %(pending_fen)s::bigint[], "
    "%(current_year_fen)s::bigint[], %(chain_head)s::varchar[], %(chain_length)s::integer[]) "
    f"AS a({', '.join(_ACCOUNT_FIELDS)}) ORDER BY id ON CONFLICT DO NOTHING RETURNING id")
_WRITE_ENTRY_ON_SERVER = (
    "SELECT ledger_write_entry(%(id)s::varchar, %(kind)s::varchar, %(at)s::timestamptz, %(business_date)s::date, "
    "%(memo)s::varchar, %(details)s::json, %(reverses_id)s::varchar, %(anchor_account_id)s::varchar, "
    "%(anchor_seq)s::integer, %(prev_hash)s::varchar, %(hash)s::varchar, %(posting_accounts)s::varchar[], "
    "%(posting_amounts)s::bigint[], %(posting_buckets)s::varchar[], %(account_ids)s::varchar[], "
    "%(posted)s::bigint[], %(pending)s::bigint[], %(current_year)s::bigint[], %(chain_heads)s::varchar[], "
    "%(chain_lengths)s::integer[])")
_POST_ON_SERVER = (
    f"SELECT status, prev_hash, taken, {', '.join(_ACCOUNT_FIELDS)} FROM ledger_post(%(id)s::varchar, "
    "%(kind)s::varchar, %(at)s::timestamptz, %(business_date)s::date, %(memo)s::varchar, %(details)s::json, "
    "%(reverses_id)s::varchar, %(anchor)s::varchar, %(head)s::varchar, %(accounts)s::varchar[], "
    "%(amounts)s::bigint[], %(buckets)s::varchar[], %(units)s::varchar[], %(lock)s::varchar[])")

BULK = 100  # more rows than this go to a set-based statement through a staging table filled by COPY
_READ_STAGED = (f"SELECT {', '.join(_ACCOUNT_FIELDS)} FROM ledger_accounts "
                "WHERE id IN (SELECT id FROM ledger_staged_ids) ORDER BY id")
_STAGED_ACCOUNT_COLUMNS = ("id varchar(80), kind varchar(24), region varchar(6), unit varchar(8), "
                           "created_at timestamptz, person_id varchar(24), institution_code varchar(20), "
                           "posted_fen bigint, pending_fen bigint, current_year_fen bigint, chain_head varchar(64), "
                           "chain_length integer")
_OPEN_STAGED = (f"INSERT INTO ledger_accounts ({', '.join(_ACCOUNT_FIELDS)}) "
                f"SELECT {', '.join(_ACCOUNT_FIELDS)} FROM ledger_staged_accounts ORDER BY id ON CONFLICT DO NOTHING")
_SAVE_STAGED = (
    "UPDATE ledger_accounts AS a SET posted_fen = b.posted_fen, pending_fen = b.pending_fen, "
    "current_year_fen = b.current_year_fen, chain_head = b.chain_head, chain_length = b.chain_length "
    "FROM ledger_staged_balances AS b WHERE a.id = b.id")
_SAVE_ON_SERVER = (
    "UPDATE ledger_accounts AS a SET posted_fen = b.posted_fen, pending_fen = b.pending_fen, "
    "current_year_fen = b.current_year_fen, chain_head = b.chain_head, chain_length = b.chain_length "
    "FROM unnest(%(ids)s::varchar[], %(posted)s::bigint[], %(pending)s::bigint[], %(current_year)s::bigint[], "
    "%(chain_heads)s::varchar[], %(chain_lengths)s::integer[]) "
    "AS b(id, posted_fen, pending_fen, current_year_fen, chain_head, chain_length) WHERE a.id = b.id")


def _account(row) -> Account:
    return Account(**{name: getattr(row, name) for name in _ACCOUNT_FIELDS})


def _hold(row) -> Hold:
    return Hold(**row._asdict())


def insert(conn, table):
    """An INSERT that can skip conflicting rows and return what it inserted, in the connection's dialect."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


class LedgerRepository:
    """The ledger on a unit of work's session; on PostgreSQL by its server-side paths unless `plain`."""

    def __init__(self, session: Session, *, plain: bool = False) -> None:
        self._session = session
        self._conn = None
        self.dialect = session.get_bind().dialect.name
        self.on_server = self.dialect == "postgresql" and not plain

    @property
    def conn(self):
        # Core statements run on the unit of work's own connection and transaction, without ORM bookkeeping;
        # asked for when a statement first runs, so a unit of work that never touches the ledger begins nothing.
        if self._conn is None or self._conn.closed:
            self._conn = self._session.connection()
        return self._conn

    def plain(self) -> LedgerRepository:
        """The same ledger on the portable statements only."""
        return LedgerRepository(self._session, plain=True)

    def _insert(self, table):
        return insert(self.conn, table)

    # --- accounts -------------------------------------------------------------

    def open_accounts(self, accounts: Iterable[Account]) -> None:
        """Create the accounts that do not exist yet; existing ones are left as they are."""
        rows = [{name: getattr(a, name) for name in _ACCOUNT_FIELDS} for a in accounts]
        if len(rows) > 1 and self.on_server:
            stage(self.conn, "ledger_staged_accounts", _STAGED_ACCOUNT_COLUMNS,
                  ((*(str(r[name]) if name in ("kind", "unit") else r[name] for name in _ACCOUNT_FIELDS),)
                   for r in rows))
            self.conn.exec_driver_sql(_OPEN_STAGED)
            return
        if rows:
            self.conn.execute(self._insert(ledger_accounts).on_conflict_do_nothing(), rows)

    def accounts(self, ids: Iterable[str], *, lock: bool = False) -> dict[str, Account]:
        """Load accounts; with lock, take their row locks in id order (the one order every writer uses)."""
        ids = sorted(set(ids))
        if not ids:
            return {}
        if self.on_server and len(ids) > BULK:
            stage(self.conn, "ledger_staged_ids", "id varchar(80)", ((i,) for i in ids))
            sql = _READ_STAGED + (" FOR UPDATE" if lock else "")
            return {row.id: _account(row) for row in self.conn.exec_driver_sql(sql)}
        if self.on_server:
            sql = _LOCK_ON_SERVER + (" FOR UPDATE" if lock else "")
            return {row.id: _account(row) for row in self.conn.exec_driver_sql(sql, {"ids": ids})}
        query = sa.select(ledger_accounts).where(ledger_accounts.c.id.in_(ids)).order_by(ledger_accounts.c.id)
        if lock:
            query = query.with_for_update()
        return {row.id: _account(row) for row in self.conn.execute(query)}

    def lock_and_find(self, locked: Iterable[str], seen: Iterable[str]) -> dict[str, Account]:
        """Lock the accounts `locked` (as accounts(lock=True) does) and read the accounts `seen` without a lock:
        those of them that exist."""
        locked, seen = sorted(set(locked)), sorted(set(seen))
        if self.on_server and len(locked) <= BULK:
            rows = self.conn.exec_driver_sql(_LOCK_AND_FIND_ON_SERVER, {"locked": locked, "seen": seen})
            return {row.id: _account(row) for row in rows}
        return self.accounts(locked, lock=True) | self.accounts(seen)

    def save_accounts(self, accounts: Iterable[Account]) -> None:
        """Write balance and chain columns of changed accounts (one statement on PostgreSQL)."""
        rows = [(a.id, a.posted_fen, a.pending_fen, a.current_year_fen, a.chain_head, a.chain_length)
                for a in accounts]
        if not rows:
            return
        if self.on_server and len(rows) > BULK:
            stage(self.conn, "ledger_staged_balances", "id varchar(80), posted_fen bigint, pending_fen bigint, "
                  "current_year_fen bigint, chain_head varchar(64), chain_length integer", rows)
            self.conn.exec_driver_sql(_SAVE_STAGED)
            return
        if self.on_server:
            self.conn.exec_driver_sql(_SAVE_ON_SERVER, dict(zip(
                ("ids", "posted", "pending", "current_year", "chain_heads", "chain_lengths"),
                (list(column) for column in zip(*rows, strict=True)), strict=True)))
            return
        t = ledger_accounts
        self.conn.execute(
            t.update().where(t.c.id == sa.bindparam("key")).values(
                posted_fen=sa.bindparam("posted"), pending_fen=sa.bindparam("pending"),
                current_year_fen=sa.bindparam("current"), chain_head=sa.bindparam("head"),
                chain_length=sa.bindparam("length")),
            [dict(zip(("key", "posted", "pending", "current", "head", "length"), row, strict=True)) for row in rows])

    def personal_accounts_with_current_year(self, *, after_id: str = "", limit: int = 1000) -> list[str]:
        t = ledger_accounts
        return list(self.conn.scalars(
            sa.select(t.c.id).where(t.c.kind == "personal", t.c.current_year_fen > 0, t.c.id > after_id)
            .order_by(t.c.id).limit(limit)))

    def all_accounts(self) -> list[Account]:
        return [_account(r) for r in self.conn.execute(sa.select(ledger_accounts).order_by(ledger_accounts.c.id))]

    # --- entries --------------------------------------------------------------

    def write_entries(self, entries: list[Entry], accounts: Iterable[Account]) -> None:
        """Postings first, then the entry rows, whose insertion the database checks sums to zero, then the
        balance and chain columns of the accounts the entries changed."""
        accounts = list(accounts)
        if self.on_server and len(entries) == 1:
            self._write_entry_on_server(entries[0], accounts)
            return
        if self.on_server:
            self._copy_entries(entries)
            self.save_accounts(accounts)
            return
        self.conn.execute(ledger_postings.insert().values([  # one multi-row statement
            {"entry_id": e.id, "account_id": p.account_id, "amount_fen": p.amount_fen,
             "bucket": str(p.bucket) if p.bucket else None} for e in entries for p in e.postings]))
        self.conn.execute(ledger_entries.insert(), [
            {"id": e.id, "kind": e.kind, "at": e.at, "business_date": e.business_date, "memo": e.memo,
             "details": e.details, "reverses_id": e.reverses_id, "anchor_account_id": e.anchor_account_id,
             "anchor_seq": e.anchor_seq, "prev_hash": e.prev_hash, "hash": e.hash, "chain_v": e.chain_v}
            for e in entries])
        self.save_accounts(accounts)

    def post_on_server(self, entry: Entry, head: str,
                       lock: list[str]) -> tuple[str, list[int], dict[str, Account]] | None:
        """Lock, check, link and write one entry by one call of `ledger_post` (migration 0009): (the previous
        hash of its anchor, what each posting took from this year's money, the locked accounts as they now
        are); None when an account is short or missing, with nothing written."""
        rows = self.conn.exec_driver_sql(_POST_ON_SERVER, {
            "id": entry.id, "kind": str(entry.kind), "at": entry.at, "business_date": entry.business_date,
            "memo": entry.memo, "details": json.dumps(entry.details), "reverses_id": entry.reverses_id,
            "anchor": entry.anchor_account_id, "head": head,
            "accounts": [p.account_id for p in entry.postings], "amounts": [p.amount_fen for p in entry.postings],
            "buckets": [str(p.bucket) if p.bucket else None for p in entry.postings],
            "units": [None if is_guarded(p.account_id) else str(unit_of(p.account_id)) for p in entry.postings],
            "lock": lock}).all()
        if rows[0].status != "ok":
            return None
        return rows[0].prev_hash, rows[0].taken, {row.id: _account(row) for row in rows}

    def _write_entry_on_server(self, entry: Entry, accounts: list[Account]) -> None:
        self.conn.exec_driver_sql(_WRITE_ENTRY_ON_SERVER, {
            "id": entry.id, "kind": str(entry.kind), "at": entry.at, "business_date": entry.business_date,
            "memo": entry.memo, "details": json.dumps(entry.details), "reverses_id": entry.reverses_id,
            "anchor_account_id": entry.anchor_account_id, "anchor_seq": entry.anchor_seq,
            "prev_hash": entry.prev_hash, "hash": entry.hash,
            "posting_accounts": [p.account_id for p in entry.postings],
            "posting_amounts": [p.amount_fen for p in entry.postings],
            "posting_buckets": [str(p.bucket) if p.bucket else None for p in entry.postings],
            "account_ids": [a.id for a in accounts], "posted": [a.posted_fen for a in accounts],
            "pending": [a.pending_fen for a in accounts], "current_year": [a.current_year_fen for a in accounts],
            "chain_heads": [a.chain_head for a in accounts], "chain_lengths": [a.chain_length for a in accounts]})

    def _copy_entries(self, entries: list[Entry]) -> None:
        """COPY the postings, then the entries (the database's triggers run for every row as they would for
        INSERT); postings go in the order given, so their ids follow it as on the plain path."""
        with self.conn.connection.driver_connection.cursor() as cur:
            with cur.copy("COPY ledger_postings (entry_id, account_id, amount_fen, bucket) FROM STDIN") as copy:
                for e in entries:
                    for p in e.postings:
                        copy.write_row((e.id, p.account_id, p.amount_fen, str(p.bucket) if p.bucket else None))
            with cur.copy("COPY ledger_entries (id, kind, at, business_date, memo, details, reverses_id, "
                          "anchor_account_id, anchor_seq, prev_hash, hash, chain_v) FROM STDIN") as copy:
                for e in entries:
                    copy.write_row((e.id, str(e.kind), e.at, e.business_date, e.memo, json.dumps(e.details),
                                    e.reverses_id, e.anchor_account_id, e.anchor_seq, e.prev_hash, e.hash,
                                    e.chain_v))

    def entry(self, entry_id: str) -> Entry | None:
        row = self.conn.execute(sa.select(ledger_entries).where(ledger_entries.c.id == entry_id)).first()
        if row is None:
            return None
        return Entry(**row._asdict(), postings=self.postings_of(entry_id))

    def postings_of(self, entry_id: str) -> list[Posting]:
        p = ledger_postings
        rows = self.conn.execute(
            sa.select(p.c.account_id, p.c.amount_fen, p.c.bucket).where(p.c.entry_id == entry_id).order_by(p.c.id))
        return [Posting(r.account_id, r.amount_fen, Bucket(r.bucket) if r.bucket else None) for r in rows]

    def reversal_of(self, entry_id: str) -> str | None:
        e = ledger_entries
        return self.conn.scalar(sa.select(e.c.id).where(e.c.reverses_id == entry_id))

    def account_lines(self, account_id: str, *, date_from: dt.date | None, date_to: dt.date | None,
                      limit: int) -> tuple[int, list[AccountLine]]:
        """(balance before date_from, one line per entry touching the account in [date_from, date_to])."""
        p, e = ledger_postings, ledger_entries
        joined = p.join(e, e.c.id == p.c.entry_id)
        opening = 0
        if date_from is not None:
            opening = self.conn.scalar(
                sa.select(total(p.c.amount_fen)).select_from(joined)
                .where(p.c.account_id == account_id, e.c.business_date < date_from)) or 0
        current = total(sa.case((p.c.bucket == "current", p.c.amount_fen), else_=0))
        query = (
            sa.select(e.c.id, e.c.kind, e.c.at, e.c.business_date, e.c.memo, e.c.details, e.c.reverses_id,
                      total(p.c.amount_fen).label("amount_fen"), current.label("current_year_fen"))
            .select_from(joined).where(p.c.account_id == account_id)
            .group_by(e.c.id)  # the entry's key: its other columns follow from it
            .order_by(sa.func.min(p.c.id)).limit(limit)
        )
        if date_from is not None:
            query = query.where(e.c.business_date >= date_from)
        if date_to is not None:
            query = query.where(e.c.business_date <= date_to)
        return opening, [AccountLine(**row._asdict()) for row in self.conn.execute(query)]

    def current_credits_after(self, account_id: str, day: dt.date) -> int:
        """Money credited to the current-year part after a day (it belongs to the next year)."""
        p, e = ledger_postings, ledger_entries
        return self.conn.scalar(
            sa.select(total(p.c.amount_fen)).select_from(p.join(e, e.c.id == p.c.entry_id))
            .where(p.c.account_id == account_id, p.c.bucket == "current", p.c.amount_fen > 0,
                   e.c.business_date > day)) or 0

    # --- holds ----------------------------------------------------------------

    def add_hold(self, hold: Hold) -> None:
        self.conn.execute(holds.insert().values(**{
            k: getattr(hold, k) for k in ("id", "account_id", "counter_account_id", "amount_fen", "captured_fen",
                                          "status", "purpose", "created_at", "expires_at", "closed_at",
                                          "entry_id")}))

    def hold(self, hold_id: str, *, lock: bool = False) -> Hold | None:
        query = sa.select(holds).where(holds.c.id == hold_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _hold(row) if row else None

    def save_hold(self, hold: Hold) -> None:
        self.conn.execute(holds.update().where(holds.c.id == hold.id).values(
            status=hold.status, captured_fen=hold.captured_fen, closed_at=hold.closed_at, entry_id=hold.entry_id))

    def expired_holds(self, account_id: str, now: dt.datetime) -> list[Hold]:
        rows = self.conn.execute(sa.select(holds).where(
            holds.c.account_id == account_id, holds.c.status == "pending", holds.c.expires_at <= now
        ).order_by(holds.c.id))
        return [_hold(r) for r in rows]

    def accounts_with_expired_holds(self, now: dt.datetime) -> list[str]:
        return list(self.conn.scalars(sa.select(holds.c.account_id).where(
            holds.c.status == "pending", holds.c.expires_at <= now).distinct().order_by(holds.c.account_id)))

    def pending_holds(self, account_id: str) -> list[Hold]:
        rows = self.conn.execute(sa.select(holds).where(
            holds.c.account_id == account_id, holds.c.status == "pending").order_by(holds.c.created_at))
        return [_hold(r) for r in rows]

    def hold_behind_bank_line(self, hold_id: str) -> bool:
        lines = disbursement_lines
        return self.conn.execute(sa.select(lines.c.line_no).where(
            lines.c.hold_id == hold_id, lines.c.status == "pending")).first() is not None

    def payout_of_hold(self, hold_id: str) -> str | None:
        for table in (disbursement_lines, cash_vouchers):
            application_id = self.conn.scalar(sa.select(table.c.application_id).where(table.c.hold_id == hold_id)
                                              .limit(1))
            if application_id is not None:
                return application_id
        return None

    # --- accounts whose creation matters --------------------------------------

    def open_new(self, accounts: Iterable[Account]) -> set[str]:
        """Create the accounts that do not exist yet, in one statement, and say which this call created. A
        concurrent creator of the same account makes this wait, then see it as existing (PostgreSQL), or was
        serialised before it (SQLite): exactly one caller is told it created an account. Rows go in id order,
        the order every writer takes, so two callers opening overlapping accounts never wait on each other
        in a circle."""
        rows = [{name: getattr(a, name) for name in _ACCOUNT_FIELDS} for a in sorted(accounts, key=lambda a: a.id)]
        if not rows:
            return set()
        if self.on_server and len(rows) <= BULK:
            columns = {name: [row[name] for row in rows] for name in _ACCOUNT_FIELDS}
            return set(self.conn.exec_driver_sql(_OPEN_NEW_ON_SERVER, columns).scalars())
        t = ledger_accounts
        return set(self.conn.scalars(self._insert(t).values(rows).on_conflict_do_nothing().returning(t.c.id)))
