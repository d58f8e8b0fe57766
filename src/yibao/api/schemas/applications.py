"""Applications: documents, invoices, review, disbursement batches and the vouchers of the steps."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from yibao.api.schemas.common import Body, Category, Channel, RuleRead
from yibao.api.schemas.credentials import CardCredential
from yibao.api.schemas.registry import HeirCreate
from yibao.domain.masking import mask_account_no


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    document_id: str = Field(validation_alias="id")
    sha256: str
    person_id: str
    type: str
    size: int
    media_type: str
    filename: str
    uploaded_at: dt.datetime


class InvoiceItemCreate(Body):
    category: Category
    amount_fen: int = Field(gt=0, le=10**12)


class InvoiceCreate(Body):
    """发票: reimbursed once, whoever claims it (issuer and number, or the national e-invoice code)."""

    number: str = Field(min_length=1, max_length=40)
    issuer: str = Field(min_length=1, max_length=200, description="开票单位: a registered institution's code")
    einvoice_code: str | None = Field(default=None, max_length=40,
                                      description="全国统一电子票据号码, where the invoice is an e-invoice")
    date: dt.date
    institution: str | None = Field(default=None, max_length=200)
    items: list[InvoiceItemCreate] = Field(min_length=1, max_length=200)


class ApplicationCreate(Body):
    person_id: str = Field(max_length=24)
    kind: Literal["withdrawal", "reimbursement"]
    reason: str = Field(max_length=16)
    amount_fen: int | None = Field(default=None, gt=0, le=10**12)
    channel: Channel | None = Field(
        default=None, description="the session's; app or miniprogram names the person's own e-voucher channel")
    in_person: bool | None = Field(default=None, description="the session's (staff, terminal: true)")
    by_proxy: bool | None = Field(default=None, description="the session's; staff say true for a proxy (代办)")
    credential: CardCredential | None = Field(
        default=None, description="at a self-service terminal: the card and PIN of the person at the machine")
    document_ids: list[str] = Field(default_factory=list, max_length=50)
    applicant_id: str | None = Field(default=None, max_length=24)  # the heir, when the person has died
    event_date: dt.date | None = None  # the death, the emigration, the treatment
    invoices: list[InvoiceCreate] | None = Field(default=None, max_length=100)
    draft: bool = False
    payout: Literal["bank", "cash_voucher"] = Field(
        default="bank", description="cash_voucher: paid in cash at a counter or terminal (cross-region claims only)")
    institution_code: str | None = Field(default=None, max_length=20,
                                         description="where a cash voucher is to be redeemed")
    heir: HeirCreate | None = Field(default=None, description="death case: the heir applying (applicant_id)")


class ApplicationStepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str
    data: dict


class CashVoucherRead(BaseModel):
    """取现凭证: the code (and its QR image, SVG) that pays the application once at a counter or terminal."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    qr_svg: str
    amount_fen: int
    institution_code: str | None
    issued_at: dt.datetime
    valid_until: dt.datetime
    status: Literal["issued", "redeemed", "expired"]
    redeemed_at: dt.datetime | None = None
    redeemed_at_institution: str | None = None


class ApplicationRead(BaseModel):
    application_id: str
    status: str
    person_id: str
    applicant_id: str
    kind: str
    reason: str
    channel: str
    in_person: bool
    by_proxy: bool
    amount_fen: int
    approved_fen: int | None
    fee_fen: int
    payout_fen: int | None
    rule_id: str
    event_date: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    expected_arrival_date: dt.date | None = None
    supplement: dict | None = None
    document_ids: list[str] = []
    history: list[ApplicationStepRead] = []
    rules: list[RuleRead] = []
    payout: Literal["bank", "cash_voucher"] = "bank"
    institution_code: str | None = None
    cash_voucher: CashVoucherRead | None = None

    @classmethod
    def of(cls, app, *, documents=(), history=(), rules=(), cash_voucher=None) -> ApplicationRead:
        arrival = app.details.get("expected_arrival_date")
        return cls(application_id=app.id, status=app.status, person_id=app.person_id, applicant_id=app.applicant_id,
                   kind=app.kind, reason=app.reason, channel=app.channel, in_person=app.in_person,
                   by_proxy=app.by_proxy, amount_fen=app.requested_fen, approved_fen=app.approved_fen,
                   fee_fen=app.fee_fen, payout_fen=app.payout_fen if app.approved_fen else None,
                   rule_id=app.rule_id, event_date=app.event_date, created_at=app.created_at,
                   updated_at=app.updated_at, expected_arrival_date=arrival,
                   supplement=app.details.get("supplement"), document_ids=[d.id for d in documents],
                   history=[ApplicationStepRead.model_validate(s) for s in history],
                   rules=[RuleRead.model_validate(r) for r in rules], payout=app.payout,
                   institution_code=app.details.get("institution_code"),
                   cash_voucher=CashVoucherRead(**cash_voucher) if cash_voucher else None)


class ReviewCreate(Body):
    action: Literal["approve", "reject", "request_supplement"]
    note: str = Field(default="", max_length=2000)
    missing: list[str] | None = Field(default=None, max_length=30)


class SupplementCreate(Body):
    document_ids: list[str] = Field(min_length=1, max_length=50)


class BatchCreate(Body):
    bank_name: str | None = Field(default=None, max_length=100)


class BatchLineRead(BaseModel):
    line_no: int
    line_id: str | None
    application_id: str
    payee_name: str
    account_no: str
    amount_fen: int
    fee_fen: int
    status: str
    reason: str | None
    expected_arrival_date: dt.date

    @field_validator("account_no")
    @classmethod
    def _masked(cls, value: str) -> str:
        return mask_account_no(value)


class BatchRead(BaseModel):
    """A payment batch as read later: its lines with the account numbers masked."""

    batch_id: str
    file_id: str
    bank_name: str
    file_name: str
    sha256: str
    line_count: int
    total_fen: int
    status: str
    lines: list[BatchLineRead]


class BatchFileRead(BatchRead):
    """A payment batch when it is made, with the file for the bank (full account numbers: the bank needs them)."""

    file: str


class BatchesRead(BatchFileRead):
    """The first payment file made, and every file made (one per bank)."""

    batches: list[BatchFileRead]
    skipped: list[dict]


class ApplicationVoucherRead(BaseModel):
    """A voucher an application's steps give: issued (with its code), or issued when its PDF is first asked for."""

    kind: Literal["approval", "payment", "cash_voucher", "redemption"]
    title_zh: str
    title_en: str
    code: str | None
    issued_at: dt.datetime | None
    sha256: str | None
    subject: dict | None
    pdf: str
