"""Books: the ledger writer of one unit of work. Every movement of money goes through here.

It locks the guarded accounts an entry touches (in id order), applies the pure ledger rules,
chains the entry onto its anchor account and writes postings, entry and balance rows in the
same transaction as the use case that asked for them. Balance rows changed by holds alone are
written just before the unit of work commits.

On PostgreSQL a payment whose caller read the accounts first (to decide with their balances) costs two
round trips besides the transaction's own: the lock, and the entry written by one server-side call. One
whose accounts were not read is one call in all: the database locks, checks, links and writes it with the
same rules. Which statements run is the ledger repository's business (`uow.ledger`); `plain=True` takes its
portable statements, which SQLite always takes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from yibao.domain import errors
from yibao.domain.clock import local_date
from yibao.domain.ids import new_id
from yibao.ledger import entries as ledger
from yibao.ledger.accounts import Account, AccountKind, is_guarded, kind_of, new_account, unit_of
from yibao.ledger.entries import NOT_REVERSIBLE, Entry, EntryKind, Posting, entry_hash, entry_head
from yibao.ledger.holds import Hold, HoldStatus
from yibao.services.accounts.ports import LedgerStore
from yibao.services.ports import UnitOfWork


class Books:
    def __init__(self, uow: UnitOfWork, now: dt.datetime, *, plain: bool = False) -> None:
        self.repo = uow.ledger.plain() if plain else uow.ledger
        self.now = now
        self._accounts: dict[str, Account] = {}  # loaded in this unit of work (guarded ones locked)
        self._dirty: dict[str, Account] = {}
        self._anchors: set[str] = set()
        self._failed = False  # a refused entry may have changed balances in memory only
        uow.before_commit(self.flush)  # balance rows changed by holds alone are written then

    # --- accounts -------------------------------------------------------------

    def open(self, account_id: str, kind: AccountKind, region: str, **owner) -> None:
        self.repo.open_accounts([new_account(account_id, kind, region, self.now, **owner)])

    def open_many(self, accounts: Iterable[tuple[str, AccountKind, str, dict]]) -> None:
        """Open many accounts in one statement: (id, kind, region, owner) each; existing ones stay as they are."""
        self.repo.open_accounts([new_account(a, kind, region, self.now, **owner) for a, kind, region, owner in accounts])

    def lock(self, account_ids: Iterable[str]) -> dict[str, Account]:
        """Load and lock the guarded accounts, in one sorted batch so writers never deadlock. Unguarded
        accounts are not read: many entries at once touch them, and the database checks they exist."""
        wanted = {a for a in account_ids if a not in self._accounts and is_guarded(a)}
        if wanted:
            self._accounts.update(self.repo.accounts(wanted, lock=True))
            missing = wanted - self._accounts.keys()
            if missing:
                raise ledger.LedgerInvariantBroken(f"accounts not opened: {sorted(missing)}")
        return self._accounts

    def open_and_lock(self, accounts: Iterable[Account]) -> set[str]:
        """Lock the guarded accounts among these, opening first any of them (guarded or not) that do not exist
        yet; the ids this call created. Existing ones cost one statement; missing ones one more to create
        them, in id order, and one to lock those a concurrent writer created meanwhile. (Guarded accounts of
        a person are created only by a writer holding the person's own account locked, which sorts first.)"""
        wanted = {a.id: a for a in accounts}
        guarded = [a for a in wanted if is_guarded(a) and a not in self._accounts]
        found = self.repo.lock_and_find(guarded, [a for a in wanted if not is_guarded(a)])
        self._accounts.update((a, found[a]) for a in guarded if a in found)
        missing = [account for account_id, account in wanted.items()
                   if account_id not in found and account_id not in self._accounts]
        created = self.repo.open_new(missing) if missing else set()
        # What this call inserted is locked by it and holds exactly what was inserted.
        self._accounts.update((a.id, a) for a in missing if a.id in created and is_guarded(a.id))
        self.lock(wanted)  # those a concurrent writer created first
        return created

    def account(self, account_id: str) -> Account:
        return self.lock([account_id])[account_id]

    # --- entries --------------------------------------------------------------

    def post(self, kind: EntryKind, postings: list[Posting], *, memo: str = "", details: dict | None = None,
             reverses_id: str | None = None) -> Entry:
        """Check, apply, link and write one entry. A personal debit may ask to be split (THIS_YEAR_FIRST).
        On PostgreSQL an entry none of whose accounts this writer has read yet is locked, checked, linked and
        written by one server-side call; if it finds an account short it writes nothing and the entry takes
        the ordinary path, which releases holds past their time and refuses with the facts."""
        postings = list(postings)
        ledger.check_first(postings)
        entry_id = new_id("ent")
        if self.repo.on_server and not self._failed and not any(p.account_id in self._accounts for p in postings):
            entry = self._post_on_server(entry_id, kind, postings, memo=memo, details=details or {},
                                         reverses_id=reverses_id)
            if entry is not None:
                return entry
        postings = self._split_first(postings)
        entry, changed = self._chain(kind, postings, memo=memo, details=details, reverses_id=reverses_id,
                                     entry_id=entry_id)
        self._write([entry], changed)
        return entry

    def _post_on_server(self, entry_id: str, kind: EntryKind, postings: list[Posting], *, memo: str, details: dict,
                        reverses_id: str | None) -> Entry | None:
        ledger.check_legs(postings)
        touched = sorted({p.account_id for p in postings})
        anchor_id = next((a for a in touched if is_guarded(a)), touched[0])
        entry = Entry(id=entry_id, kind=kind, at=self.now, business_date=local_date(self.now),
                      postings=postings, memo=memo, details=details, reverses_id=reverses_id,
                      anchor_account_id=anchor_id)
        try:
            found = self.repo.post_on_server(entry, entry_head(entry),
                                             sorted({a for a in touched if is_guarded(a)} | {anchor_id}))
        except Exception:
            self._failed = True
            raise
        if found is None:  # an account short, or missing: nothing was written
            return None
        prev_hash, taken, accounts = found
        entry.postings = [leg for p, took in zip(postings, taken, strict=True) for leg in ledger.split_taken(p, took)]
        anchor = accounts[anchor_id]
        entry.anchor_seq, entry.prev_hash, entry.hash = anchor.chain_length, prev_hash, anchor.chain_head
        self._accounts.update(accounts)
        self._anchors.add(anchor_id)
        return entry

    def _split_first(self, postings: list[Posting]) -> list[Posting]:
        asking = {p.account_id for p in postings if p.bucket == ledger.THIS_YEAR_FIRST}
        accounts = self.lock(asking)
        for account_id in asking:
            postings = ledger.split_first(accounts[account_id], postings)
        return postings

    def post_many(self, kind: EntryKind, entries: Iterable[tuple[list[Posting], str, dict]]) -> list[Entry]:
        """Post many entries (postings, memo, details) at once: their guarded accounts are locked in one
        sorted batch, each entry is checked and chained in turn exactly as post() does it, and all of them
        are written together (on PostgreSQL by COPY). One refused entry refuses them all."""
        entries = list(entries)
        if not entries:
            return []
        self.lock(p.account_id for postings, _memo, _details in entries for p in postings)
        written, changed = [], {}
        for postings, memo, details in entries:
            entry, touched = self._chain(kind, postings, memo=memo, details=details)
            written.append(entry)
            changed |= touched
        self._write(written, changed)
        return written

    def _chain(self, kind: EntryKind, postings: list[Posting], *, memo: str, details: dict | None,
               reverses_id: str | None = None, entry_id: str | None = None) -> tuple[Entry, dict[str, Account]]:
        """Check an entry against the rules, apply it to the accounts in memory and link it onto its anchor's
        chain; (the entry, the accounts it changed)."""
        accounts = self.lock(p.account_id for p in postings)
        touched = sorted({p.account_id for p in postings})
        ledger.check_balanced(postings, {a: accounts[a].unit if a in accounts else unit_of(a) for a in touched})
        try:
            for account_id in touched:
                if is_guarded(account_id):
                    self._apply(accounts[account_id], postings)
        except Exception:
            self._failed = True  # the unit of work must not commit what this writer holds now
            raise
        anchor_id = next((a for a in touched if is_guarded(a)), touched[0])
        if anchor_id not in self._anchors and not is_guarded(anchor_id):
            # An unguarded account is read and locked only when it anchors an entry, to extend its chain.
            found = self.repo.accounts([anchor_id], lock=True)
            if anchor_id not in found:
                raise ledger.LedgerInvariantBroken(f"account not opened: {anchor_id}")
            accounts[anchor_id] = found[anchor_id]
        self._anchors.add(anchor_id)
        anchor = accounts[anchor_id]
        entry = Entry(id=entry_id or new_id("ent"), kind=kind, at=self.now, business_date=local_date(self.now),
                      postings=postings, memo=memo, details=details or {}, reverses_id=reverses_id,
                      anchor_account_id=anchor_id, anchor_seq=anchor.chain_length + 1, prev_hash=anchor.chain_head)
        entry.hash = entry_hash(entry)
        anchor.chain_head, anchor.chain_length = entry.hash, entry.anchor_seq
        return entry, {a: accounts[a] for a in touched if is_guarded(a)} | {anchor_id: anchor}

    def _write(self, entries: list[Entry], changed: dict[str, Account]) -> None:
        try:
            self.repo.write_entries(entries, changed.values())
        except Exception:
            self._failed = True
            raise
        for account_id in changed:
            self._dirty.pop(account_id, None)

    def _apply(self, account: Account, postings: list[Posting]) -> None:
        try:
            ledger.apply(account, postings)
        except (errors.BalanceInsufficient, errors.QuotaExhausted):
            # Holds past their time still count until released; release them and look again.
            if not self.expire_holds(account):
                raise
            ledger.apply(account, postings)
        self._dirty[account.id] = account

    def reverse(self, entry_id: str, *, memo: str = "") -> Entry:
        original = reversible(self.repo, entry_id)
        return self.post(EntryKind.REVERSAL, self._reversal_legs(original.postings),
                         memo=memo or f"reversal of {entry_id}", details={"reverses_kind": original.kind},
                         reverses_id=entry_id)

    def _reversal_legs(self, postings: list[Posting]) -> list[Posting]:
        """The original negated; money a reversal takes out of a personal account comes from wherever it
        now is (this year's part first), since a year end may have moved it since."""
        legs = ledger.reversal_postings(postings)
        accounts = self.lock(p.account_id for p in legs)
        out: list[Posting] = []
        for account_id in dict.fromkeys(p.account_id for p in legs):
            mine = [p for p in legs if p.account_id == account_id]
            net = sum(p.amount_fen for p in mine)
            if kind_of(account_id) == AccountKind.PERSONAL and net < 0:
                out += ledger.debit_personal(accounts[account_id], -net)
            else:
                out += mine
        return out

    # --- holds ----------------------------------------------------------------

    def expire_holds(self, account: Account) -> list[Hold]:
        """Release the holds of a locked account whose time is up."""
        expired = self.repo.expired_holds(account.id, self.now)
        for hold in expired:
            hold.close("expire", self.now)
            ledger.release(account, hold.amount_fen)
            self.repo.save_hold(hold)
        if expired:
            self._dirty[account.id] = account
        return expired

    def reserve(self, account_id: str, counter_account_id: str, amount_fen: int, *, expires_at: dt.datetime,
                purpose: str) -> Hold:
        account = self.account(account_id)
        self.expire_holds(account)
        ledger.reserve(account, amount_fen)
        self._dirty[account.id] = account
        hold = Hold(id=new_id("hld"), account_id=account_id, counter_account_id=counter_account_id,
                    amount_fen=amount_fen, status=HoldStatus.PENDING, created_at=self.now, expires_at=expires_at,
                    purpose=purpose)
        self.repo.add_hold(hold)
        return hold

    def _locked_hold(self, hold_id: str) -> tuple[Hold, Account]:
        found = self.repo.hold(hold_id)
        if found is None:
            raise errors.HoldNotFound()
        account = self.account(found.account_id)  # account lock first, then the hold: the one order
        self.expire_holds(account)
        return self.repo.hold(hold_id, lock=True), account

    def _ensure_not_behind_bank_line(self, hold_id: str) -> None:
        """Only the bank's signed return settles the hold behind a line sent to the bank."""
        if self.repo.hold_behind_bank_line(hold_id):
            raise errors.HoldBehindBankLine(hold_id=hold_id)

    def capture(self, hold_id: str, amount_fen: int | None = None, *, memo: str = "",
                bank_return: bool = False) -> Entry:
        """Take all or part of a held amount; what is not taken becomes available again. The hold behind a line
        sent to the bank is taken only with the bank's return (`bank_return`)."""
        if not bank_return:
            self._ensure_not_behind_bank_line(hold_id)
        hold, account = self._locked_hold(hold_id)
        amount = hold.amount_fen if amount_fen is None else amount_fen
        hold.ensure_capturable(amount, self.now)
        ledger.release(account, hold.amount_fen)
        legs = ledger.debit(account, amount)
        entry = self.post(EntryKind.HOLD_CAPTURE, [*legs, Posting(hold.counter_account_id, amount)],
                          memo=memo or hold.purpose, details={"hold_id": hold.id})
        hold.close("capture", self.now)
        hold.captured_fen, hold.entry_id = amount, entry.id
        self.repo.save_hold(hold)
        return entry

    def void(self, hold_id: str, *, bank_return: bool = False) -> Hold:
        """Release a hold in full; the hold behind a line sent to the bank only with the bank's return."""
        if not bank_return:
            self._ensure_not_behind_bank_line(hold_id)
        hold, account = self._locked_hold(hold_id)
        if hold.status == HoldStatus.EXPIRED:
            return hold  # its time ran out first: the amount is already free
        hold.close("void", self.now)
        ledger.release(account, hold.amount_fen)
        self._dirty[account.id] = account
        self.repo.save_hold(hold)
        return hold

    # --- end of the unit of work ----------------------------------------------

    def flush(self) -> None:
        """Write the balance rows changed in this unit of work and not written yet; call before commit."""
        if self._failed:  # balances held in memory may be stale after a refusal
            raise ledger.LedgerInvariantBroken("an entry was refused: roll back or discard() before committing")
        self.repo.save_accounts(self._dirty.values())
        self._dirty.clear()

    def discard(self) -> None:
        """Forget what this writer holds after its savepoint was rolled back (nothing of it is written)."""
        self._accounts.clear()
        self._dirty.clear()
        self._anchors.clear()
        self._failed = False


def reversible(repo: LedgerStore, entry_id: str) -> Entry:
    """The entry, if a reversal may undo it: it exists, is of a kind a reversal undoes, and is not reversed yet."""
    entry = repo.entry(entry_id)
    if entry is None:
        raise errors.EntryNotFound()
    if entry.kind in NOT_REVERSIBLE:
        raise errors.EntryNotReversible(entry_id=entry_id)
    if repo.reversal_of(entry_id):
        raise errors.EntryAlreadyReversed(entry_id=entry_id)
    return entry
