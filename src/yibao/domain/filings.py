"""Cross-region treatment filings (异地就医备案, R14) and family grants (家庭共济, R13): who they cover, and
their lifecycles, each one transition table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.domain import errors
from yibao.domain.regions import within


class FilingStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"  # by the person or the agency
    REPLACED = "replaced"  # by a newer filing of the same person


FILING_TRANSITIONS: dict[tuple[FilingStatus, str], FilingStatus] = {
    (FilingStatus.ACTIVE, "cancel"): FilingStatus.CANCELLED,
    (FilingStatus.ACTIVE, "replace"): FilingStatus.REPLACED,
}


@dataclass(eq=False)
class Filing:
    id: str
    person_id: str
    type: str  # long_term | temporary
    reason: str
    destination_region: str
    valid_from: dt.date
    valid_to: dt.date | None  # None: valid until cancelled
    status: str
    rule_id: str  # the rule that allowed it
    created_at: dt.datetime
    closed_at: dt.datetime | None = None

    def valid_on(self, day: dt.date) -> bool:
        return self.status == FilingStatus.ACTIVE and self.valid_from <= day and (
            self.valid_to is None or day <= self.valid_to)

    def covers(self, place: str, day: dt.date) -> bool:
        """Whether treatment at a place on a day is direct-settled under this filing."""
        return self.valid_on(day) and within(self.destination_region, place)

    def apply(self, action: str, at: dt.datetime) -> tuple[str, str]:
        target = FILING_TRANSITIONS.get((FilingStatus(self.status), action))
        if target is None:
            raise errors.FilingWrongState(status=self.status, action=action)
        before, self.status, self.closed_at = self.status, target.value, at
        return before, self.status


class GrantStatus(StrEnum):
    PENDING = "pending"  # made by the owner online, awaiting the grantee's consent; pays nothing
    ACTIVE = "active"
    REVOKED = "revoked"  # ended while active, by either person or the agency
    DECLINED = "declined"  # the grantee said no
    CANCELLED = "cancelled"  # withdrawn by the owner (or the agency) before the grantee answered


OPEN_GRANT = (GrantStatus.PENDING, GrantStatus.ACTIVE)  # what counts against one grant per pair, spouses, limits

GRANT_TRANSITIONS: dict[tuple[GrantStatus, str], GrantStatus] = {
    (GrantStatus.PENDING, "accept"): GrantStatus.ACTIVE,
    (GrantStatus.PENDING, "decline"): GrantStatus.DECLINED,
    (GrantStatus.PENDING, "cancel"): GrantStatus.CANCELLED,
    (GrantStatus.ACTIVE, "revoke"): GrantStatus.REVOKED,
}


@dataclass(eq=False)
class FamilyGrant:
    """The owner's authorisation for a relative to pay from the owner's personal account; it pays only while
    active: at once when staff make it with both present, after the grantee's consent when the owner does."""

    id: str
    owner_id: str
    grantee_id: str
    relation: str
    status: str
    rule_id: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None  # when it ended: revoked, declined or cancelled
    accepted_at: dt.datetime | None = None  # when it came into force

    def apply(self, action: str, at: dt.datetime) -> tuple[str, str]:
        target = GRANT_TRANSITIONS.get((GrantStatus(self.status), action))
        if target is None:
            raise errors.GrantWrongState(status=self.status, action=action)
        before, self.status = self.status, target.value
        if target == GrantStatus.ACTIVE:
            self.accepted_at = at
        else:
            self.revoked_at = at
        return before, self.status
