"""The pure rules of ledger entries the writer applies: split debits, what a reversal may undo, an entry's hash."""

from __future__ import annotations

import datetime as dt

import pytest

from yibao.ledger import accounts as acct
from yibao.ledger import chain
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import (
    NOT_REVERSIBLE,
    THIS_YEAR_FIRST,
    Entry,
    EntryKind,
    LedgerInvariantBroken,
    Posting,
    check_first,
    debit,
    entry_hash,
    entry_head,
    split_taken,
)

AT = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
ME, YOU = acct.personal("p1"), acct.personal("p2")
PHARMACY = acct.institution_payable("P1")


def test_one_split_debit_per_personal_account_and_only_there():
    check_first([Posting(ME, -5, THIS_YEAR_FIRST), Posting(YOU, -5, THIS_YEAR_FIRST), Posting(PHARMACY, 10)])
    with pytest.raises(LedgerInvariantBroken):
        check_first([Posting(ME, -5, THIS_YEAR_FIRST), Posting(ME, -5, THIS_YEAR_FIRST), Posting(PHARMACY, 10)])
    with pytest.raises(LedgerInvariantBroken):
        check_first([Posting(ME, 5), Posting(PHARMACY, -5, THIS_YEAR_FIRST)])


def test_a_split_debit_takes_what_was_taken_from_this_year_and_the_rest_from_before():
    asked = Posting(ME, -700, THIS_YEAR_FIRST)
    assert split_taken(asked, 500) == [Posting(ME, -500, Bucket.CURRENT_YEAR), Posting(ME, -200, Bucket.CARRIED_OVER)]
    assert split_taken(asked, 700) == [Posting(ME, -700, Bucket.CURRENT_YEAR)]
    assert split_taken(asked, 0) == [Posting(ME, -700, Bucket.CARRIED_OVER)]
    assert split_taken(Posting(PHARMACY, 700), 0) == [Posting(PHARMACY, 700)]


def test_a_debit_of_a_personal_account_spends_this_years_money_first():
    mine = acct.new_account(ME, AccountKind.PERSONAL, "110000", AT, person_id="p1")
    mine.posted_fen, mine.current_year_fen = 1_000, 300
    assert debit(mine, 500) == [Posting(ME, -300, Bucket.CURRENT_YEAR), Posting(ME, -200, Bucket.CARRIED_OVER)]
    quota = acct.new_account(acct.quota("p1", "daily", "2026-03-02"), AccountKind.QUOTA, "110000", AT)
    assert debit(quota, 500) == [Posting(quota.id, -500)]


def test_a_reversal_and_a_year_end_are_not_undone_by_a_reversal():
    assert NOT_REVERSIBLE == {EntryKind.REVERSAL, EntryKind.YEAR_END}
    assert EntryKind.SETTLEMENT not in NOT_REVERSIBLE


def _entry(**kw) -> Entry:
    return Entry(id="ent_1", kind=EntryKind.SETTLEMENT, at=AT, business_date=dt.date(2026, 3, 2),
                 postings=[Posting(ME, -700, Bucket.CURRENT_YEAR), Posting(PHARMACY, 700)], memo="药店购药",
                 details={"institution": "P1"}, anchor_account_id=ME, anchor_seq=3, prev_hash="ab" * 32, **kw)


def test_an_entry_hash_covers_its_head_its_place_and_its_postings():
    entry = _entry()
    assert entry_head(entry) == chain.entry_head(
        id="ent_1", kind="settlement", at=AT, business_date=dt.date(2026, 3, 2), memo="药店购药",
        details={"institution": "P1"}, reverses_id=None, anchor_account_id=ME)
    assert entry_hash(entry) == chain.entry_link("ab" * 32, 3, entry_head(entry),
                                                 [(ME, -700, "current"), (PHARMACY, 700, None)])
    moved = _entry()
    moved.anchor_seq = 4
    assert entry_hash(moved) != entry_hash(entry)


def test_an_entry_of_the_first_link_format_hashes_as_it_was_written():
    entry = _entry(chain_v=1)
    assert entry_hash(entry) == chain.link("ab" * 32, chain.entry_content(
        id="ent_1", kind="settlement", at=AT, business_date=dt.date(2026, 3, 2), memo="药店购药",
        details={"institution": "P1"}, reverses_id=None, anchor_account_id=ME, anchor_seq=3,
        postings=[(ME, -700, "current"), (PHARMACY, 700, None)]))
    assert entry_hash(entry) != entry_hash(_entry())
