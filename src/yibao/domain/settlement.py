"""Settlements at designated institutions (结算, R10–R12) and their refunds (退费).

A settlement records what the account paid, what cash paid, and the quota accounts it used:
each limit kept as a quota (per institution per day, per day, per year, payments per day) is an
account of the ledger whose balance is what is left of the limit in its period, so a limit holds
as strictly as a balance never goes below zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from yibao.domain import errors

# The limits kept as quota accounts (ledger.accounts.quota_account names each one's); per_transaction needs none.
QUOTA_LIMITS = ("institution_daily", "daily", "yearly", "daily_count")


class SettlementStatus(StrEnum):
    SETTLED = "settled"
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"


@dataclass(eq=False)
class Settlement:
    id: str
    institution_code: str
    idempotency_key: str
    payer_id: str  # whose credential was used
    owner_id: str  # whose account paid (the payer, or the owner of a family grant)
    credential_type: str
    total_fen: int
    account_paid_fen: int
    cash_fen: int
    business_date: dt.date
    at: dt.datetime
    items: list = field(default_factory=list)  # [{category, amount_fen, covered}]
    decision: dict = field(default_factory=dict)  # limited_by, rules, explanations
    quotas: dict = field(default_factory=dict)  # quota account id -> amount it used (fen or payments)
    entry_id: str | None = None
    refunded_fen: int = 0
    status: str = SettlementStatus.SETTLED
    emergency: bool = False  # the institution stated an emergency (急诊抢救), whether or not the policy counted it

    @property
    def refundable_fen(self) -> int:
        return self.account_paid_fen - self.refunded_fen

    def refund(self, amount_fen: int) -> None:
        """Record a refund of what the account paid; never more than is left of it."""
        if type(amount_fen) is not int or amount_fen <= 0 or amount_fen > self.refundable_fen:
            raise errors.RefundExceeds(amount_fen=amount_fen, refundable_fen=self.refundable_fen)
        self.refunded_fen += amount_fen
        self.status = SettlementStatus.REFUNDED if self.refundable_fen == 0 else SettlementStatus.PARTLY_REFUNDED


@dataclass(eq=False)
class Refund:
    id: str
    settlement_id: str
    amount_fen: int
    entry_id: str
    at: dt.datetime
    actor: str
