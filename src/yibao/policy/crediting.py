"""Crediting a month's contribution (缴费划入): the one decision every path takes, per row or set-based.

What may be paid (not a future month, not after a death or emigration, nothing into a closed account, only
within an enrolment and the region's base bounds), the month's natural key and the request it guards, the
entry the allocation posts and the answer the key keeps. The store only finds the facts (`Found`) and writes
what is decided here; no database or framework is known.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property

from yibao.domain import errors
from yibao.domain.collection import payer_key
from yibao.domain.life_events import KIND_ZH, LifeEventKind, Standing
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import Bucket
from yibao.ledger.entries import Posting
from yibao.policy.interface import Allocation, AllocationRules

_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
MAX_BASE_FEN = 10**10  # ¥100,000,000 a month: anything above is a typing error, not a salary


def parse_period(period: str) -> dt.date:
    """The first day of a YYYY-MM month; refused as `contribution.invalid` otherwise."""
    match = _PERIOD.fullmatch(period or "")
    if not match:
        raise errors.ContributionInvalid(reason_zh=f"缴费月份应为 YYYY-MM：{period!r}",
                                         reason_en=f"period must be YYYY-MM: {period!r}")
    return dt.date(int(match[1]), int(match[2]), 1)


def month_end(first: dt.date) -> dt.date:
    """The last day of the month that starts on `first`."""
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def check_base(base_fen) -> int:
    """A base is a positive whole number of fen, up to MAX_BASE_FEN."""
    if type(base_fen) is not int or not 0 < base_fen <= MAX_BASE_FEN:
        raise errors.ContributionInvalid(reason_zh=f"缴费基数须为正整数（分），不超过 {MAX_BASE_FEN}：{base_fen!r}",
                                         reason_en=f"base_fen must be a positive whole number of fen "
                                                   f"up to {MAX_BASE_FEN}: {base_fen!r}")
    return base_fen


def contribution_key(person_id: str, period: str, employer_id: str | None) -> str:
    """The natural key of one month's contribution: person, month and payer."""
    return f"{person_id}:{period}:{payer_key(employer_id)}"


def contribution_request(person_id: str, period: str, base_fen: int, employer_id: str | None) -> dict:
    """The request a month's key guards: a retry with another base is a conflict."""
    return {"person_id": person_id, "period": period, "base_fen": base_fen, "employer_id": employer_id}


@dataclass(frozen=True)
class Found:
    """What the store holds for one person's month: the person, the payer, the enrolment covering the month
    (scheme None when none does) and the person's standing."""

    person_id: str
    region: str
    birth_date: dt.date
    standing: Standing
    employer_id: str | None = None
    scheme: str | None = None
    flexible: bool = False

    @property
    def enrolled(self) -> bool:
        return self.scheme is not None


@dataclass(frozen=True)
class FoundRow:
    """What the store found for one row of a crediting file: the month's facts (None when nobody has the row's
    ID number; employer_id None when the row's unit code names no unit) and the request hash an earlier run
    claimed the month's key with."""

    found: Found | None
    earlier_hash: str | None = None


def check_month(*, period: str, first: dt.date, today: dt.date, standing: Standing) -> None:
    """Whether a month may be paid: not a future month, not a month after the person's death or emigration,
    nothing into a closed account."""
    if first > today.replace(day=1):
        raise errors.ContributionInvalid(reason_zh=f"不能为未来月份缴费：{period}",
                                         reason_en=f"a future month cannot be paid yet: {period}")
    if standing.closed:
        raise errors.AccountClosed()
    if standing.event_date is not None and first > standing.event_date:
        kind = LifeEventKind(standing.event_kind)
        raise errors.ContributionAfterLifeEvent(period=period, event_date=standing.event_date.isoformat(),
                                                kind=kind.value, kind_zh=KIND_ZH[kind])


def check_bounds(policy: AllocationRules | None, *, region: str, scheme: str, flexible: bool, first: dt.date,
                 base_fen: int) -> None:
    """The base lies within the region's floor and ceiling for the period (缴费基数上下限), where the scheme has one."""
    if policy is None:
        raise errors.PolicyRuleMissing(region=region, date=first.isoformat(), rule="contribution.base_bounds")
    bounds = policy.contribution_base_bounds(region=region, scheme=scheme, flexible=flexible, period=first)
    if bounds is not None and not bounds.min_fen <= base_fen <= bounds.max_fen:
        raise errors.ContributionBaseOutOfRange(min_fen=bounds.min_fen, max_fen=bounds.max_fen,
                                                rule=bounds.rule.as_dict())


def check_payable(found: Found, *, period: str, first: dt.date, base_fen: int, today: dt.date,
                  policy: AllocationRules | None) -> None:
    """Every refusal of a month's payment, in the order each path reports them: the month, the enrolment, the
    base's bounds (a declaration is checked the same before it waits for the collector)."""
    check_month(period=period, first=first, today=today, standing=found.standing)
    if not found.enrolled:
        raise errors.ContributionNotEnrolled(period=period)
    check_bounds(policy, region=found.region, scheme=found.scheme, flexible=found.flexible, first=first,
                 base_fen=base_fen)


@dataclass(frozen=True)
class CreditDecision:
    """A month that may be credited: the key to claim with its request; once claimed, what to allocate, post
    and answer."""

    found: Found
    period: str
    first: dt.date
    base_fen: int

    @cached_property
    def key(self) -> str:
        return contribution_key(self.found.person_id, self.period, self.found.employer_id)

    @cached_property
    def request(self) -> dict:
        return contribution_request(self.found.person_id, self.period, self.base_fen, self.found.employer_id)

    @cached_property
    def account_id(self) -> str:
        return acct.personal(self.found.person_id)

    @cached_property
    def clearing_id(self) -> str:
        return acct.contribution_clearing(self.found.region)

    def allocate(self, policy: AllocationRules) -> Allocation:
        """The part of the month's base the region's rule credits to the personal account."""
        f = self.found
        return policy.personal_account_allocation(region=f.region, scheme=f.scheme, flexible=f.flexible,
                                                  birth_date=f.birth_date, period=self.first, base_fen=self.base_fen)

    def entry(self, allocation: Allocation, rule: dict | None = None) -> tuple[list[Posting], str, dict]:
        """The contribution entry's postings, memo and details (for an allocation above zero)."""
        return ([Posting(self.account_id, allocation.amount_fen, Bucket.CURRENT_YEAR),
                 Posting(self.clearing_id, -allocation.amount_fen)],
                f"{self.period} 缴费划入",
                {"period": self.period, "base_fen": self.base_fen, "employer_id": self.found.employer_id,
                 "rule": rule or allocation.rule.as_dict()})

    def answer(self, allocation: Allocation, *, entry_id: str | None, balance_fen: int,
               rule: dict | None = None) -> dict:
        """The answer the month's key keeps: a retry gets it back."""
        f = self.found
        return {"contribution_id": entry_id, "person_id": f.person_id, "period": self.period,
                "base_fen": self.base_fen, "employer_id": f.employer_id, "credited_fen": allocation.amount_fen,
                "balance_fen": balance_fen, "rule": rule or allocation.rule.as_dict(),
                "explanation_zh": allocation.explanation_zh, "explanation_en": allocation.explanation_en}


def decide_credit(found: Found, *, period: str, first: dt.date, base_fen: int, today: dt.date,
                  policy: AllocationRules | None) -> CreditDecision:
    """Refuse the month as every path refuses it, or say which key to claim for it and how to credit it."""
    check_payable(found, period=period, first=first, base_fen=base_fen, today=today, policy=policy)
    return CreditDecision(found, period, first, base_fen)
