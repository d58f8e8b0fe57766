"""Appointments (预约, R22): an institution publishes time slots, each with a capacity; a person (or staff for
them) books a place, one per slot, and may cancel it. An institution that has published slots serves cash
vouchers by appointment: redeeming one there needs the holder's booking on that day, and uses it: a booking a
redemption used is `used` and can no longer be cancelled.

A booking takes its place in one step however many book at once (`uow.appointments.take_place`), so a slot is
never overbooked; the store keeps one booking per person and slot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from yibao.domain import errors
from yibao.domain.appointments import Appointment, AppointmentStatus, Slot
from yibao.domain.clock import SHANGHAI
from yibao.domain.ids import new_id
from yibao.domain.masking import mask_name
from yibao.domain.registry import Institution, Person
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork

MAX_CAPACITY = 1000
MAX_SLOT = dt.timedelta(hours=24)


def _invalid(zh: str, en: str, **facts) -> errors.AppointmentInvalid:
    return errors.AppointmentInvalid(reason_zh=zh, reason_en=en, **facts)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)  # a local time means Shanghai's


def _day(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The day's start and the next day's, Shanghai time."""
    start = dt.datetime.combine(day, dt.time(), SHANGHAI)
    return start, start + dt.timedelta(days=1)


def _get_slot(uow: UnitOfWork, slot_id: str) -> Slot:
    found = uow.appointments.slot(slot_id)
    if found is None:
        raise errors.SlotNotFound()
    return found


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
        uow.appointments.add_slot(slot)
        ctx.audit(uow, actor, "appointment.slot_publish", "appointment_slot", slot.id,
                  institution_code=institution_code, starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(), capacity=capacity)
        uow.commit()
        return slot


def list_slots(ctx: Context, *, actor: Actor, institution_code: str, day: dt.date | None = None) -> list[Slot]:
    """An institution's slots starting on a day (Shanghai time; default today), with the places left."""
    with ctx.uow() as uow:
        _institution(uow, institution_code)
        return uow.appointments.slots_starting(institution_code, *_day(day or ctx.today()))


def bookings(ctx: Context, *, actor: Actor, slot_id: str) -> list[dict]:
    """The bookings of a slot, oldest first, each with the person's name masked: for the institution and the
    agency staff who may publish its slots."""
    with ctx.uow() as uow:
        slot = _get_slot(uow, slot_id)
        _ensure_may_publish(actor, slot.institution_code)
        found = uow.appointments.bookings_in(slot_id)
        names = {a.person_id: uow.get(Person, a.person_id).name for a in found}
        return [{"appointment": a, "holder_name": mask_name(names[a.person_id])} for a in found]


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
        if uow.appointments.live_booking(slot_id=slot_id, person_id=person_id) is not None:
            raise errors.AppointmentDuplicate()
        uow.conflict_means(errors.AppointmentDuplicate())  # the same person booking twice at once
        if not uow.appointments.take_place(slot_id):
            raise errors.SlotFull(capacity=slot.capacity)
        booked = Appointment(new_id("apt"), slot_id, person_id, purpose[:40], AppointmentStatus.BOOKED.value, now,
                             None, slot, None)
        uow.appointments.add(booked)
        ctx.audit(uow, actor, "appointment.book", "appointment", booked.id, slot_id=slot_id, person_id=person_id,
                  institution_code=slot.institution_code, purpose=booked.purpose)
        uow.commit()
        return replace(booked, slot=_get_slot(uow, slot_id))


def cancel(ctx: Context, *, actor: Actor, appointment_id: str) -> Appointment:
    """The person (or staff) cancels a booking; its place is free again."""
    now = ctx.now()
    with ctx.uow() as uow:
        found = uow.appointments.appointment(appointment_id)
        if found is None:
            raise errors.AppointmentNotFound()
        access.ensure_owner_or_staff(actor, found.person_id)
        if not uow.appointments.move(appointment_id, status=AppointmentStatus.CANCELLED, at=now):
            if found.status == AppointmentStatus.USED:
                raise errors.AppointmentUsed(used_at=found.used_at.isoformat() if found.used_at else "")
            raise errors.AppointmentCancelled()
        uow.appointments.free_place(found.slot_id)
        ctx.audit(uow, actor, "appointment.cancel", "appointment", appointment_id, slot_id=found.slot_id)
        uow.commit()
        return replace(found, status=AppointmentStatus.CANCELLED.value, cancelled_at=now,
                       slot=_get_slot(uow, found.slot_id))


def serves_by_appointment(uow: UnitOfWork, institution_code: str) -> bool:
    """An institution that has published slots serves by appointment."""
    return uow.appointments.has_slots(institution_code)


def booked_on(uow: UnitOfWork, person_id: str, institution_code: str, day: dt.date) -> bool:
    """Whether the person holds a booking at the institution in a slot starting that day (Shanghai time)."""
    start, end = _day(day)
    return bool(uow.appointments.booked_between(person_id=person_id, institution_code=institution_code,
                                                start=start, end=end))


def use_booking(ctx: Context, uow: UnitOfWork, actor: Actor, *, person_id: str, institution_code: str,
                day: dt.date) -> str | None:
    """Mark the person's booking that day at the institution used (inside the redemption's unit of work), so it
    cannot be cancelled afterwards; None when they hold none."""
    start, end = _day(day)
    for appointment_id in uow.appointments.booked_between(person_id=person_id, institution_code=institution_code,
                                                          start=start, end=end):
        if uow.appointments.move(appointment_id, status=AppointmentStatus.USED, at=ctx.now()):
            ctx.audit(uow, actor, "appointment.use", "appointment", appointment_id, institution_code=institution_code)
            return appointment_id
    return None
