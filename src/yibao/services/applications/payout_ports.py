"""What disbursement and appointments ask of the store: the bank payment batches with their lines and the
returns applied to them, and the institutions' time slots with their bookings."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from yibao.domain.applications import Application
from yibao.domain.appointments import Appointment, Slot
from yibao.domain.disbursement import AppliedReturn, Batch, BatchLine


class DisbursementRepository(Protocol):
    def approved(self) -> list[Application]:
        """Every approved application waiting for a payment file, oldest decision first, locked so a second
        batch maker at the same time waits."""

    def add(self, batch: Batch, lines: list[BatchLine]) -> None:
        """Keep a new batch and its lines."""

    def batch(self, batch_id: str, *, for_update: bool = False) -> Batch | None:
        """The batch with its lines as read; None when there is none."""

    def recent(self, limit: int) -> list[Batch]:
        """The batches made last, newest first, at most `limit`."""

    def lines(self, batch_id: str) -> list[BatchLine]:
        """The batch's lines in their order in the payment file."""

    def save_line(self, line: BatchLine) -> None:
        """Write back a line's status, the bank's reason and its hold."""

    def save_batch(self, batch: Batch) -> None:
        """Write back a batch's status and when it was returned."""

    def applied_at(self, *, return_id: str, sha256: str) -> dt.datetime | None:
        """When a return with this id, or these exact bytes, was applied; None when never."""

    def add_return(self, applied: AppliedReturn) -> None:
        """Keep a return file applied."""


class AppointmentRepository(Protocol):
    def add_slot(self, slot: Slot) -> None:
        """Keep a new slot."""

    def slot(self, slot_id: str) -> Slot | None:
        """The slot with its places booked now; None when there is none."""

    def slots_starting(self, institution_code: str, start: dt.datetime, end: dt.datetime) -> list[Slot]:
        """The institution's slots starting in [start, end), by start."""

    def take_place(self, slot_id: str) -> bool:
        """Take one place in the slot if one is left, in one step however many book at once; whether taken."""

    def free_place(self, slot_id: str) -> None:
        """Give a place back to the slot."""

    def add(self, appointment: Appointment) -> None:
        """Keep a new booking."""

    def appointment(self, appointment_id: str) -> Appointment | None:
        """A booking with its slot; None when there is none."""

    def bookings_in(self, slot_id: str) -> list[Appointment]:
        """Every booking of the slot (booked, used or cancelled), oldest first, each with the slot."""

    def live_booking(self, *, slot_id: str, person_id: str) -> str | None:
        """The id of the person's booking in the slot that is still booked; None when none."""

    def move(self, appointment_id: str, *, status: str, at: dt.datetime) -> bool:
        """Move a booking still booked to cancelled or used at a time, in one step; whether it moved."""

    def has_slots(self, institution_code: str) -> bool:
        """Whether the institution has ever published a slot."""

    def booked_between(self, *, person_id: str, institution_code: str, start: dt.datetime,
                       end: dt.datetime) -> list[str]:
        """The ids of the person's live bookings at the institution in slots starting in [start, end), by start."""
