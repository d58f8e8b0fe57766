"""What settlement asks of the store: the facts a payment's decision depends on, the records a payment leaves,
the quotas of its limits, the lists institutions and reviewers read, and the payment codes that pay.

A repository may answer in one statement what the plain path asks one lookup at a time (the facts of a payment,
with its idempotency key claimed on PostgreSQL); both paths decide which enrolment, filing and grant count with
the rules of `domain.in_force`.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from yibao.domain.audit import AuditRecord
from yibao.domain.payment_facts import Claim, PaymentCodeState, SettlementFacts
from yibao.domain.settlement import Settlement


class SettlementRepository(Protocol):
    def claims_with_facts(self) -> bool:
        """Whether `facts` can claim an idempotency key in the same read (PostgreSQL's one statement)."""

    def facts(self, *, institution_code: str, day: dt.date, now: dt.datetime, payer_id: str | None = None,
              code_digest: str | None = None, owner_id: str | None = None,
              claim: Claim | None = None) -> SettlementFacts:
        """The facts of a payment by `payer_id`, or by the holder of the e-voucher whose payment code has
        `code_digest` (unused and valid at `now`), from the account of `owner_id` (default: the payer's own) at
        the institution on a day; with `claim` (only where claims_with_facts), the key claimed by the same read."""

    def record(self, settlement: Settlement, audit: AuditRecord, *, scope: str, key: str, response: dict) -> None:
        """Write a new settlement, the first record of its audit chain (linked here) and the answer of the
        idempotency key this unit of work claimed."""

    def granted(self, account_id: str) -> int:
        """What quota grants gave a quota account so far (its limit as granted)."""

    def of_person(self, person_id: str) -> list[Settlement]:
        """A person's settlements, as payer or as the owner of the account that paid, newest first."""

    def emergencies(self, from_day: dt.date, to_day: dt.date) -> list[Settlement]:
        """Settlements whose institution stated an emergency on these business days, oldest first."""


class PaymentCodeRepository(Protocol):
    def add(self, *, code_digest: str, evoucher_id: str, person_id: str, issued_at: dt.datetime,
            expires_at: dt.datetime) -> None:
        """Keep a newly issued code (by its digest only)."""

    def state(self, code_digest: str) -> PaymentCodeState | None:
        """What is known of the code with this digest, None when no such code was issued."""

    def holder(self, code_digest: str, now: dt.datetime) -> str | None:
        """The person whose code this is, while it is unused, unexpired at `now` and its e-voucher active."""

    def mark_used(self, code_digest: str, *, now: dt.datetime, used_for: str) -> bool:
        """Mark the code used by a payment, if it is unused and unexpired at `now`; whether this call marked it."""
