"""Entries and their postings: the rules every movement of money obeys before it reaches the database.

An entry has two or more postings that sum to zero for each unit it counts in. Postings are
never edited; a correction is a reversal entry with every amount negated that names the original.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from yibao.domain import errors
from yibao.ledger import chain
from yibao.ledger.accounts import Account, AccountKind, Bucket, kind_of


class EntryKind(StrEnum):
    CONTRIBUTION = "contribution"  # 划入: the personal-account part of a contribution
    SETTLEMENT = "settlement"  # 结算: payment at a designated institution
    REFUND = "refund"  # 退费
    HOLD_CAPTURE = "hold_capture"  # a reserved amount taken (e.g. a disbursement paid)
    YEAR_END = "year_end"  # 当年 → 历年 at the turn of the year
    QUOTA_GRANT = "quota_grant"  # a limit's allowance for a period
    QUOTA_USE = "quota_use"  # what an approved claim takes of the limits (its money leaves by its payout)
    REVERSAL = "reversal"  # a correction: the original with every amount negated


# A reversal corrects a mistake; a year end is no mistake, and a reversal is undone by nothing.
NOT_REVERSIBLE = frozenset({EntryKind.REVERSAL, EntryKind.YEAR_END})

# A personal debit the writer splits when it has the account locked: this year's part first, then what was
# carried over (as debit_personal does). Only asked for; what is written names the bucket each part came from.
THIS_YEAR_FIRST = "first"


@dataclass(frozen=True)
class Posting:
    account_id: str
    amount_fen: int  # positive into the account, negative out of it
    bucket: Bucket | None = None  # personal accounts only: which sub-balance moves


@dataclass(eq=False)
class Entry:
    id: str
    kind: str
    at: dt.datetime
    business_date: dt.date
    postings: list[Posting]
    memo: str = ""
    details: dict = field(default_factory=dict)
    reverses_id: str | None = None
    anchor_account_id: str = ""
    anchor_seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    chain_v: int = chain.LINK_VERSION  # the link format it is written with


@dataclass(frozen=True)
class AccountLine:
    """One entry as an account's statement shows it: the entry, and what it moved on that account."""

    id: str
    kind: str
    at: dt.datetime
    business_date: dt.date
    memo: str
    details: dict
    reverses_id: str | None
    amount_fen: int
    current_year_fen: int  # of amount_fen, what moved this year's part


class LedgerInvariantBroken(AssertionError):
    """A bug, not bad input: code tried to post something the ledger never accepts."""


def _check_amounts(postings: list[Posting]) -> None:
    if len(postings) < 2:
        raise LedgerInvariantBroken("an entry needs at least two postings")
    for p in postings:
        if type(p.amount_fen) is not int:
            raise LedgerInvariantBroken(f"amount must be an int number of fen, got {p.amount_fen!r}")
        if p.amount_fen == 0:
            raise LedgerInvariantBroken("a posting of zero moves nothing")


def check_legs(postings: list[Posting]) -> None:
    """Two or more postings of whole, non-zero amounts that sum to zero (before each unit is told apart)."""
    _check_amounts(postings)
    if sum(p.amount_fen for p in postings):
        raise LedgerInvariantBroken("postings do not sum to zero")


def check_balanced(postings: Iterable[Posting], units: Mapping[str, str]) -> None:
    """Two or more postings, whole fen, nothing zero, and a zero sum in every unit."""
    postings = list(postings)
    _check_amounts(postings)
    sums: dict[str, int] = defaultdict(int)
    for p in postings:
        sums[units[p.account_id]] += p.amount_fen
    unbalanced = {unit: total for unit, total in sums.items() if total}
    if unbalanced:
        raise LedgerInvariantBroken(f"postings do not sum to zero: {unbalanced}")


def debit_personal(account: Account, amount_fen: int) -> list[Posting]:
    """Take money out of a personal account: this year's part first, then what was carried over."""
    return debit_legs(account.id, amount_fen, min(account.current_year_fen or 0, amount_fen))


def debit_legs(account_id: str, amount_fen: int, from_current: int) -> list[Posting]:
    """A personal debit of `amount_fen`, `from_current` of it from this year's money and the rest carried over."""
    legs = []
    if from_current:
        legs.append(Posting(account_id, -from_current, Bucket.CURRENT_YEAR))
    if amount_fen - from_current:
        legs.append(Posting(account_id, -(amount_fen - from_current), Bucket.CARRIED_OVER))
    return legs


