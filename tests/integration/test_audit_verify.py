"""`yibao audit verify` finds rows altered, removed or added by hand, and names the first one.

Tampering here goes around the database's own guards (append-only triggers), as someone with
direct access to the database could; the hash chains are what still catches it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import build_world, ledger_capture, ledger_hold
from yibao.ledger import accounts as acct
from yibao.ledger import chain
from yibao.ledger.entries import entry_hash
from yibao.services.accounts import contributions
from yibao.services.audit.verify import verify
from yibao.services.credentials import cards
from yibao.store.ledger_repo import LedgerRepository

YIBAO = str(Path(sys.executable).parent / "yibao")
# The append-only guards of the audit trail and the sealed tables (migration 0016).
APPEND_ONLY_TRIGGERS = [f"{table}_append_only_{verb}" for table in (
    "audit_records", "refunds", "application_steps", "vouchers", "settlements", "cash_vouchers", "idempotency_keys")
    for verb in ("update", "delete")]
SQLITE_GUARDS = ["ledger_postings_entry_open", "ledger_entries_balanced", "ledger_entries_append_only_update",
                 "ledger_entries_append_only_delete", "ledger_postings_append_only_update",
                 "ledger_postings_append_only_delete", *APPEND_ONLY_TRIGGERS]


@pytest.fixture
def books(ctx, admin):
    """A world with three months credited, a hold captured, a card frozen: entries and audit records to check."""
    world = build_world(ctx, admin)
    for month in ("2026-01", "2026-02", "2026-03"):
        contributions.credit(ctx, actor=admin, person_id=world.person.id, period=month, base_fen=1_000_000,
                             employer_id=world.employer_id)
    hold = ledger_hold(ctx, world.person.id, 5_000)
    ledger_capture(ctx, hold.id, 3_000)
    cards.freeze(ctx, actor=admin, card_no=world.person.card_no, reason="核查")
    return world


def tamper(ctx, backend: str, sql: str, **params) -> None:
    """Change rows by hand with the database's guards out of the way."""
    with ctx.engine.begin() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for name in SQLITE_GUARDS:
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(sa.text(sql), params)


def entry_ids(ctx, person_id: str) -> list[str]:
    with ctx.engine.connect() as conn:
        return list(conn.scalars(sa.text(
            "SELECT id FROM ledger_entries WHERE anchor_account_id = :a ORDER BY anchor_seq"),
            {"a": acct.personal(person_id)}))


def test_untouched_books_verify(ctx, books):
    report = verify(ctx)
    assert report.ok, report.breaks
    assert report.entries == 4 and report.audit_records > 5


def test_an_altered_posting_is_named(ctx, backend, books):
    second = entry_ids(ctx, books.person.id)[1]
    # Both legs changed alike, so the entry still sums to zero: only the chain can tell.
    tamper(ctx, backend, "UPDATE ledger_postings SET amount_fen = amount_fen * 2 WHERE entry_id = :e", e=second)
    report = verify(ctx)
    first = report.breaks[0]
    assert (first.table, first.row.split()[0]) == ("ledger_entries", second)
    assert "hash" in first.reason_en


def test_a_removed_entry_is_named(ctx, backend, books):
    ids = entry_ids(ctx, books.person.id)
    tamper(ctx, backend, "DELETE FROM ledger_postings WHERE entry_id = :e", e=ids[1])
    tamper(ctx, backend, "DELETE FROM ledger_entries WHERE id = :e", e=ids[1])
    first = verify(ctx).breaks[0]
    assert first.table == "ledger_entries" and first.row.startswith(ids[2])
    assert "missing entry #2" in first.reason_en


def relink_in_the_first_format(ctx, backend, person_id: str) -> None:
    """Link a person's chain as entries written before link format 2 were linked (a database from then)."""
    ids = entry_ids(ctx, person_id)
    with ctx.uow() as uow:
        repo = LedgerRepository(uow.session)
        entries = [repo.entry(e) for e in ids]
    prev = chain.GENESIS
    for entry in entries:
        entry.chain_v, entry.prev_hash = 1, prev
        prev = entry_hash(entry)
        tamper(ctx, backend, "UPDATE ledger_entries SET chain_v = 1, prev_hash = :p, hash = :h WHERE id = :e",
               p=entry.prev_hash, h=prev, e=entry.id)
    tamper(ctx, backend, "UPDATE ledger_accounts SET chain_head = :h WHERE id = :a", h=prev, a=acct.personal(person_id))


def test_entries_linked_in_the_first_format_still_verify_and_an_altered_one_is_named(ctx, backend, books):
    relink_in_the_first_format(ctx, backend, books.person.id)
    assert verify(ctx).ok
    second = entry_ids(ctx, books.person.id)[1]
    tamper(ctx, backend, "UPDATE ledger_entries SET memo = 'changed' WHERE id = :e", e=second)
    first = verify(ctx).breaks[0]
    assert (first.table, first.row.split()[0]) == ("ledger_entries", second)


def test_an_altered_balance_row_is_named(ctx, backend, books):
    account_id = acct.personal(books.person.id)
    tamper(ctx, backend, "UPDATE ledger_accounts SET posted_fen = posted_fen + 100000 WHERE id = :a", a=account_id)
    first = verify(ctx).breaks[0]
    assert (first.table, first.row) == ("ledger_accounts", account_id)
    assert "differs from its postings" in first.reason_en


def test_an_altered_audit_record_is_named(ctx, backend, books):
    with ctx.engine.connect() as conn:
        record_id = conn.scalar(sa.text("SELECT id FROM audit_records WHERE action = 'card.freeze'"))
    tamper(ctx, backend, "UPDATE audit_records SET actor = 'someone-else' WHERE id = :r", r=record_id)
    first = verify(ctx).breaks[0]
    assert first.table == "audit_records" and first.row.startswith(f"{record_id} ")


def test_the_command_passes_then_names_the_first_broken_row(ctx, backend, books, database_url, tmp_path):
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    run = subprocess.run([YIBAO, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "ok" in run.stdout

    third = entry_ids(ctx, books.person.id)[2]
    tamper(ctx, backend, "UPDATE ledger_entries SET memo = 'edited' WHERE id = :e", e=third)
    run = subprocess.run([YIBAO, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert f"first broken row: ledger_entries {third}" in run.stderr
    assert "首个异常" in run.stderr
