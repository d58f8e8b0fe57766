"""Tamper evidence that an insider cannot quietly rewrite: seals, append-only guards and signed checkpoints.

The insider here edits the database directly: they drop the append-only triggers (DROP TRIGGER), change or
remove rows, and put the triggers back (PostgreSQL, whose database the tests share) or leave them dropped
(SQLite). `audit verify` then names the row, on both databases; the legal path beside it verifies ok.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.e2e.test_payout_vouchers import cash_claim, counters  # noqa: F401  (a fixture)
from tests.support import PIN, add_person, build_world
from yibao.domain import errors
from yibao.ledger import accounts as acct
from yibao.ledger import chain
from yibao.ledger.entries import entry_hash
from yibao.services.accounts import contributions
from yibao.services.audit import checkpoints
from yibao.services.credentials import cards
from yibao.services.registry import enrolment
from yibao.services.settlement import payments
from yibao.store.ledger_repo import LedgerRepository

KEY = "an-auditor-kept-key-of-32-bytes!"
LEDGER = ("ledger_entries", "ledger_postings")
GUARDED = ("audit_records", "refunds", "application_steps", "vouchers", "settlements", "cash_vouchers",
           "idempotency_keys")


def _drop(backend: str, table: str) -> list[str]:
    if backend == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"]
    return [f"DROP TRIGGER IF EXISTS {table}_append_only_{verb}" for verb in ("update", "delete")]


def _recreate(table: str) -> str:
    function = "ledger_append_only" if table in LEDGER else f"{table}_append_only"
    return (f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def tamper(ctx, backend: str, *statements: tuple[str, dict]) -> None:
    """As an insider: drop the guards, change rows, and (PostgreSQL) put the guards back in the same transaction."""
    with ctx.engine.begin() as conn:
        for table in (*LEDGER, *GUARDED):
            for drop in _drop(backend, table):
                conn.exec_driver_sql(drop)
        for sql, params in statements:
            conn.execute(sa.text(sql), params)
        if backend == "postgresql":
            for table in (*LEDGER, *GUARDED):
                conn.exec_driver_sql(_recreate(table))


def one(ctx, sql: str, **params):
    with ctx.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


def first_break(ctx):
    done = checkpoints.verify(ctx)
    assert not done.ok, "audit verify answered ok"
    return done.breaks[0]


@dataclass
class Books:
    person_id: str
    card_no: str
    institution_code: str
    refunded: dict  # a settlement partly refunded
    newest: dict  # the newest settlement
    application: dict  # a cross-region claim approved, paid by a cash voucher
    frozen_card: str  # a card whose newest audit record (its freeze) seals nothing
    late_person: str  # a person whose account's one entry is the newest of its chain


@pytest.fixture
def books(ctx, admin, client, counters, tmp_path):  # noqa: F811
    """Contributions, two settlements (one partly refunded), an approved claim with its steps, vouchers and
    cash voucher, a frozen card and a late contribution: a row of every sealed kind."""
    ctx.settings.checkpoint_key = KEY
    ctx.settings.checkpoint_file = tmp_path / "checkpoints.jsonl"
    world = build_world(ctx, admin)
    for month in ("2026-01", "2026-02"):
        contributions.credit(ctx, actor=admin, person_id=world.person.id, period=month, base_fen=1_000_000,
                             employer_id=world.employer_id)
    card = {"type": "card", "card_no": world.person.card_no, "pin": PIN}
    paid = payments.settle(ctx, actor=admin, idempotency_key="s1", institution_code=world.institution_code,
                             credential=card, items=[{"category": "drug", "amount_fen": 6_000}])
    payments.refund(ctx, actor=admin, settlement_id=paid["settlement_id"], idempotency_key="r1", amount_fen=1_000)
    newest = payments.settle(ctx, actor=admin, idempotency_key="s2", institution_code=world.institution_code,
                               credential=card, items=[{"category": "drug", "amount_fen": 2_500}])
    _, _, approved = cash_claim(ctx, admin, client, counters, name="陈晨")
    cards.freeze(ctx, actor=admin, card_no=world.other.card_no, reason="核查")
    late = add_person(ctx, admin, name="王芳", card=False)
    enrolment.enroll(ctx, actor=admin, person_id=late.id, scheme="employee", employer_id=world.employer_id,
                     start_date=dt.date(2024, 1, 1))
    contributions.credit(ctx, actor=admin, person_id=late.id, period="2026-02", base_fen=1_000_000,
                         employer_id=world.employer_id)
    return Books(world.person.id, world.person.card_no, world.institution_code, paid, newest, approved,
                 world.other.card_no, late.id)


# --- the legal path ----------------------------------------------------------------------------------------


def test_normal_activity_then_checkpoints_then_verify_is_ok(ctx, admin, books):
    first = checkpoints.checkpoint(ctx, actor=admin)
    assert first["checkpoint"] == 1 and first["chains"] > 10 and first["moved"] == first["chains"]
    assert first["counts"]["settlements"] == 2 and first["counts"]["refunds"] == 1
    payments.refund(ctx, actor=admin, settlement_id=books.newest["settlement_id"], idempotency_key="r2")
    second = checkpoints.checkpoint(ctx, actor=admin)
    # Only the chains that moved are signed again: the refunded settlement's, its account's, the key's, …
    assert second["checkpoint"] == 2 and 0 < second["moved"] < second["chains"]
    done = checkpoints.verify(ctx)
    assert done.ok, done.breaks
    assert done.file.last["n"] == 2 and done.file.signatures_checked
    assert done.report.sealed_rows >= 12
    lines = ctx.settings.checkpoint_file.read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 2]
    assert KEY not in ctx.settings.checkpoint_file.read_text()


def test_without_a_checkpoint_the_chains_are_still_checked(ctx, books):
    done = checkpoints.verify(ctx)
    assert done.ok, done.breaks
    assert done.file.last is None and done.file.lines == 0


def test_a_checkpoint_needs_a_key_the_database_does_not_hold(ctx, admin, books, tmp_path):
    ctx.settings.checkpoint_key = ""
    with pytest.raises(errors.CheckpointKeyMissing):
        checkpoints.checkpoint(ctx, actor=admin)
    ctx.settings.checkpoint_key = "short"
    with pytest.raises(errors.CheckpointKeyMissing):
        checkpoints.checkpoint(ctx, actor=admin)
    key_file = tmp_path / "checkpoint.key"
    key_file.write_text(KEY + "\n")
    ctx.settings.checkpoint_key_file = key_file
    assert checkpoints.checkpoint(ctx, actor=admin)["checkpoint"] == 1
    assert len(ctx.settings.checkpoint_file.read_text().splitlines()) == 1


def test_a_checkpoint_signs_no_broken_books(ctx, admin, backend, books):
    tamper(ctx, backend, ("UPDATE settlements SET cash_fen = cash_fen + 1, total_fen = total_fen + 1 WHERE id = :s",
                          {"s": books.newest["settlement_id"]}))
    with pytest.raises(errors.BooksBroken) as refused:
        checkpoints.checkpoint(ctx, actor=admin)
    assert refused.value.facts == {"table": "settlements", "row": books.newest["settlement_id"]}
    assert not ctx.settings.checkpoint_file.exists() or not ctx.settings.checkpoint_file.read_text()


# --- the database refuses -------------------------------------------------------------------------------


REFUSED = [
    ("audit_records", "UPDATE audit_records SET actor = 'someone' WHERE id = (SELECT max(id) FROM audit_records)"),
    ("audit_records", "DELETE FROM audit_records WHERE id = (SELECT max(id) FROM audit_records)"),
    ("settlements", "UPDATE settlements SET account_paid_fen = account_paid_fen - 1, cash_fen = cash_fen + 1"),
    ("settlements", "UPDATE settlements SET refunded_fen = 0"),
    ("settlements", "DELETE FROM settlements WHERE id NOT IN (SELECT settlement_id FROM refunds)"),
    ("refunds", "UPDATE refunds SET amount_fen = amount_fen + 1"),
    ("refunds", "DELETE FROM refunds"),
    ("application_steps", "UPDATE application_steps SET note = 'changed'"),
    ("application_steps", "DELETE FROM application_steps"),
    ("vouchers", "UPDATE vouchers SET sha256 = 'x'"),
    ("vouchers", "DELETE FROM vouchers"),
    ("cash_vouchers", "UPDATE cash_vouchers SET amount_fen = amount_fen + 1"),
    ("idempotency_keys", "UPDATE idempotency_keys SET response = NULL"),
    ("idempotency_keys", "DELETE FROM idempotency_keys"),
]


@pytest.mark.parametrize(("table", "sql"), REFUSED, ids=[f"{t}-{s.split()[0].lower()}" for t, s in REFUSED])
def test_the_database_refuses_update_and_delete_on_append_only_tables(ctx, books, table, sql):
    with pytest.raises(sa.exc.DBAPIError) as refused, ctx.engine.begin() as conn:
        conn.execute(sa.text(sql))
    assert f"append-only: {table}" in str(refused.value)
    assert checkpoints.verify(ctx).ok


def test_what_the_services_change_the_database_still_lets_them(ctx, admin, books):
    """A refund moves a settlement's refunded amount and status; an answer is written once after its claim."""
    done = payments.refund(ctx, actor=admin, settlement_id=books.refunded["settlement_id"], idempotency_key="r3")
    assert done["status"] == "refunded"
    again = payments.refund(ctx, actor=admin, settlement_id=books.refunded["settlement_id"], idempotency_key="r3")
    assert again == done
    assert checkpoints.verify(ctx).ok


