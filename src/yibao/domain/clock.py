"""The injected clock: every 'now' and 'today' in the product comes from here.

Timestamps are UTC; business dates follow the Asia/Shanghai calendar.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class SettableClock:
    """A clock tests move by hand; it keeps running from the time it was set."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._offset = dt.timedelta(0)
        if start is not None:
            self.set(start)

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SHANGHAI)
        self._offset = moment - dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._offset


def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar date of a moment (which must carry its timezone)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a moment must carry its timezone")
    return moment.astimezone(SHANGHAI).date()


def today(clock: Clock) -> dt.date:
    return local_date(clock.now())
