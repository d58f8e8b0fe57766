"""A person's life events (death, emigration) and agency freezes of their account, and what they refuse.

`Standing` is what a credential's use depends on: the person's life event, if any, and whether the agency
has frozen the account. One rule says what it refuses, for every card, e-voucher and settlement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from yibao.domain import errors


class LifeEventKind(StrEnum):
    DEATH = "death"
    EMIGRATION = "emigration"


class LifeEventSource(StrEnum):
    COUNTER = "counter"  # recorded by agency staff, the papers in hand
    REGISTER = "register"  # a row of the residents register feed


KIND_ZH = {LifeEventKind.DEATH: "死亡", LifeEventKind.EMIGRATION: "出国（境）定居"}


@dataclass(eq=False)
class LifeEvent:
    id: str
    person_id: str
    kind: str
    event_date: dt.date
    recorded_at: dt.datetime
    recorded_by: str
    source: str
    document_ids: list = field(default_factory=list)
    late_settlement_ids: list = field(default_factory=list)
    account_closed_at: dt.datetime | None = None
    closing_application_id: str | None = None

    def same_as(self, kind: str, event_date: dt.date) -> bool:
        return self.kind == kind and self.event_date == event_date


@dataclass(eq=False)
class AccountFreeze:
    id: str
    person_id: str
    reason: str
    frozen_at: dt.datetime
    frozen_by: str
    card_no: str | None = None
    lifted_at: dt.datetime | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None

    def lift(self, *, at: dt.datetime, by: str, reason: str) -> None:
        self.lifted_at, self.lifted_by, self.lift_reason = at, by, reason


@dataclass(frozen=True)
class Standing:
    """A person's life event (kind and date, if any), whether their account is frozen and whether it is closed."""

    event_kind: str | None = None
    event_date: dt.date | None = None
    frozen: bool = False
    closed: bool = False

    def in_effect_on(self, day: dt.date) -> bool:
        return self.event_kind is not None and self.event_date is not None and self.event_date <= day

    def refusal(self, day: dt.date) -> errors.DomainError | None:
        """Why the person's credentials cannot be used on `day`, or None: a life event, then a freeze."""
        if self.in_effect_on(day):
            return errors.PersonDeceased() if self.event_kind == LifeEventKind.DEATH else errors.PersonEmigrated()
        if self.frozen:
            return errors.AccountFrozen()
        return None

    def ensure_usable(self, day: dt.date) -> None:
        if (error := self.refusal(day)) is not None:
            raise error
