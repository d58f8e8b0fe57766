"""Which record is in force: one rule each for a person's enrolment on a day, their filing and a family grant.

The services' lookups and the store's one-statement read of a settlement's facts both decide with these: the
store selects candidate rows (a person's active enrolments, active filing, a pair's open grant) and the rule
here says which one counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from yibao.domain.filings import FamilyGrant, Filing, FilingStatus, GrantStatus
from yibao.domain.registry import Enrollment, EnrollmentStatus


def enrollment_on(enrollments: Iterable[Enrollment], day: dt.date) -> Enrollment | None:
    """The enrolment in force on a day among a person's: active, begun by then and not ended before; the one
    begun first when two are."""
    for e in sorted(enrollments, key=lambda e: e.start_date):
        if e.status == EnrollmentStatus.ACTIVE and e.start_date <= day and (e.end_date is None or e.end_date >= day):
            return e
    return None


def filing_in_force(filings: Iterable[Filing]) -> Filing | None:
    """A person's filing in force, whatever it covers: the latest of their active filings."""
    active = sorted((f for f in filings if f.status == FilingStatus.ACTIVE), key=lambda f: f.created_at)
    return active[-1] if active else None


def grant_in_force(grants: Iterable[FamilyGrant], owner_id: str, grantee_id: str) -> FamilyGrant | None:
    """The owner's grant to the grantee that pays now: the pair's active one."""
    return next((g for g in grants if g.owner_id == owner_id and g.grantee_id == grantee_id
                 and g.status == GrantStatus.ACTIVE), None)
