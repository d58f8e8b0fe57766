"""In-memory disbursement batches and appointments, behind the ports of services.applications.payout_ports.

Batches, lines (plain rows in `tables["disbursement_lines"]`, which the fake ledger also reads) and applied
returns are written when the unit of work commits; a slot's places and a booking's
status change at once, as the store's one-statement updates do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from yibao.domain.applications import Application, ApplicationStatus
from yibao.domain.appointments import Appointment, AppointmentStatus, Slot
from yibao.domain.disbursement import AppliedReturn, Batch, BatchLine


class FakeDisbursements:
    def __init__(self, uow) -> None:
        self.uow, self.rows, self.tables = uow, uow.store.rows, uow.store.tables

    def _on_commit(self, write) -> None:
        self.uow.before_commit(write)

    def _kept_line(self, batch_id: str, line_no: int) -> dict:
        return next(row for row in self.tables["disbursement_lines"]
                    if row["batch_id"] == batch_id and row["line_no"] == line_no)

    def approved(self) -> list[Application]:
        return self.uow.all_by(Application, "updated_at", "id", status=ApplicationStatus.APPROVED.value)

    def add(self, batch: Batch, lines: list[BatchLine]) -> None:
        def write() -> None:
            self.rows[Batch][batch.batch_id] = replace(batch, lines=[])
            self.tables["disbursement_lines"].extend(line.read() for line in lines)
        self._on_commit(write)

    def batch(self, batch_id: str, *, for_update: bool = False) -> Batch | None:
        kept = self.rows[Batch].get(batch_id)
        return None if kept is None else replace(kept, lines=[line.read() for line in self.lines(batch_id)])

    def recent(self, limit: int) -> list[Batch]:
        newest = sorted(self.rows[Batch].values(), key=lambda b: (b.created_at, b.batch_id), reverse=True)
        return [self.batch(b.batch_id) for b in newest[:limit]]

    def lines(self, batch_id: str) -> list[BatchLine]:
        kept = [BatchLine(**row) for row in self.tables["disbursement_lines"] if row["batch_id"] == batch_id]
        return sorted(kept, key=lambda line: line.line_no)

    def save_line(self, line: BatchLine) -> None:
        saved = line.read()
        self._on_commit(lambda: self._kept_line(line.batch_id, line.line_no).update(saved))

    def save_batch(self, batch: Batch) -> None:
        saved = replace(batch, lines=[])
        self._on_commit(lambda: self.rows[Batch].__setitem__(batch.batch_id, saved))

    def applied_at(self, *, return_id: str, sha256: str) -> dt.datetime | None:
        return next((r.applied_at for r in self.rows[AppliedReturn].values()
                     if r.return_id == return_id or r.sha256 == sha256), None)

    def add_return(self, applied: AppliedReturn) -> None:
        self._on_commit(lambda: self.rows[AppliedReturn].__setitem__(applied.return_id, applied))


class FakeAppointments:
    def __init__(self, uow) -> None:
        self.uow = uow

    def add_slot(self, slot: Slot) -> None:
        self.uow.add(replace(slot))

    def slot(self, slot_id: str) -> Slot | None:
        kept = self.uow.get(Slot, slot_id)
        return None if kept is None else replace(kept)

    def slots_starting(self, institution_code: str, start: dt.datetime, end: dt.datetime) -> list[Slot]:
        return [replace(s) for s in self.uow.all_by(Slot, "starts_at", "id", institution_code=institution_code)
                if start <= s.starts_at < end]

    def take_place(self, slot_id: str) -> bool:
        kept = self.uow.get(Slot, slot_id)
        if kept is None or kept.booked >= kept.capacity:
            return False
        kept.booked += 1
        return True

    def free_place(self, slot_id: str) -> None:
        kept = self.uow.get(Slot, slot_id)
        if kept is not None and kept.booked > 0:
            kept.booked -= 1

    def add(self, appointment: Appointment) -> None:
        self.uow.add(replace(appointment, slot=None))

    def appointment(self, appointment_id: str) -> Appointment | None:
        kept = self.uow.get(Appointment, appointment_id)
        return None if kept is None else replace(kept, slot=self.slot(kept.slot_id))

    def bookings_in(self, slot_id: str) -> list[Appointment]:
        slot = self.slot(slot_id)
        return [replace(a, slot=slot) for a in self.uow.all_by(Appointment, "created_at", "id", slot_id=slot_id)]

    def live_booking(self, *, slot_id: str, person_id: str) -> str | None:
        found = self.uow.one_by(Appointment, slot_id=slot_id, person_id=person_id,
                                status=AppointmentStatus.BOOKED.value)
        return None if found is None else found.id

    def move(self, appointment_id: str, *, status: str, at: dt.datetime) -> bool:
        kept = self.uow.get(Appointment, appointment_id)
        if kept is None or kept.status != AppointmentStatus.BOOKED:
            return False
        kept.status = str(status)
        if status == AppointmentStatus.CANCELLED:
            kept.cancelled_at = at
        else:
            kept.used_at = at
        return True

    def has_slots(self, institution_code: str) -> bool:
        return self.uow.one_by(Slot, institution_code=institution_code) is not None

    def booked_between(self, *, person_id: str, institution_code: str, start: dt.datetime,
                       end: dt.datetime) -> list[str]:
        slots = {s.id: s for s in self.uow.all_by(Slot, institution_code=institution_code)
                 if start <= s.starts_at < end}
        booked = [a for a in self.uow.all_by(Appointment, person_id=person_id, status=AppointmentStatus.BOOKED.value)
                  if a.slot_id in slots]
        return [a.id for a in sorted(booked, key=lambda a: (slots[a.slot_id].starts_at, a.id))]