# --- edits behind the services' back are named -----------------------------------------------------------


def test_a_settlements_split_edited_is_named(ctx, backend, books):
    sid = books.newest["settlement_id"]
    tamper(ctx, backend, ("UPDATE settlements SET account_paid_fen = account_paid_fen - 500, cash_fen = cash_fen + 500"
                          " WHERE id = :s", {"s": sid}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("settlements", sid)
    assert "altered" in first.reason_en


def test_a_deleted_settlement_whose_entry_stays_is_named(ctx, backend, books):
    sid = books.newest["settlement_id"]
    tamper(ctx, backend, ("DELETE FROM settlements WHERE id = :s", {"s": sid}))
    done = checkpoints.verify(ctx)
    assert (done.breaks[0].table, done.breaks[0].row) == ("settlements", sid)
    assert "removed" in done.breaks[0].reason_en
    assert any(f"ledger entry {books.newest['entry_id']} remains" in b.reason_en for b in done.breaks)


def test_the_newest_audit_record_of_an_entity_deleted_is_named_against_the_checkpoint(ctx, admin, backend, books):
    checkpoints.checkpoint(ctx, actor=admin)
    newest = one(ctx, "SELECT id, seq FROM audit_records WHERE entity = 'card' AND entity_id = :c ORDER BY seq DESC "
                      "LIMIT 1", c=books.frozen_card)
    tamper(ctx, backend, ("DELETE FROM audit_records WHERE id = :r", {"r": newest.id}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("audit_records", f"card {books.frozen_card} #{newest.seq}")
    assert "removed" in first.reason_en and "checkpoint #1" in first.reason_en


def test_a_stored_idempotency_answer_edited_is_named(ctx, backend, books):
    scope = f"settlement:{books.institution_code}"
    forged = {**books.newest, "account_paid_fen": 0, "cash_fen": books.newest["total_fen"]}
    tamper(ctx, backend, ("UPDATE idempotency_keys SET response = :r WHERE scope = :s AND key = 's2'",
                          {"r": json.dumps(forged), "s": scope}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("idempotency_keys", f"{scope}/s2")


def rechain(ctx, backend, account_id: str, *statements: tuple[str, dict]) -> None:
    """Apply the edits, then recompute every hash of the account's chain and move its head, as a careful insider
    would: the chain holds together again."""
    tamper(ctx, backend, *statements)
    with ctx.uow() as uow:
        repo = LedgerRepository(uow.session)
        ids = list(uow.session.scalars(sa.text(
            "SELECT id FROM ledger_entries WHERE anchor_account_id = :a ORDER BY anchor_seq"), {"a": account_id}))
        entries = [repo.entry(e) for e in ids]
    prev, fixes = chain.GENESIS, []
    for entry in entries:
        entry.prev_hash = prev
        prev = entry_hash(entry)
        fixes.append(("UPDATE ledger_entries SET prev_hash = :p, hash = :h WHERE id = :e",
                      {"p": entry.prev_hash, "h": prev, "e": entry.id}))
    tamper(ctx, backend, *fixes, ("UPDATE ledger_accounts SET chain_head = :h WHERE id = :a",
                                  {"h": prev, "a": account_id}))


def test_a_forged_posting_with_its_entry_hash_recomputed_and_the_head_moved_is_named(ctx, backend, books):
    entry_id, personal = books.refunded["entry_id"], acct.personal(books.person_id)
    # 100 fen more taken from the person and paid to the institution; the balance row follows.
    rechain(ctx, backend, personal,
            ("UPDATE ledger_postings SET amount_fen = amount_fen - 100 WHERE entry_id = :e AND account_id = :a "
             "AND id = (SELECT min(id) FROM ledger_postings WHERE entry_id = :e AND account_id = :a)",
             {"e": entry_id, "a": personal}),
            ("UPDATE ledger_postings SET amount_fen = amount_fen + 100 WHERE entry_id = :e AND account_id = :i",
             {"e": entry_id, "i": acct.institution_payable(books.institution_code)}),
            ("UPDATE ledger_accounts SET posted_fen = posted_fen - 100, current_year_fen = current_year_fen - 100 "
             "WHERE id = :a", {"a": personal}))
    first = first_break(ctx)
    assert (first.table, first.row.split()[0]) == ("ledger_entries", entry_id)
    assert "altered" in first.reason_en


def test_an_unsealed_entry_rewritten_with_its_chain_is_named_against_the_checkpoint(ctx, admin, backend, books):
    checkpoints.checkpoint(ctx, actor=admin)
    personal = acct.personal(books.late_person)  # its one entry, a contribution, sealed by no audit record
    entry_id = one(ctx, "SELECT id FROM ledger_entries WHERE anchor_account_id = :a", a=personal).id
    rechain(ctx, backend, personal, ("UPDATE ledger_entries SET memo = 'edited' WHERE id = :e", {"e": entry_id}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("ledger_entries", f"{entry_id} ({personal} #1)")
    assert "checkpoint #1" in first.reason_en and "rewritten" in first.reason_en


def test_an_application_step_edited_is_named(ctx, backend, books):
    step = one(ctx, "SELECT id FROM application_steps WHERE application_id = :a AND to_status = 'approved'",
               a=books.application["application_id"])
    tamper(ctx, backend, ("UPDATE application_steps SET actor = 'someone-else' WHERE id = :s", {"s": step.id}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("application_steps", str(step.id))


def test_an_application_moved_without_a_step_is_named(ctx, backend, books):
    app_id = books.application["application_id"]
    tamper(ctx, backend, ("UPDATE applications SET status = 'paid' WHERE id = :a", {"a": app_id}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("applications", app_id)
    assert "last step" in first.reason_en


def test_a_voucher_edited_is_named(ctx, backend, books):
    voucher = one(ctx, "SELECT code FROM vouchers ORDER BY created_at LIMIT 1")
    tamper(ctx, backend, ("UPDATE vouchers SET person_id = :p WHERE code = :c",
                          {"p": books.person_id, "c": voucher.code}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("vouchers", voucher.code)


def test_a_cash_voucher_edited_is_named(ctx, backend, books):
    code = one(ctx, "SELECT code FROM cash_vouchers").code
    tamper(ctx, backend, ("UPDATE cash_vouchers SET amount_fen = amount_fen * 10 WHERE code = :c", {"c": code}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("cash_vouchers", code)


def test_a_row_added_behind_the_services_back_is_named(ctx, backend, books):
    tamper(ctx, backend, ("INSERT INTO refunds (id, settlement_id, amount_fen, entry_id, at, actor) "
                          "SELECT 'rfd_forged', settlement_id, 1, entry_id, at, actor FROM refunds", {}))
    first = first_break(ctx)
    assert (first.table, first.row) == ("refunds", "rfd_forged")
    assert "no seal" in first.reason_en


# --- the newest record of every chain kind ---------------------------------------------------------------


def _newest(ctx, books, kind: str) -> tuple[list[tuple[str, dict]], str, str]:
    """How to remove the newest record of one kind: (statements, the table named, the row named)."""
    if kind == "ledger_entries":  # the late person's one entry: the account is put back as if it never was
        personal = acct.personal(books.late_person)
        e = one(ctx, "SELECT e.id, p.amount_fen FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id "
                     "AND p.account_id = :a WHERE e.anchor_account_id = :a", a=personal)
        return ([("DELETE FROM ledger_postings WHERE entry_id = :e", {"e": e.id}),
                 ("DELETE FROM ledger_entries WHERE id = :e", {"e": e.id}),
                 ("UPDATE ledger_accounts SET chain_head = '', chain_length = 0, posted_fen = 0, current_year_fen = 0 "
                  "WHERE id = :a", {"a": personal})], "ledger_entries", f"{personal} #1")
    if kind == "audit_records":
        r = one(ctx, "SELECT id, seq FROM audit_records WHERE entity = 'card' AND entity_id = :c ORDER BY seq DESC "
                     "LIMIT 1", c=books.frozen_card)
        return [("DELETE FROM audit_records WHERE id = :r", {"r": r.id})], kind, f"card {books.frozen_card} #{r.seq}"
    if kind == "settlements":
        sid = books.newest["settlement_id"]
        return [("DELETE FROM settlements WHERE id = :s", {"s": sid})], kind, sid
    if kind == "idempotency_keys":
        scope = f"settlement:{books.institution_code}"
        return ([("DELETE FROM idempotency_keys WHERE scope = :s AND key = 's2'", {"s": scope})], kind,
                f"{scope}/s2")
    key = {"refunds": "id", "application_steps": "id", "vouchers": "code", "cash_vouchers": "code"}[kind]
    order = {"refunds": "at DESC", "application_steps": "id DESC", "vouchers": "created_at DESC",
             "cash_vouchers": "issued_at DESC"}[kind]
    row = one(ctx, f"SELECT {key} FROM {kind} ORDER BY {order} LIMIT 1")
    return [(f"DELETE FROM {kind} WHERE {key} = :k", {"k": row[0]})], kind, str(row[0])


KINDS = ["ledger_entries", "audit_records", "settlements", "refunds", "application_steps", "vouchers",
         "cash_vouchers", "idempotency_keys"]


@pytest.mark.parametrize("kind", KINDS)
def test_removing_the_newest_record_of_each_chain_kind_is_named(ctx, admin, backend, books, kind):
    checkpoints.checkpoint(ctx, actor=admin)
    statements, table, row = _newest(ctx, books, kind)
    tamper(ctx, backend, *statements)
    first = first_break(ctx)
    assert (first.table, first.row) == (table, row), first
    assert "removed" in first.reason_en


# --- the checkpoint file itself ----------------------------------------------------------------------------


def _three_checkpoints(ctx, admin, books) -> list[str]:
    checkpoints.checkpoint(ctx, actor=admin)
    payments.refund(ctx, actor=admin, settlement_id=books.newest["settlement_id"], idempotency_key="r2",
                      amount_fen=500)
    checkpoints.checkpoint(ctx, actor=admin)
    checkpoints.checkpoint(ctx, actor=admin)
    return ctx.settings.checkpoint_file.read_text().splitlines()


def test_a_checkpoint_line_edited_is_named(ctx, admin, books):
    lines = _three_checkpoints(ctx, admin, books)
    second = json.loads(lines[1])
    second["counts"]["settlements"] = 1  # as if a settlement had not been there
    lines[1] = json.dumps(second, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    ctx.settings.checkpoint_file.write_text("\n".join(lines) + "\n")
    done = checkpoints.verify(ctx)
    assert (done.breaks[0].table, done.breaks[0].row) == ("checkpoints", "line 2")
    assert "signature" in done.breaks[0].reason_en
    assert ("checkpoints", "line 3") == (done.breaks[1].table, done.breaks[1].row)  # its link to line 2 too
    with pytest.raises(errors.CheckpointFileBroken):
        checkpoints.checkpoint(ctx, actor=admin)


def test_a_checkpoint_line_removed_is_named(ctx, admin, books):
    lines = _three_checkpoints(ctx, admin, books)
    ctx.settings.checkpoint_file.write_text("\n".join([lines[0], lines[2]]) + "\n")
    first = first_break(ctx)
    assert (first.table, first.row) == ("checkpoints", "line 2")
    assert "removed" in first.reason_en


def test_the_auditors_copy_catches_what_a_shortened_file_hides(ctx, admin, backend, books, tmp_path):
    copy = tmp_path / "auditor" / "checkpoints.jsonl"
    checkpoints.checkpoint(ctx, actor=admin, copy_to=copy)
    newest = one(ctx, "SELECT id, seq FROM audit_records WHERE entity = 'card' AND entity_id = :c ORDER BY seq DESC "
                      "LIMIT 1", c=books.frozen_card)
    tamper(ctx, backend, ("DELETE FROM audit_records WHERE id = :r", {"r": newest.id}))
    ctx.settings.checkpoint_file.write_text("")  # the insider empties the file on the server as well
    assert checkpoints.verify(ctx).ok  # nothing left here to tell
    done = checkpoints.verify(ctx, path=copy)
    assert (done.breaks[0].table, done.breaks[0].row) == ("audit_records", f"card {books.frozen_card} #{newest.seq}")


def test_a_checkpoint_signed_with_another_key_is_named(ctx, admin, books):
    checkpoints.checkpoint(ctx, actor=admin)
    ctx.settings.checkpoint_key = "another-key-of-at-least-16-bytes"
    first = first_break(ctx)
    assert (first.table, first.row) == ("checkpoints", "line 1") and "another key" in first.reason_en


# --- rows written before seals existed ---------------------------------------------------------------------


def test_rows_from_before_the_seals_are_sealed_as_they_are_by_the_migration(ctx, books):
    from alembic import command
    from alembic.script import ScriptDirectory

    from yibao.store.migrate import alembic_config, upgrade

    before = ScriptDirectory.from_config(alembic_config()).get_revision("0016").down_revision
    with ctx.engine.begin() as conn:
        command.downgrade(alembic_config(conn), before)
        conn.execute(sa.text("INSERT INTO refunds (id, settlement_id, amount_fen, entry_id, at, actor) "
                             "SELECT 'rfd_older', settlement_id, amount_fen, entry_id, at, actor FROM refunds"))
    # as a service of that time wrote it, without a seal (today's verify reads columns added since: it runs after
    # the upgrade)
    upgrade(ctx.engine)
    done = checkpoints.verify(ctx)
    assert done.ok, done.breaks
    assert one(ctx, "SELECT count(*) FROM audit_records WHERE entity = 'baseline'")[0] >= 6
