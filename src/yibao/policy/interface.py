"""What services ask of the policy, and the shape of its answers (the engine of policy/ answers them).

The facts of each action are a frozen dataclass: what the engine reads, and nothing else. A required fact has no
default, so a decision asked without it fails where the facts are built; an optional one defaults to what the
rules take for "not known" (None, or false for a condition that was not stated).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class Citation:
    """The rule that made a decision: its id, region, the date its version took effect, and its source."""

    rule_id: str
    region: str
    effective_from: dt.date
    reference: str

    def as_dict(self) -> dict:
        return {"rule_id": self.rule_id, "region": self.region,
                "effective_from": self.effective_from.isoformat(), "reference": self.reference}


@dataclass(frozen=True)
class Allocation:
    """The part of one month's contribution credited (划入) to the personal account."""

    amount_fen: int
    rule: Citation
    explanation_zh: str
    explanation_en: str


@dataclass(frozen=True)
class BaseBounds:
    """The floor and ceiling of the monthly contribution base (缴费基数上下限) in force for a period."""

    min_fen: int
    max_fen: int
    rule: Citation


class AllocationRules(Protocol):
    def personal_account_allocation(self, *, region: str, scheme: str, flexible: bool, birth_date: dt.date,
                                    period: dt.date, base_fen: int) -> Allocation:
        """The allocation rule in force in the region for the period's first day; raises PolicyRuleMissing."""
        ...

    def contribution_base_bounds(self, *, region: str, scheme: str, flexible: bool,
                                 period: dt.date) -> BaseBounds | None:
        """The base's floor and ceiling in force in the region for the period; None where the scheme has none."""
        ...


# --- the facts of each action (policy.actions decides them) -----------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What every decision reads: the person's insured region (the action is named by the class)."""

    action: ClassVar[str]
    region: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContributeFacts(Facts):
    """A month's contribution: the part credited (划入) to the personal account."""

    action: ClassVar[str] = "contribute"
    birth_date: dt.date
    base_fen: int
    scheme: str | None = None
    flexible: bool = False
    retired: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SettleFacts(Facts):
    """A payment at an institution (the owner's facts when a relative pays from the owner's account);
    `used` is what the limits' periods have used so far, `claim` a reimbursement claim's invoice."""

    action: ClassVar[str] = "settle"
    institution_region: str
    institution_kind: str
    items: Sequence[tuple[str, int]]  # (category, amount_fen)
    designated: bool | None = None  # false when the institution is not designated that day
    institution_cross_region: bool = False
    has_filing: bool = False
    emergency: bool = False
    scheme: str | None = None
    relation: str | None = None
    balance_fen: int | None = None
    used: Mapping[str, int] = field(default_factory=dict)  # {institution_daily, daily, yearly: fen; daily_count}
    claim: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundFacts(Facts):
    """A refund: whether it frees the quota of the original period."""

    action: ClassVar[str] = "refund"
    institution_kind: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyGrantFacts(Facts):
    """An owner granting a relative use of the account (the owner's scheme)."""

    action: ClassVar[str] = "family_grant"
    relation: str | None = None
    scheme: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationFacts(Facts):
    """What a withdrawal and a reimbursement are decided on; `documents` are the types provided (None when not
    known), `event_date` the death, the emigration or the day of treatment."""

    reason: str | None = None
    scheme: str | None = None
    balance_fen: int | None = None
    amount_fen: int | None = None
    channel: str | None = None
    by_proxy: bool | None = None
    documents: Sequence[str] | None = None
    event_date: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawFacts(ApplicationFacts):
    """Withdrawing the balance (reason: general, death, emigration, transfer_out)."""

    action: ClassVar[str] = "withdraw"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReimburseFacts(ApplicationFacts):
    """A reimbursement claim (reason: cross_region, emergency, other; amount_fen the invoices' total)."""

    action: ClassVar[str] = "reimburse"


@dataclass(frozen=True, slots=True, kw_only=True)
class Filed:
    """A cross-region filing in force, as a decision on changing it reads it."""

    type: str | None
    reason: str | None
    valid_from: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFacts(Facts):
    """A cross-region filing (type: long_term, temporary); `start_date` is today if not given, `existing` the
    filing in force that this one would replace."""

    action: ClassVar[str] = "file"
    type: str | None = None
    reason: str | None = None
    start_date: dt.date | None = None
    existing: Filed | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelFilingFacts(Facts):
    """Changing or cancelling a filing in force: its type, reason and first day."""

    action: ClassVar[str] = "cancel_filing"
    valid_from: dt.date
    type: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DisburseFacts(Facts):
    """A payout: the channel and the payee's bank."""

    action: ClassVar[str] = "disburse"
    channel: str | None = None
    bank: str | None = None


FACTS: dict[str, type[Facts]] = {cls.action: cls for cls in (
    ContributeFacts, SettleFacts, RefundFacts, FamilyGrantFacts, WithdrawFacts, ReimburseFacts, FileFacts,
    CancelFilingFacts, DisburseFacts)}
"""The facts of each action, by the action's name."""
