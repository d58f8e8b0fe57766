"""The institutions' time slots and the bookings in them, on the database. A place is taken or given back, and
a booking moved, by one conditional update each, so a slot is never overbooked however many book at once."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.appointments import Appointment, AppointmentStatus, Slot
from yibao.store.tables import appointment_slots, appointments

SLOT_COLUMNS = [appointment_slots.c[name] for name in ("id", "institution_code", "starts_at", "ends_at", "capacity",
                                                       "booked")]


def _slot(row) -> Slot:
    return Slot(row.id, row.institution_code, row.starts_at, row.ends_at, row.capacity, row.booked)


class SqlAppointments:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_slot(self, slot: Slot) -> None:
        self.session.execute(appointment_slots.insert().values(**vars(slot)))

    def slot(self, slot_id: str) -> Slot | None:
        row = self.session.execute(sa.select(*SLOT_COLUMNS).where(appointment_slots.c.id == slot_id)).first()
        return None if row is None else _slot(row)

    def slots_starting(self, institution_code: str, start: dt.datetime, end: dt.datetime) -> list[Slot]:
        rows = self.session.execute(sa.select(*SLOT_COLUMNS).where(
            appointment_slots.c.institution_code == institution_code, appointment_slots.c.starts_at >= start,
            appointment_slots.c.starts_at < end).order_by(appointment_slots.c.starts_at, appointment_slots.c.id))
        return [_slot(r) for r in rows]

    def take_place(self, slot_id: str) -> bool:
        return bool(self.session.execute(
            appointment_slots.update()
            .where(appointment_slots.c.id == slot_id, appointment_slots.c.booked < appointment_slots.c.capacity)
            .values(booked=appointment_slots.c.booked + 1)).rowcount)

    def free_place(self, slot_id: str) -> None:
        self.session.execute(appointment_slots.update().where(
            appointment_slots.c.id == slot_id, appointment_slots.c.booked > 0)
            .values(booked=appointment_slots.c.booked - 1))

    def add(self, appointment: Appointment) -> None:
        row = {k: v for k, v in vars(appointment).items() if k != "slot"}
        self.session.execute(appointments.insert().values(**row))

    def appointment(self, appointment_id: str) -> Appointment | None:
        row = self.session.execute(sa.select(appointments).where(appointments.c.id == appointment_id)).first()
        if row is None:
            return None
        return Appointment(row.id, row.slot_id, row.person_id, row.purpose, row.status, row.created_at,
                           row.cancelled_at, self.slot(row.slot_id), row.used_at)

    def bookings_in(self, slot_id: str) -> list[Appointment]:
        rows = self.session.execute(sa.select(appointments).where(appointments.c.slot_id == slot_id)
                                    .order_by(appointments.c.created_at, appointments.c.id))
        slot = self.slot(slot_id)
        return [Appointment(r.id, r.slot_id, r.person_id, r.purpose, r.status, r.created_at, r.cancelled_at, slot,
                            r.used_at) for r in rows]

    def live_booking(self, *, slot_id: str, person_id: str) -> str | None:
        return self.session.scalar(sa.select(appointments.c.id).where(
            appointments.c.slot_id == slot_id, appointments.c.person_id == person_id,
            appointments.c.status == AppointmentStatus.BOOKED.value).limit(1))

    def move(self, appointment_id: str, *, status: str, at: dt.datetime) -> bool:
        when = {AppointmentStatus.CANCELLED: "cancelled_at", AppointmentStatus.USED: "used_at"}[status]
        return bool(self.session.execute(appointments.update().where(
            appointments.c.id == appointment_id, appointments.c.status == AppointmentStatus.BOOKED.value)
            .values(status=str(status), **{when: at})).rowcount)

    def has_slots(self, institution_code: str) -> bool:
        return self.session.execute(sa.select(appointment_slots.c.id).where(
            appointment_slots.c.institution_code == institution_code).limit(1)).first() is not None

    def booked_between(self, *, person_id: str, institution_code: str, start: dt.datetime,
                       end: dt.datetime) -> list[str]:
        return list(self.session.scalars(
            sa.select(appointments.c.id).join(appointment_slots, appointment_slots.c.id == appointments.c.slot_id)
            .where(appointments.c.person_id == person_id, appointments.c.status == AppointmentStatus.BOOKED.value,
                   appointment_slots.c.institution_code == institution_code, appointment_slots.c.starts_at >= start,
                   appointment_slots.c.starts_at < end)
            .order_by(appointment_slots.c.starts_at, appointments.c.id)))
