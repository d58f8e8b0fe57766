"""The test-mode clock."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from yibao.api.schemas.common import Body


class ClockSet(Body):
    now: dt.datetime


class ClockRead(BaseModel):
    now: dt.datetime
    today: dt.date
