"""Test doubles of interfaces whose real implementation lives elsewhere (never of our database or HTTP)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from yibao.policy.interface import Allocation, Citation


@dataclass
class FixedRateAllocation:
    """Stands in for the policy engine's allocation rule: employees get a fixed share of the base credited,
    residents nothing (their scheme has no personal account)."""

    rate: Fraction = Fraction(2, 100)
    effective_from: dt.date = dt.date(2024, 1, 1)

    def personal_account_allocation(self, *, region: str, scheme: str, flexible: bool, birth_date: dt.date,
                                    period: dt.date, base_fen: int) -> Allocation:
        amount = int(base_fen * self.rate) if scheme == "employee" else 0
        rule = Citation("test.allocation.employee_rate", region, self.effective_from, "test double")
        return Allocation(amount, rule, f"按缴费基数的 {self.rate} 划入", f"{self.rate} of the base credited")
