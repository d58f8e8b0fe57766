"""The ledger, the idempotency keys and the reversal requests in memory, behind the ports of services.accounts.

Rows live in `FakeStore.rows` (accounts, entries and holds by id, keys by (scope, key), reversal requests by id).
A unit of work reads copies, as a database hands out rows, and what it writes is kept only when it commits: an
entry refused halfway changes nothing. Locks are no-ops (one writer at a time); `on_server` is False, so the
writer always takes its portable path, the one SQLite takes.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Iterable

from yibao.domain.applications import CashVoucher
from yibao.domain.audit import AuditRecord
from yibao.domain.ids import new_id
from yibao.ledger.accounts import Account, Bucket
from yibao.ledger.chain import link_audit
from yibao.ledger.entries import AccountLine, Entry, LedgerInvariantBroken, Posting
from yibao.ledger.holds import Hold, HoldStatus
from yibao.ledger.keys import KeptAnswer
from yibao.ledger.reversals import ReversalRequest

PENDING = str(HoldStatus.PENDING)


class _Rows:
    """One kind of row as a unit of work sees it: what is kept, overlaid by what it wrote and has not committed."""

    def __init__(self, uow, cls: type) -> None:
        self.uow, self.kept, self.new = uow, uow.store.rows[cls], {}

    def get(self, key):
        found = self.new.get(key, self.kept.get(key))
        return copy.copy(found)

    def __contains__(self, key) -> bool:
        return key in self.new or key in self.kept

    def put(self, key, row) -> None:
        if not self.new:
            self.uow.before_commit(self.keep)  # after the hooks already there (a writer's last balance rows)
        self.new[key] = copy.copy(row)

    def values(self) -> list:
        return [copy.copy(r) for r in {**self.kept, **self.new}.values()]

    def keep(self) -> None:
        self.kept.update(self.new)
        self.new.clear()


class FakeLedger:
    on_server = False

    def __init__(self, uow) -> None:
        self.uow = uow
        self._accounts = _Rows(uow, Account)
        self._entries = _Rows(uow, Entry)
        self._holds = _Rows(uow, Hold)

    def plain(self) -> FakeLedger:
        return self

    # --- accounts ---------------------------------------------------------------------------------

    def open_accounts(self, accounts: Iterable[Account]) -> None:
        self.open_new(accounts)

    def open_new(self, accounts: Iterable[Account]) -> set[str]:
        created = set()
        for account in sorted(accounts, key=lambda a: a.id):
            if account.id not in self._accounts:
                self._accounts.put(account.id, account)
                created.add(account.id)
        return created

    def accounts(self, ids: Iterable[str], *, lock: bool = False) -> dict[str, Account]:
        return {i: self._accounts.get(i) for i in sorted(set(ids)) if i in self._accounts}

    def lock_and_find(self, locked: Iterable[str], seen: Iterable[str]) -> dict[str, Account]:
        return self.accounts(locked, lock=True) | self.accounts(seen)

    def save_accounts(self, accounts: Iterable[Account]) -> None:
        for account in accounts:
            self._accounts.put(account.id, account)

    def personal_accounts_with_current_year(self, *, after_id: str = "", limit: int = 1000) -> list[str]:
        return sorted(a.id for a in self._accounts.values()
                      if a.kind == "personal" and (a.current_year_fen or 0) > 0 and a.id > after_id)[:limit]

    def all_accounts(self) -> list[Account]:
        return sorted(self._accounts.values(), key=lambda a: a.id)

    # --- entries ----------------------------------------------------------------------------------

    def write_entries(self, entries: list[Entry], accounts: Iterable[Account]) -> None:
        for entry in entries:  # what the database checks itself
            if sum(p.amount_fen for p in entry.postings):
                raise LedgerInvariantBroken(f"entry {entry.id} does not sum to zero")
            missing = sorted({p.account_id for p in entry.postings} - {a for a in self.accounts(
                p.account_id for p in entry.postings)})
            if missing:
                raise LedgerInvariantBroken(f"accounts not opened: {missing}")
            self._entries.put(entry.id, entry)
        self.save_accounts(accounts)

    def post_on_server(self, entry: Entry, head: str, lock: list[str]):
        raise NotImplementedError("the ledger in memory has no server")

    def entry(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def postings_of(self, entry_id: str) -> list[Posting]:
        entry = self._entries.get(entry_id)
        return list(entry.postings) if entry else []

    def reversal_of(self, entry_id: str) -> str | None:
        return next((e.id for e in self._entries.values() if e.reverses_id == entry_id), None)

    def _touching(self, account_id: str) -> list[tuple[Entry, list[Posting]]]:
        found = []
        for entry in self._entries.values():
            mine = [p for p in entry.postings if p.account_id == account_id]
            if mine:
                found.append((entry, mine))
        return found

    def account_lines(self, account_id: str, *, date_from: dt.date | None, date_to: dt.date | None,
                      limit: int) -> tuple[int, list[AccountLine]]:
        opening, lines = 0, []
        for entry, mine in self._touching(account_id):
            if date_from is not None and entry.business_date < date_from:
                opening += sum(p.amount_fen for p in mine)
            elif date_to is None or entry.business_date <= date_to:
                lines.append(AccountLine(
                    entry.id, entry.kind, entry.at, entry.business_date, entry.memo, entry.details, entry.reverses_id,
                    sum(p.amount_fen for p in mine),
                    sum(p.amount_fen for p in mine if p.bucket == Bucket.CURRENT_YEAR)))
        return opening, lines[:limit]

    def current_credits_after(self, account_id: str, day: dt.date) -> int:
        return sum(p.amount_fen for entry, mine in self._touching(account_id) if entry.business_date > day
                   for p in mine if p.bucket == Bucket.CURRENT_YEAR and p.amount_fen > 0)

    # --- holds ------------------------------------------------------------------------------------

    def add_hold(self, hold: Hold) -> None:
        self._holds.put(hold.id, hold)

    def hold(self, hold_id: str, *, lock: bool = False) -> Hold | None:
        return self._holds.get(hold_id)

    def save_hold(self, hold: Hold) -> None:
        self._holds.put(hold.id, hold)

    def _pending(self) -> list[Hold]:
        return [h for h in self._holds.values() if str(h.status) == PENDING]

    def expired_holds(self, account_id: str, now: dt.datetime) -> list[Hold]:
        return sorted((h for h in self._pending() if h.account_id == account_id and h.expires_at <= now),
                      key=lambda h: h.id)

    def accounts_with_expired_holds(self, now: dt.datetime) -> list[str]:
        return sorted({h.account_id for h in self._pending() if h.expires_at <= now})

    def pending_holds(self, account_id: str) -> list[Hold]:
        return sorted((h for h in self._pending() if h.account_id == account_id), key=lambda h: h.created_at)

    def hold_behind_bank_line(self, hold_id: str) -> bool:
        return any(line["hold_id"] == hold_id and line["status"] == "pending"
                   for line in self.uow.store.tables["disbursement_lines"])

    def payout_of_hold(self, hold_id: str) -> str | None:
        line = next((row for row in self.uow.store.tables["disbursement_lines"] if row["hold_id"] == hold_id), None)
        if line is not None:
            return line["application_id"]
        cash = self.uow.one_by(CashVoucher, hold_id=hold_id)  # cash vouchers are entities, kept by code
        return None if cash is None else cash.application_id


class FakeKeys:
    def __init__(self, uow) -> None:
        self.uow = uow
        self._keys = _Rows(uow, KeptAnswer)

    def claim_key(self, scope: str, key: str, request_hash: str, now: dt.datetime) -> bool:
        if (scope, key) in self._keys:
            return False
        self._keys.put((scope, key), KeptAnswer(request_hash, None))
        return True

    def key_row(self, scope: str, key: str) -> KeptAnswer | None:
        return self._keys.get((scope, key))

    def store_response(self, scope: str, key: str, response: dict) -> None:
        kept = self._keys.get((scope, key))
        self._keys.put((scope, key), KeptAnswer(kept.request_hash, response))

    def seal_answers(self, at: dt.datetime, seals: list[list]) -> None:
        self.uow.add(link_audit(AuditRecord(at=at, actor="system", action="idempotency.answer",
                                            entity="idempotency", entity_id=new_id("ans"),
                                            details={"seals": seals})))


class FakeReversals:
    def __init__(self, uow) -> None:
        self._requests = _Rows(uow, ReversalRequest)

    def get(self, reversal_id: str, *, lock: bool = False) -> ReversalRequest | None:
        return self._requests.get(reversal_id)

    def pending_for(self, entry_id: str) -> ReversalRequest | None:
        return next((r for r in self._requests.values() if r.entry_id == entry_id and r.status == "pending"), None)

    def add(self, request: ReversalRequest) -> None:
        if self.pending_for(request.entry_id) is not None:  # the database's one-pending-per-entry index
            raise self._conflict()
        self._requests.put(request.id, request)

    def _conflict(self) -> Exception:
        return self._requests.uow._conflict or KeyError("reversal_requests")

    def decide(self, reversal_id: str, *, status: str, decided_by: str, decided_at: dt.datetime, note: str,
               reversal_entry_id: str | None = None) -> None:
        request = self._requests.get(reversal_id)
        self._requests.put(reversal_id, dataclasses.replace(
            request, status=status, decided_by=decided_by, decided_at=decided_at, note=note,
            reversal_entry_id=reversal_entry_id or request.reversal_entry_id))

    def listed(self, *, status: str | None, limit: int) -> list[ReversalRequest]:
        found = [r for r in self._requests.values() if not status or r.status == status]
        return sorted(found, key=lambda r: (r.requested_at, r.id))[:limit]
