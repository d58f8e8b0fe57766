"""Credentials: cards and PINs, e-vouchers and payment codes, bank accounts, passwords, and the credential a
payment presents."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from yibao.api.schemas.common import Body
from yibao.domain.masking import mask_account_no


class CardCreate(Body):
    person_id: str
    expires_on: dt.date | None = None


class CardActivate(Body):
    id_number: str
    pin: str


class CardFreeze(Body):
    reason: str = Field(default="", max_length=200)


class PinCheck(Body):
    pin: str


class CardRead(BaseModel):
    card_no: str
    status: str
    person_id: str | None  # not shown to institutions
    issued_on: dt.date
    expires_on: dt.date
    pin_locked: bool
    replaced_by: str | None = None

    @classmethod
    def of(cls, card, today: dt.date, *, show_person: bool = True) -> CardRead:
        return cls(card_no=card.card_no, status=card.status_on(today).value,
                   person_id=card.person_id if show_person else None,
                   issued_on=card.issued_on, expires_on=card.expires_on, pin_locked=card.pin_locked,
                   replaced_by=card.replaced_by)


class EVoucherCreate(Body):
    person_id: str
    id_number: str
    name: str
    channel: str


class EVoucherRead(BaseModel):
    evoucher_id: str
    person_id: str
    channel: str
    status: str
    activated_at: dt.datetime
    revoked_at: dt.datetime | None = None

    @classmethod
    def of(cls, v) -> EVoucherRead:
        return cls(evoucher_id=v.id, person_id=v.person_id, channel=v.channel, status=v.status,
                   activated_at=v.activated_at, revoked_at=v.revoked_at)


class EVoucherIssued(EVoucherRead):
    token: str


class BankAccountCreate(Body):
    person_id: str
    account_no: str
    bank_name: str = Field(max_length=100)
    holder_name: str
    primary: bool | None = None
    phone: str | None = Field(default=None, max_length=20)  # the phone the bank holds; default: the person's


class BankAccountRead(BaseModel):
    bank_account_id: str
    person_id: str
    account_no: str
    bank_name: str
    holder_name: str
    primary: bool
    status: str = "linked"  # linked | unlinked
    unlinked_at: dt.datetime | None = None

    @classmethod
    def of(cls, a, *, owner: bool) -> BankAccountRead:
        return cls(bank_account_id=a.id, person_id=a.person_id,
                   account_no=a.account_no if owner else mask_account_no(a.account_no),
                   bank_name=a.bank_name, holder_name=a.holder_name, primary=a.is_primary, status=a.status,
                   unlinked_at=a.unlinked_at)


class CardCredential(Body):
    type: Literal["card"]
    card_no: str = Field(max_length=24)
    pin: str = Field(max_length=12)


class EVoucherCredential(Body):
    """The long-lived e-voucher token: no longer accepted as a credential (credential.token_not_accepted)."""

    type: Literal["evoucher"]
    token: str = Field(max_length=128)


class EVoucherCodeCredential(Body):
    """A one-minute, one-use payment code of the e-voucher (POST /evouchers/codes): the content of its QR."""

    type: Literal["evoucher_code"]
    code: str = Field(max_length=32)


class PasswordChange(Body):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordChanged(BaseModel):
    other_sessions_ended: int


class PinChange(Body):
    old_pin: str = Field(max_length=12)
    new_pin: str = Field(max_length=12)


class PaymentCodeCreate(Body):
    token: str = Field(max_length=128, description="the e-voucher's token, the app's credential")


class PaymentCodeRead(BaseModel):
    code: str
    expires_at: dt.datetime


class PinUnlock(Body):
    id_number: str = Field(max_length=18, description="the holder's ID number, from the ID card checked at the counter")
