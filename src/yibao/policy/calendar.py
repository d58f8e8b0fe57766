"""Working days on the official calendar: public holidays, days off in lieu, and make-up workdays (调休).

The `holidays` package knows China's official schedule for the years it has been told about.
The State Council publishes each year's schedule late in the year before, so an agency can
supply a year the package does not know yet (or correct one): for such a year, the agency's
list of days off and make-up workdays is the whole truth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import holidays


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule as published: days off (weekdays included) and weekend workdays."""

    days_off: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)
    reference: str = ""


class WorkingCalendar:
    def __init__(self, overrides: Mapping[int, YearSchedule] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._official = holidays.China()

    def is_working_day(self, day: dt.date) -> bool:
        schedule = self._overrides.get(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True
            return day.weekday() < 5 and day not in schedule.days_off
        return self._official.is_working_day(day)

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (0: start itself if it is one, else the next one)."""
        if days < 0:
            raise ValueError("working days are counted forwards")
        day = start
        if days == 0:
            while not self.is_working_day(day):
                day += dt.timedelta(days=1)
            return day
        while days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end`."""
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + dt.timedelta(days=n)))


def schedule(days_off: Iterable[dt.date], workdays: Iterable[dt.date], reference: str = "") -> YearSchedule:
    return YearSchedule(frozenset(days_off), frozenset(workdays), reference)
