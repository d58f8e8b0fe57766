"""Appointments (预约, R22): an institution publishes time slots, each with a capacity; a person (or staff for
them) books a place, one per slot, and may cancel it. An institution that has published slots serves cash
vouchers by appointment: redeeming one there needs the holder's booking on that day, and uses it: a booking a
redemption used is `used` and can no longer be cancelled.

A booking takes its place with one conditional update (`booked = booked + 1 WHERE booked < capacity`), so a
slot is never overbooked however many book at once; the database keeps one booking per person and slot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.ids import new_id
from yibao.domain.registry import Institution, Person
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork
from yibao.store.tables import appointment_slots, appointments

MAX_CAPACITY = 1000
MAX_SLOT = dt.timedelta(hours=24)


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


def _invalid(zh: str, en: str, **facts) -> errors.AppointmentInvalid:
    return errors.AppointmentInvalid(reason_zh=zh, reason_en=en, **facts)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)  # a local time means Shanghai's


def _slot(row) -> Slot:
    return Slot(row.id, row.institution_code, row.starts_at, row.ends_at, row.capacity, row.booked)


def _get_slot(uow: UnitOfWork, slot_id: str) -> Slot:
    row = uow.session.execute(sa.select(appointment_slots).where(appointment_slots.c.id == slot_id)).first()
    if row is None:
        raise errors.SlotNotFound()
    return _slot(row)


def _institution(uow: UnitOfWork, code: str) -> Institution:
    found = uow.get(Institution, code)
    if found is None:
        raise errors.InstitutionNotFound()
    return found


def _ensure_may_publish(actor: Actor, institution_code: str) -> None:
    access.ensure(actor, "slot", "publish", institution_code=institution_code)


def publish_slot(ctx: Context, *, actor: Actor, institution_code: str, starts_at: dt.datetime, ends_at: dt.datetime,
                 capacity: int) -> Slot:
    """An institution (or the agency for it) opens a time slot for so many people."""
    _ensure_may_publish(actor, institution_code)
    starts_at, ends_at = _aware(starts_at), _aware(ends_at)
    if not ends_at > starts_at:
        raise _invalid("结束时间须晚于开始时间", "the slot ends after it starts")
    if ends_at - starts_at > MAX_SLOT:
        raise _invalid("一个时段不超过 24 小时", "a slot is at most 24 hours long")
    if ends_at <= ctx.now():
        raise _invalid("不能发布已结束的时段", "the slot is already over")
    if type(capacity) is not int or not 0 < capacity <= MAX_CAPACITY:
        raise _invalid(f"名额须为 1 至 {MAX_CAPACITY}", f"capacity is 1 to {MAX_CAPACITY}", capacity=capacity)
    with ctx.uow() as uow:
        _institution(uow, institution_code)
        slot = Slot(new_id("slt"), institution_code, starts_at, ends_at, capacity, 0)
        uow.session.execute(appointment_slots.insert().values(**vars(slot)))
        ctx.audit(uow, actor, "appointment.slot_publish", "appointment_slot", slot.id,
                  institution_code=institution_code, starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(), capacity=capacity)
        uow.commit()
        return slot


def list_slots(ctx: Context, *, actor: Actor, institution_code: str, day: dt.date | None = None) -> list[Slot]:
    """An institution's slots starting on a day (Shanghai time; default today), with the places left."""
    day = day or ctx.today()
    start = dt.datetime.combine(day, dt.time(), SHANGHAI)
    with ctx.uow() as uow:
        _institution(uow, institution_code)
        rows = uow.session.execute(sa.select(appointment_slots).where(
            appointment_slots.c.institution_code == institution_code, appointment_slots.c.starts_at >= start,
            appointment_slots.c.starts_at < start + dt.timedelta(days=1)).order_by(appointment_slots.c.starts_at,
                                                                                    appointment_slots.c.id)).all()
        return [_slot(r) for r in rows]


