"""What the accounts area asks of the store: the ledger (accounts, entries, holds), the idempotency keys that make
money move once, and the requests to reverse an entry.

`Books` is the one writer on top of the ledger port: it locks, applies the ledger's rules and links entries; the
port only reads and writes rows. A store may answer a call by a faster path (on PostgreSQL one server-side call
locks, checks, links and writes an entry) behind the same method; `plain()` asks for the portable statements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from yibao.ledger.accounts import Account
from yibao.ledger.entries import AccountLine, Entry, Posting
from yibao.ledger.holds import Hold
from yibao.ledger.keys import KeptAnswer
from yibao.ledger.reversals import ReversalRequest


class LedgerStore(Protocol):
    """The ledger's rows in this unit of work. Guarded accounts come back locked when asked (`lock=True`)."""

    on_server: bool  # post_on_server may be called: the store locks, checks, links and writes an entry in one call

    def plain(self) -> LedgerStore:
        """The same ledger on the portable statements only (tests compare both paths)."""

    # --- accounts ---------------------------------------------------------------------------------

    def open_accounts(self, accounts: Iterable[Account]) -> None:
        """Create the accounts that do not exist yet; existing ones are left as they are."""

    def open_new(self, accounts: Iterable[Account]) -> set[str]:
        """Create the accounts that do not exist yet; the ids this call created (exactly one caller is told)."""

    def accounts(self, ids: Iterable[str], *, lock: bool = False) -> dict[str, Account]:
        """The accounts among these ids that exist, by id (locked in id order when asked)."""

    def lock_and_find(self, locked: Iterable[str], seen: Iterable[str]) -> dict[str, Account]:
        """The accounts `locked` (locked) and `seen` (not locked) that exist, by id."""

    def save_accounts(self, accounts: Iterable[Account]) -> None:
        """Write the balance and chain columns of changed accounts."""

    def personal_accounts_with_current_year(self, *, after_id: str = "", limit: int = 1000) -> list[str]:
        """Ids of personal accounts holding money of this year, after `after_id`, in id order."""

    def all_accounts(self) -> list[Account]:
        """Every account, in id order."""

    # --- entries ----------------------------------------------------------------------------------

    def write_entries(self, entries: list[Entry], accounts: Iterable[Account]) -> None:
        """Write checked, linked entries with their postings, and the accounts they changed."""

    def post_on_server(self, entry: Entry, head: str,
                       lock: list[str]) -> tuple[str, list[int], dict[str, Account]] | None:
        """Lock, check, link and write one entry in one call (only when `on_server`): (its anchor's previous hash,
        what each posting took from this year's money, the locked accounts as they now are); None when an
        account is short or missing, with nothing written."""

    def entry(self, entry_id: str) -> Entry | None:
        """The entry with its postings."""

    def postings_of(self, entry_id: str) -> list[Posting]:
        """An entry's postings in the order they were written."""

    def reversal_of(self, entry_id: str) -> str | None:
        """The id of the entry reversing this one, if any."""

    def account_lines(self, account_id: str, *, date_from: dt.date | None, date_to: dt.date | None,
                      limit: int) -> tuple[int, list[AccountLine]]:
        """(balance before date_from, one line per entry touching the account in [date_from, date_to], oldest
        first, at most `limit`)."""

    def current_credits_after(self, account_id: str, day: dt.date) -> int:
        """Money credited to the account's current-year part after a day (it belongs to the next year)."""

    # --- holds ------------------------------------------------------------------------------------

    def add_hold(self, hold: Hold) -> None: ...

    def hold(self, hold_id: str, *, lock: bool = False) -> Hold | None: ...

    def save_hold(self, hold: Hold) -> None:
        """Write a hold's status, what it captured, when it closed and its entry."""

    def expired_holds(self, account_id: str, now: dt.datetime) -> list[Hold]:
        """The account's pending holds whose time is up at `now`."""

    def accounts_with_expired_holds(self, now: dt.datetime) -> list[str]:
        """Ids of accounts with a pending hold whose time is up, in id order."""

    def pending_holds(self, account_id: str) -> list[Hold]:
        """The account's pending holds, oldest first."""

    def hold_behind_bank_line(self, hold_id: str) -> bool:
        """Whether the hold stands behind a line sent to the bank and not settled yet."""

    def payout_of_hold(self, hold_id: str) -> str | None:
        """The application whose payout (a disbursement line or a cash voucher) the hold is behind, if any."""


class IdempotencyKeys(Protocol):
    """Idempotency keys, claimed in the same transaction as the money they guard."""

    def claim_key(self, scope: str, key: str, request_hash: str, now: dt.datetime) -> bool:
        """True if this request now owns the key; the first to commit wins a race."""

    def key_row(self, scope: str, key: str) -> KeptAnswer | None:
        """What a claimed key holds."""

    def store_response(self, scope: str, key: str, response: dict) -> None:
        """Keep the answer of the request that claimed the key."""

    def seal_answers(self, at: dt.datetime, seals: list[list]) -> None:
        """Add the audit record that seals answers written without a use case's own record."""


class ReversalRequests(Protocol):
    """Requests to reverse an entry, waiting for a second admin or decided."""

    def get(self, reversal_id: str, *, lock: bool = False) -> ReversalRequest | None: ...

    def pending_for(self, entry_id: str) -> ReversalRequest | None:
        """The request for this entry that waits for a decision, if any."""

    def add(self, request: ReversalRequest) -> None: ...

    def decide(self, reversal_id: str, *, status: str, decided_by: str, decided_at: dt.datetime, note: str,
               reversal_entry_id: str | None = None) -> None:
        """Record a decision on a request."""

    def listed(self, *, status: str | None, limit: int) -> list[ReversalRequest]:
        """Requests (of a status, when given), oldest first."""
