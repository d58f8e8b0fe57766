"""Ledger accounts: who holds them, what unit they count in, and which are guarded against going below zero.

Sign convention: a posting's amount is seen from its account, positive in and negative out.
A personal account's balance is the sum of its postings; a clearing account runs negative
by the money it has passed on. Every entry's postings sum to zero.

Guarded accounts (personal accounts and limit quotas) keep a balance row that every posting
updates under a row lock and that never goes below zero. The other accounts are counterparts
touched by many entries at once (an institution's payable, a region's clearing accounts), so
they keep no balance row that every entry would queue on: their balance is the sum of their postings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class AccountKind(StrEnum):
    PERSONAL = "personal"  # 个人账户
    POOLED_FUND = "pooled_fund"  # 统筹基金, never withdrawable by a person
    CONTRIBUTION_CLEARING = "contribution_clearing"  # contributions received, not yet allocated
    BANK_CLEARING = "bank_clearing"  # money on its way to or from banks
    INSTITUTION_PAYABLE = "institution_payable"  # owed to a designated institution
    QUOTA = "quota"  # what a limit still allows in its period (used by settlement)
    QUOTA_SOURCE = "quota_source"  # where quotas are granted from, one per region and unit


class Unit(StrEnum):
    FEN = "fen"
    COUNT = "count"  # quotas that count payments rather than money


class Bucket(StrEnum):
    """Sub-balances of a personal account the policy may tell apart (当年 / 历年)."""

    CURRENT_YEAR = "current"
    CARRIED_OVER = "carried"


GUARDED = frozenset({AccountKind.PERSONAL, AccountKind.QUOTA})


_KINDS = {kind.value: kind for kind in AccountKind}


def kind_of(account_id: str) -> AccountKind:
    """Account ids name their kind first, so a writer knows which rows to lock before reading any."""
    prefix = account_id.split(":", 1)[0]
    if prefix not in _KINDS:
        raise ValueError(f"{prefix!r} is not a kind of account")
    return _KINDS[prefix]


def is_guarded(account_id: str) -> bool:
    return kind_of(account_id) in GUARDED


def unit_of(account_id: str) -> Unit:
    """The unit of an unguarded account, from its id: a quota source names its unit last, the rest count fen."""
    if kind_of(account_id) == AccountKind.QUOTA_SOURCE:
        return Unit(account_id.rsplit(":", 1)[1])
    return Unit.FEN


def personal(person_id: str) -> str:
    return f"personal:{person_id}"


def pooled_fund(region: str) -> str:
    return f"pooled_fund:{region}"


def contribution_clearing(region: str) -> str:
    return f"contribution_clearing:{region}"


def bank_clearing(region: str) -> str:
    return f"bank_clearing:{region}"


def institution_payable(code: str) -> str:
    return f"institution_payable:{code}"


def quota_source(region: str, unit: Unit = Unit.FEN) -> str:
    return f"quota_source:{region}:{unit}"


def quota(*parts: str) -> str:
    """A limit's allowance for one period, e.g. quota(person_id, "daily", "2026-03-01")."""
    return "quota:" + ":".join(parts)


def quota_account(owner_id: str, kind: str, day: dt.date, institution_code: str) -> tuple[str, Unit]:
    """The quota account of a settlement limit for its period (Asia/Shanghai calendar days and years) and its unit."""
    if kind == "institution_daily":
        return quota(owner_id, kind, institution_code, day.isoformat()), Unit.FEN
    if kind == "yearly":
        return quota(owner_id, kind, str(day.year)), Unit.FEN
    if kind == "daily_count":
        return quota(owner_id, kind, day.isoformat()), Unit.COUNT
    return quota(owner_id, kind, day.isoformat()), Unit.FEN


@dataclass(eq=False)
class Account:
    id: str
    kind: str
    region: str
    unit: str
    created_at: dt.datetime
    person_id: str | None = None
    institution_code: str | None = None
    # Kept for guarded accounts only (None on the others): posted, held by pending holds,
    # and the part of posted that is this year's (personal accounts).
    posted_fen: int | None = None
    pending_fen: int | None = None
    current_year_fen: int | None = None
    # The hash chain of the entries anchored on this account (see ledger.chain).
    chain_head: str = ""
    chain_length: int = 0

    @property
    def guarded(self) -> bool:
        return self.kind in GUARDED

    @property
    def available_fen(self) -> int:
        return (self.posted_fen or 0) - (self.pending_fen or 0)

    @property
    def carried_over_fen(self) -> int:
        return (self.posted_fen or 0) - (self.current_year_fen or 0)


def new_account(account_id: str, kind: AccountKind, region: str, at: dt.datetime, *, unit: Unit = Unit.FEN,
                person_id: str | None = None, institution_code: str | None = None) -> Account:
    guarded = kind in GUARDED
    return Account(
        id=account_id, kind=kind, region=region, unit=unit, created_at=at,
        person_id=person_id, institution_code=institution_code,
        posted_fen=0 if guarded else None, pending_fen=0 if guarded else None,
        current_year_fen=0 if kind == AccountKind.PERSONAL else None,
    )
