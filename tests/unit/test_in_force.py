"""Which enrolment, filing and grant are in force: the one rule each that the lookups and the store's
one-statement read share."""

from __future__ import annotations

import datetime as dt

from yibao.domain.filings import FamilyGrant, Filing
from yibao.domain.in_force import enrollment_on, filing_in_force, grant_in_force
from yibao.domain.registry import Enrollment

AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _enrollment(id_: str, start: dt.date, end: dt.date | None = None, status: str = "active",
                scheme: str = "employee") -> Enrollment:
    return Enrollment(id_, "p1", scheme, None, True, start, status, AT, end)


def test_the_enrolment_in_force_on_a_day_is_active_begun_and_not_ended():
    ended = _enrollment("e1", dt.date(2024, 1, 1), dt.date(2025, 6, 30))
    later = _enrollment("e2", dt.date(2025, 7, 1), scheme="resident")
    asked = _enrollment("e3", dt.date(2020, 1, 1), status="requested")
    found = [later, ended, asked]
    assert enrollment_on(found, dt.date(2023, 12, 31)) is None
    assert enrollment_on(found, dt.date(2025, 6, 30)) is ended
    assert enrollment_on(found, dt.date(2025, 7, 1)) is later
    both = _enrollment("e4", dt.date(2025, 1, 1), scheme="resident")
    assert enrollment_on([later, both, ended], dt.date(2025, 6, 1)) is ended  # the one begun first


def _filing(id_: str, status: str, created: dt.datetime) -> Filing:
    return Filing(id_, "p1", "long_term", "retired_resettled", "310000", dt.date(2026, 1, 1), None, status, "r",
                  created)


def test_the_filing_in_force_is_the_latest_active_one():
    old, new = _filing("f1", "active", AT - dt.timedelta(days=1)), _filing("f2", "active", AT)
    assert filing_in_force([new, old, _filing("f3", "replaced", AT + dt.timedelta(days=1))]) is new
    assert filing_in_force([_filing("f4", "cancelled", AT)]) is None


def test_a_grant_pays_only_while_active_and_only_for_its_pair():
    active = FamilyGrant("g1", "owner", "child", "child", "active", "r", AT)
    pending = FamilyGrant("g2", "owner", "spouse", "spouse", "pending", "r", AT)
    assert grant_in_force([pending, active], "owner", "child") is active
    assert grant_in_force([pending, active], "owner", "spouse") is None
    assert grant_in_force([active], "child", "owner") is None
