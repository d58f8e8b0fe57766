"""Cash payouts: the counter's look-up of a cash voucher, its redemption, and appointments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from yibao.api.schemas.common import Body
from yibao.api.schemas.credentials import CardCredential, EVoucherCodeCredential, EVoucherCredential
from yibao.services.applications.appointments import MAX_CAPACITY


class RedeemCreate(Body):
    """The holder proves who they are: card and PIN or the e-voucher (credential), or agency counter staff type
    the number of the ID document they checked (id_number)."""

    institution_code: str | None = Field(default=None, max_length=20,
                                         description="agency staff: the institution served at (none: the counter)")
    credential: Annotated[CardCredential | EVoucherCodeCredential | EVoucherCredential,
                          Field(discriminator="type")] | None = None
    id_number: str | None = Field(default=None, max_length=18,
                                  description="agency counter staff: the holder's ID number, from the ID card")


class RedemptionRead(BaseModel):
    application_id: str
    status: str
    amount_fen: int
    redeemed_at: dt.datetime
    redeemed_by: str
    institution_code: str | None
    voucher_code: str  # of the redemption slip printed at the counter
    voucher_pdf: str


class SlotCreate(Body):
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int = Field(strict=True, ge=1, le=MAX_CAPACITY)


class SlotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slot_id: str = Field(validation_alias="id")
    institution_code: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    remaining: int


class AppointmentCreate(Body):
    slot_id: str = Field(max_length=24)
    person_id: str = Field(max_length=24)
    purpose: str = Field(min_length=1, max_length=40, description="e.g. cash_voucher")


class AppointmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    appointment_id: str = Field(validation_alias="id")
    slot_id: str
    person_id: str
    purpose: str
    status: Literal["booked", "cancelled", "used"]
    created_at: dt.datetime
    cancelled_at: dt.datetime | None
    used_at: dt.datetime | None = None
    slot: SlotRead


class CashVoucherLookupRead(BaseModel):
    """取现凭证核验: what the counter checks before paying out; the holder is masked."""

    code: str
    application_id: str
    holder_name: str
    holder_id_number: str
    amount_fen: int
    status: Literal["issued", "redeemed", "expired"]
    issued_at: dt.datetime
    valid_until: dt.datetime
    institution_code: str | None
    redeemed_at: dt.datetime | None = None
    redeemed_at_institution: str | None = None
