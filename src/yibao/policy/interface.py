"""What services ask of the policy, and the shape of its answers (the engine of policy/ answers them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


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
