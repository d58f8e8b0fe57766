"""Appointment (预约, R22) entities: an institution's time slot with its capacity, and a person's booking."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    USED = "used"  # a cash voucher was redeemed against it: it can no longer be cancelled


@dataclass
class Slot:
    id: str
    institution_code: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked


@dataclass
class Appointment:
    id: str
    slot_id: str
    person_id: str
    purpose: str
    status: str
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    slot: Slot
    used_at: dt.datetime | None = None
