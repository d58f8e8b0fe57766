"""The database keeps the ledger's promises on its own, whatever code writes to it (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from tests.support import build_world
from yibao.services.accounts import contributions
from yibao.store.tables import ledger_accounts, ledger_entries, ledger_postings

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@pytest.fixture
def credited(ctx, admin):
    world = build_world(ctx, admin)
    result = contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2026-01",
                                  base_fen=1_000_000, employer_id=world.employer_id)
    return world, result["contribution_id"], f"personal:{world.person.id}"


def entry_row(entry_id: str) -> dict:
    return {"id": entry_id, "kind": "contribution", "at": NOW, "business_date": NOW.date(), "memo": "",
            "details": {}, "anchor_account_id": "contribution_clearing:110000", "anchor_seq": 999,
            "prev_hash": "", "hash": "x" * 64}


def counts(ctx) -> tuple[int, int]:
    with ctx.engine.connect() as conn:
        return tuple(conn.scalar(sa.select(sa.func.count()).select_from(t)) for t in (ledger_entries, ledger_postings))


def refused(ctx, *statements) -> None:
    """The statements, in one transaction, are refused and leave nothing behind."""
    before = counts(ctx)
    with pytest.raises(DBAPIError):
        with ctx.engine.begin() as conn:
            for statement, params in statements:
                conn.execute(statement, params)
    assert counts(ctx) == before


def postings(entry_id: str, account: str, *amounts: int):
    legs = [(account, amounts[0])] + [("contribution_clearing:110000", a) for a in amounts[1:]]
    return ledger_postings.insert(), [{"entry_id": entry_id, "account_id": a, "amount_fen": x, "bucket": None}
                                      for a, x in legs]


def test_an_entry_whose_postings_do_not_sum_to_zero_is_refused(ctx, credited):
    _, _, account = credited
    refused(ctx, postings("ent_unbalanced0001", account, 500, -499),
            (ledger_entries.insert(), entry_row("ent_unbalanced0001")))


def test_an_entry_with_one_posting_is_refused(ctx, credited):
    one = {"entry_id": "ent_onelegged00001", "account_id": "contribution_clearing:110000", "amount_fen": 1,
           "bucket": None}
    refused(ctx, (ledger_postings.insert(), [one]), (ledger_entries.insert(), entry_row("ent_onelegged00001")))


def test_postings_without_their_entry_are_refused_at_commit(ctx, credited):
    _, _, account = credited
    refused(ctx, postings("ent_orphan00000001", account, 500, -500))


def test_a_posting_cannot_join_a_recorded_entry(ctx, credited):
    _, entry_id, account = credited
    refused(ctx, postings(entry_id, account, 100, -100))


@pytest.mark.parametrize("statement", [
    sa.text("UPDATE ledger_postings SET amount_fen = amount_fen * 2"),
    sa.text("DELETE FROM ledger_postings"),
    sa.text("UPDATE ledger_entries SET memo = 'edited'"),
    sa.text("DELETE FROM ledger_entries"),
], ids=["update posting", "delete posting", "update entry", "delete entry"])
def test_entries_and_postings_are_append_only(ctx, credited, statement):
    refused(ctx, (statement, {}))


def test_a_zero_posting_is_refused(ctx, credited):
    _, _, account = credited
    refused(ctx, postings("ent_zero0000000001", account, 0, 0), (ledger_entries.insert(), entry_row("ent_zero0000000001")))


@pytest.mark.parametrize("change", [
    {"posted_fen": -1, "current_year_fen": 0},  # below zero
    {"pending_fen": 20_001},  # more held than there is
    {"pending_fen": -1},
    {"current_year_fen": 20_001},  # this year's part larger than the balance
    {"posted_fen": None},  # a personal account always keeps its balance row
], ids=["below zero", "held above balance", "negative hold", "current above balance", "no balance"])
def test_a_personal_balance_row_cannot_break_its_rules(ctx, credited, change):
    _, _, account = credited
    a = ledger_accounts
    with pytest.raises(DBAPIError):
        with ctx.engine.begin() as conn:
            conn.execute(a.update().where(a.c.id == account).values(**change))
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(a.c.posted_fen, a.c.pending_fen, a.c.current_year_fen)
                            .where(a.c.id == account)).one() == (20_000, 0, 20_000)