def book(ctx: Context, *, actor: Actor, slot_id: str, person_id: str, purpose: str) -> Appointment:
    """A place in a slot for the person (themselves, or staff at the counter); never beyond its capacity."""
    access.ensure_owner_or_staff(actor, person_id)
    purpose = (purpose or "").strip()
    if not purpose:
        raise _invalid("须写明预约事项", "the purpose of the appointment is required")
    now = ctx.now()
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        slot = _get_slot(uow, slot_id)
        if slot.ends_at <= now:
            raise _invalid("该时段已结束", "the slot is over")
        if _booking(uow, slot_id, person_id) is not None:
            raise errors.AppointmentDuplicate()
        uow.conflict_means(errors.AppointmentDuplicate())  # the same person booking twice at once
        taken = uow.session.execute(
            appointment_slots.update()
            .where(appointment_slots.c.id == slot_id, appointment_slots.c.booked < appointment_slots.c.capacity)
            .values(booked=appointment_slots.c.booked + 1)).rowcount
        if not taken:
            raise errors.SlotFull(capacity=slot.capacity)
        row = {"id": new_id("apt"), "slot_id": slot_id, "person_id": person_id, "purpose": purpose[:40],
               "status": "booked", "created_at": now, "cancelled_at": None, "used_at": None}
        uow.session.execute(appointments.insert().values(**row))
        ctx.audit(uow, actor, "appointment.book", "appointment", row["id"], slot_id=slot_id, person_id=person_id,
                  institution_code=slot.institution_code, purpose=row["purpose"])
        uow.commit()
        return Appointment(**row, slot=_get_slot(uow, slot_id))


def _booking(uow: UnitOfWork, slot_id: str, person_id: str):
    return uow.session.execute(sa.select(appointments.c.id).where(
        appointments.c.slot_id == slot_id, appointments.c.person_id == person_id,
        appointments.c.status == "booked")).first()


def cancel(ctx: Context, *, actor: Actor, appointment_id: str) -> Appointment:
    """The person (or staff) cancels a booking; its place is free again."""
    now = ctx.now()
    with ctx.uow() as uow:
        row = uow.session.execute(sa.select(appointments).where(appointments.c.id == appointment_id)).first()
        if row is None:
            raise errors.AppointmentNotFound()
        access.ensure_owner_or_staff(actor, row.person_id)
        cancelled = uow.session.execute(
            appointments.update().where(appointments.c.id == appointment_id, appointments.c.status == "booked")
            .values(status="cancelled", cancelled_at=now)).rowcount
        if not cancelled:
            if row.status == "used":
                raise errors.AppointmentUsed(used_at=row.used_at.isoformat() if row.used_at else "")
            raise errors.AppointmentCancelled()
        uow.session.execute(appointment_slots.update().where(
            appointment_slots.c.id == row.slot_id, appointment_slots.c.booked > 0)
            .values(booked=appointment_slots.c.booked - 1))
        ctx.audit(uow, actor, "appointment.cancel", "appointment", appointment_id, slot_id=row.slot_id)
        uow.commit()
        return Appointment(row.id, row.slot_id, row.person_id, row.purpose, "cancelled", row.created_at, now,
                           _get_slot(uow, row.slot_id))


def serves_by_appointment(uow: UnitOfWork, institution_code: str) -> bool:
    """An institution that has published slots serves by appointment."""
    return uow.session.execute(sa.select(appointment_slots.c.id).where(
        appointment_slots.c.institution_code == institution_code).limit(1)).first() is not None


def _booked_on(uow: UnitOfWork, person_id: str, institution_code: str, day: dt.date) -> list[str]:
    start = dt.datetime.combine(day, dt.time(), SHANGHAI)
    return list(uow.session.scalars(
        sa.select(appointments.c.id).join(appointment_slots, appointment_slots.c.id == appointments.c.slot_id)
        .where(appointments.c.person_id == person_id, appointments.c.status == "booked",
               appointment_slots.c.institution_code == institution_code, appointment_slots.c.starts_at >= start,
               appointment_slots.c.starts_at < start + dt.timedelta(days=1))
        .order_by(appointment_slots.c.starts_at, appointments.c.id)))


def booked_on(uow: UnitOfWork, person_id: str, institution_code: str, day: dt.date) -> bool:
    """Whether the person holds a booking at the institution in a slot starting that day (Shanghai time)."""
    return bool(_booked_on(uow, person_id, institution_code, day))


def use_booking(ctx: Context, uow: UnitOfWork, actor: Actor, *, person_id: str, institution_code: str,
                day: dt.date) -> str | None:
    """Mark the person's booking that day at the institution used (inside the redemption's unit of work), so it
    cannot be cancelled afterwards; None when they hold none."""
    for appointment_id in _booked_on(uow, person_id, institution_code, day):
        used = uow.session.execute(
            appointments.update().where(appointments.c.id == appointment_id, appointments.c.status == "booked")
            .values(status="used", used_at=ctx.now())).rowcount
        if used:
            ctx.audit(uow, actor, "appointment.use", "appointment", appointment_id, institution_code=institution_code)
            return appointment_id
    return None
