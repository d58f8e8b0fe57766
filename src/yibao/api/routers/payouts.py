"""Cash payouts at a counter or terminal: redeeming a cash voucher, and the institutions' appointment slots."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.payouts import (
    AppointmentCreate,
    AppointmentRead,
    CashVoucherLookupRead,
    RedeemCreate,
    RedemptionRead,
    SlotCreate,
    SlotRead,
)
from yibao.services.applications import appointments, cash_vouchers

API = "/api/v1"
router = APIRouter(tags=["cash vouchers and appointments"])


@router.get("/cash-vouchers/{code}", response_model=CashVoucherLookupRead)
def look_up_cash_voucher(ctx: Ctx, actor: CurrentActor, code: str):
    """Before paying out: the holder (masked), the amount, state and validity (agency staff, the institution)."""
    return CashVoucherLookupRead(**cash_vouchers.lookup(ctx, actor=actor, code=code))


@router.post("/cash-vouchers/{code}/redeem", response_model=RedemptionRead)
def redeem_cash_voucher(ctx: Ctx, actor: CurrentActor, code: str, body: RedeemCreate | None = None):
    """Pay a cash voucher out once to its holder, proven by card and PIN, the e-voucher or (agency staff) the ID
    number (an institution's user, or agency staff at a counter)."""
    body = body or RedeemCreate()
    done = cash_vouchers.redeem(ctx, actor=actor, code=code, institution_code=body.institution_code,
                                credential=body.credential.model_dump() if body.credential else None,
                                id_number=body.id_number)
    cash, app = done.cash_voucher, done.application
    return RedemptionRead(application_id=app.id, status=app.status, amount_fen=cash.amount_fen,
                          redeemed_at=cash.redeemed_at, redeemed_by=cash.redeemed_by,
                          institution_code=cash.redeemed_at_institution, voucher_code=done.voucher.code,
                          voucher_pdf=f"{API}/applications/{app.id}/vouchers/redemption.pdf")


@router.post("/institutions/{code}/slots", status_code=201, response_model=SlotRead)
def publish_slot(ctx: Ctx, actor: CurrentActor, code: str, body: SlotCreate):
    return SlotRead.model_validate(appointments.publish_slot(ctx, actor=actor, institution_code=code,
                                                             **body.model_dump()))


@router.get("/institutions/{code}/slots", response_model=list[SlotRead])
def list_slots(ctx: Ctx, actor: CurrentActor, code: str, date: dt.date | None = None):
    """The institution's slots starting on the day (default today), with the places left."""
    return [SlotRead.model_validate(s) for s in appointments.list_slots(ctx, actor=actor, institution_code=code,
                                                                        day=date)]


@router.post("/appointments", status_code=201, response_model=AppointmentRead)
def book_appointment(ctx: Ctx, actor: CurrentActor, body: AppointmentCreate):
    return AppointmentRead.model_validate(appointments.book(ctx, actor=actor, **body.model_dump()))


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentRead)
def cancel_appointment(ctx: Ctx, actor: CurrentActor, appointment_id: str):
    return AppointmentRead.model_validate(appointments.cancel(ctx, actor=actor, appointment_id=appointment_id))