def split_first(account: Account, postings: Iterable[Posting]) -> list[Posting]:
    """The postings with this account's THIS_YEAR_FIRST debit split by its balance before the entry."""
    out: list[Posting] = []
    for p in postings:
        if p.account_id == account.id and p.bucket == THIS_YEAR_FIRST:
            if p.amount_fen >= 0:
                raise LedgerInvariantBroken("only a debit is split between this year's money and the rest")
            out += debit_personal(account, -p.amount_fen)
        else:
            out.append(p)
    return out


def apply(account: Account, postings: Iterable[Posting]) -> None:
    """Move a guarded account's balance by its postings; refuse to go below what holds keep back."""
    change = 0
    current_change = 0
    for p in postings:
        if p.account_id != account.id:
            continue
        change += p.amount_fen
        if p.bucket == Bucket.CURRENT_YEAR:
            current_change += p.amount_fen
    if not account.guarded or not change and not current_change:
        return
    if account.available_fen + change < 0:
        raise shortfall(account, -change)
    account.posted_fen = (account.posted_fen or 0) + change
    if account.kind == AccountKind.PERSONAL:
        current = (account.current_year_fen or 0) + current_change
        if not 0 <= current <= account.posted_fen:
            raise LedgerInvariantBroken(f"current-year part {current} outside 0..{account.posted_fen}")
        account.current_year_fen = current


def reserve(account: Account, amount_fen: int) -> None:
    """Hold an amount back: it stays posted but is no longer available."""
    if amount_fen <= 0:
        raise LedgerInvariantBroken("a hold reserves a positive amount")
    if account.available_fen < amount_fen:
        raise shortfall(account, amount_fen)
    account.pending_fen = (account.pending_fen or 0) + amount_fen


def release(account: Account, amount_fen: int) -> None:
    if not 0 < amount_fen <= (account.pending_fen or 0):
        raise LedgerInvariantBroken(f"cannot release {amount_fen} of {account.pending_fen} held")
    account.pending_fen = (account.pending_fen or 0) - amount_fen


def shortfall(account: Account, amount_fen: int) -> errors.DomainError:
    if account.kind == AccountKind.QUOTA:
        return errors.QuotaExhausted(account_id=account.id, amount_fen=amount_fen,
                                     remaining_fen=account.available_fen)
    return errors.BalanceInsufficient(amount_fen=amount_fen, available_fen=account.available_fen,
                                      balance_fen=account.posted_fen or 0)


def reversal_postings(original: Iterable[Posting]) -> list[Posting]:
    return [Posting(p.account_id, -p.amount_fen, p.bucket) for p in original]


def check_first(postings: Iterable[Posting]) -> None:
    """At most one THIS_YEAR_FIRST debit per account, and only on personal accounts."""
    asking = [p.account_id for p in postings if p.bucket == THIS_YEAR_FIRST]
    if len(asking) != len(set(asking)) or any(kind_of(a) != AccountKind.PERSONAL for a in asking):
        raise LedgerInvariantBroken("one split debit per personal account, and only there")


def split_taken(posting: Posting, taken: int) -> list[Posting]:
    """A THIS_YEAR_FIRST debit as the database split it, `taken` from this year's money; others as they are."""
    if posting.bucket != THIS_YEAR_FIRST:
        return [posting]
    return debit_legs(posting.account_id, -posting.amount_fen, taken)


def debit(account: Account, amount_fen: int) -> list[Posting]:
    """Take money out of an account: a personal one this year's part first, any other as one posting."""
    if account.kind == AccountKind.PERSONAL:
        return debit_personal(account, amount_fen)
    return [Posting(account.id, -amount_fen)]


def entry_head(entry: Entry) -> str:
    """The digest of an entry's own fields (see chain.entry_head)."""
    return chain.entry_head(id=entry.id, kind=str(entry.kind), at=entry.at, business_date=entry.business_date,
                            memo=entry.memo, details=entry.details, reverses_id=entry.reverses_id,
                            anchor_account_id=entry.anchor_account_id)


def entry_hash(entry: Entry) -> str:
    """The hash an entry's content and place in its chain give, in the link format it was written with."""
    postings = [(p.account_id, p.amount_fen, str(p.bucket) if p.bucket else None) for p in entry.postings]
    if entry.chain_v == 1:
        return chain.link(entry.prev_hash, chain.entry_content(
            id=entry.id, kind=str(entry.kind), at=entry.at, business_date=entry.business_date, memo=entry.memo,
            details=entry.details, reverses_id=entry.reverses_id, anchor_account_id=entry.anchor_account_id,
            anchor_seq=entry.anchor_seq, postings=postings))
    return chain.entry_link(entry.prev_hash, entry.anchor_seq, entry_head(entry), postings)
