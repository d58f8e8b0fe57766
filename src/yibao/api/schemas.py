"""Request and response bodies, per entity (XCreate / XRead), separate from the domain classes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from yibao.domain import vocabulary as v
from yibao.domain.masking import mask_account_no, mask_id_number, mask_phone
from yibao.domain.regions import region_name
from yibao.domain.settlement_request import MAX_ITEM_FEN, MAX_ITEMS
from yibao.domain.users import Role

# The words requests may use, from the domain's one list of each (Literal of its keys, so the OpenAPI shows them).
Category = Literal[tuple(v.CATEGORIES)]
Relation = Literal[tuple(v.RELATIONS)]
Channel = Literal[tuple(v.CHANNELS)]

class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL cannot store NUL in text; refuse it here, the same on every backend.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"


class MeRead(BaseModel):
    username: str
    role: str
    person_id: str | None = None
    employer_id: str | None = None
    institution_code: str | None = None


class UserCreate(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str
    role: Role
    person_id: str | None = None
    employer_id: str | None = None
    institution_code: str | None = None


class UserRead(BaseModel):
    user_id: str
    username: str
    role: str


class RegisterCreate(Body):
    id_number: str
    name: str
    phone: str
    region: str
    password: str
    username: str | None = Field(default=None, max_length=64)


class Step(BaseModel):
    step: str
    zh: str
    en: str


class RegisterRead(BaseModel):
    person_id: str
    enrollment_id: str
    enrollment_status: str
    username: str
    next_steps: list[Step]


class PersonCreate(Body):
    id_number: str
    name: str
    phone: str
    region: str


class PersonUpdate(Body):
    name: str | None = None
    phone: str | None = None
    region: str | None = None


class PersonLookup(Body):
    id_number: str
    name: str | None = Field(default=None, max_length=50)  # a unit's look-up needs it


class PersonId(BaseModel):
    person_id: str


class PersonRead(BaseModel):
    person_id: str
    id_number: str
    name: str
    phone: str | None = None  # none of these but the masked number and the name for a unit
    region: str | None = None
    region_name: str | None = None
    sex: str | None = None
    birth_date: dt.date | None = None

    @classmethod
    def basics(cls, person) -> PersonRead:
        """What a unit sees of its own employee: the masked ID number and the name."""
        return cls(person_id=person.id, id_number=mask_id_number(person.id_number), name=person.name)

    @classmethod
    def of(cls, person, *, owner: bool) -> PersonRead:
        return cls(
            person_id=person.id,
            id_number=person.id_number if owner else mask_id_number(person.id_number),
            name=person.name,
            phone=person.phone if owner else mask_phone(person.phone),
            region=person.region,
            region_name=region_name(person.region),
            sex=person.sex,
            birth_date=person.birth_date if owner else None,
        )


class VersionRead(BaseModel):
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    actor: str
    data: dict


class EmployerCreate(Body):
    uscc: str
    name: str | None = Field(default=None, max_length=200)
    region: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class EmployerUpdate(Body):
    name: str | None = Field(default=None, max_length=200)
    region: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class EmployerRead(BaseModel):
    employer_id: str
    uscc: str
    name: str | None
    region: str | None
    contact_name: str | None
    contact_phone: str | None
    complete: bool
    missing: list[str]

    @classmethod
    def of(cls, e) -> EmployerRead:
        return cls(employer_id=e.id, uscc=e.uscc, name=e.name, region=e.region, contact_name=e.contact_name,
                   contact_phone=mask_phone(e.contact_phone) if e.contact_phone else None,
                   complete=not e.missing_fields(), missing=e.missing_fields())


class EnrollmentCreate(Body):
    person_id: str
    scheme: Literal["employee", "resident"]
    employer_id: str | None = None
    flexible: bool = False
    start_date: dt.date
    reason: str | None = Field(default=None, max_length=200)  # the agency's, for a start before a unit's limit


class EnrollmentEnd(Body):
    end_date: dt.date
    reason: str | None = Field(default=None, max_length=200)  # the agency's, for an end before a unit's limit


class EnrollmentRead(BaseModel):
    enrollment_id: str
    person_id: str
    scheme: str
    employer_id: str | None
    flexible: bool
    start_date: dt.date
    end_date: dt.date | None
    status: str

    @classmethod
    def of(cls, e) -> EnrollmentRead:
        return cls(enrollment_id=e.id, person_id=e.person_id, scheme=e.scheme, employer_id=e.employer_id,
                   flexible=e.flexible, start_date=e.start_date, end_date=e.end_date, status=e.status)


class InstitutionCreate(Body):
    code: str
    name: str = Field(max_length=200)
    kind: Literal["hospital", "clinic", "pharmacy"]
    region: str
    designated: bool
    cross_region: bool
    designated_from: dt.date | None = None
    designated_to: dt.date | None = None


class InstitutionRead(BaseModel):
    code: str
    name: str
    kind: str
    region: str
    region_name: str | None
    designated: bool
    designated_from: dt.date | None
    designated_to: dt.date | None
    cross_region: bool

    @classmethod
    def of(cls, i, today: dt.date) -> InstitutionRead:
        return cls(code=i.code, name=i.name, kind=i.kind, region=i.region, region_name=region_name(i.region),
                   designated=i.designated_on(today), designated_from=i.designated_from,
                   designated_to=i.designated_to, cross_region=i.cross_region)


class AgencyRead(BaseModel):
    region: str
    region_name: str | None
    name: str
    address: str
    phone: str
    hours: str
    website: str
    services: list[str]

    @classmethod
    def of(cls, a) -> AgencyRead:
        return cls(region=a.region, region_name=region_name(a.region), name=a.name, address=a.address,
                   phone=a.phone, hours=a.hours, website=a.website, services=a.services)


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


class ClockSet(Body):
    now: dt.datetime


class ClockRead(BaseModel):
    now: dt.datetime
    today: dt.date


# --- money ----------------------------------------------------------------------

Fen = Annotated[int, Field(strict=True, gt=0, le=10**12)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128)]


class ContributionCreate(Body):
    person_id: str = Field(max_length=24)
    period: str = Field(examples=["2026-01"], max_length=7)
    base_fen: Fen
    employer_id: str | None = Field(default=None, max_length=24)


class RuleRead(BaseModel):
    rule_id: str
    region: str
    effective_from: dt.date
    reference: str


class ContributionRead(BaseModel):
    contribution_id: str | None
    person_id: str
    period: str
    base_fen: int
    employer_id: str | None
    credited_fen: int
    balance_fen: int
    rule: RuleRead
    explanation_zh: str
    explanation_en: str


class HoldRead(BaseModel):
    hold_id: str
    amount_fen: int
    captured_fen: int
    status: str
    purpose: str
    expires_at: dt.datetime | None  # none: held until the bank's signed return settles it
    entry_id: str | None = None


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: str
    region: str
    balance_fen: int
    available_fen: int
    held_fen: int
    current_year_fen: int
    carried_over_fen: int
    holds: list[HoldRead]


class EntryLineRead(BaseModel):
    entry_id: str
    kind: str
    at: dt.datetime
    business_date: dt.date
    memo: str
    amount_fen: int
    current_year_fen: int
    carried_over_fen: int
    balance_after_fen: int
    reverses_id: str | None = None


class StatementRead(BaseModel):
    person_id: str
    date_from: dt.date | None = Field(default=None, serialization_alias="from")
    date_to: dt.date | None = Field(default=None, serialization_alias="to")
    opening_balance_fen: int
    closing_balance_fen: int
    entries: list[EntryLineRead]

    @classmethod
    def of(cls, s) -> StatementRead:
        return cls(person_id=s.person_id, date_from=s.date_from, date_to=s.date_to,
                   opening_balance_fen=s.opening_balance_fen, closing_balance_fen=s.closing_balance_fen,
                   entries=[EntryLineRead(entry_id=line.entry_id, kind=line.kind, at=line.at,
                                          business_date=line.business_date, memo=line.memo,
                                          amount_fen=line.amount_fen, current_year_fen=line.current_year_fen,
                                          carried_over_fen=line.amount_fen - line.current_year_fen,
                                          balance_after_fen=line.balance_after_fen, reverses_id=line.reverses_id)
                            for line in s.lines])


class EntryReverse(Body):
    reason: str = Field(min_length=1, max_length=200)


class EntryRead(BaseModel):
    entry_id: str
    kind: str
    at: dt.datetime
    business_date: dt.date
    reverses_id: str | None = None
    postings: list[dict]


class VoucherRead(BaseModel):
    code: str
    kind: str
    created_at: dt.datetime
    holder_name: str
    holder_id_number: str
    subject: dict
    sha256: str


# --- policy -----------------------------------------------------------------------


class ExplainCreate(Body):
    person_id: str = Field(max_length=24)
    action: Literal["settle", "withdraw", "reimburse", "file", "family_grant"]
    amount_fen: Annotated[int, Field(strict=True, ge=0, le=10**12)] | None = None
    institution_code: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, max_length=32,
                               description="withdraw: general, death, emigration, transfer_out; reimburse: "
                                           "cross_region, emergency, other; file: the filing reason")
    date: dt.date | None = None
    relation: Relation | None = None
    category: Category | None = None
    channel: Channel | None = None
    by_proxy: bool | None = None


class ReasonRead(BaseModel):
    rule_id: str
    region: str
    effective_from: dt.date
    reference: str
    message_zh: str
    message_en: str


class RequirementRead(BaseModel):
    kind: str
    value: str | int | list | None
    met: bool | None
    message_zh: str
    message_en: str


class AgencyBrief(BaseModel):
    region: str
    name: str
    address: str
    phone: str
    hours: str
    website: str


class ExplainRead(BaseModel):
    person_id: str
    date: dt.date
    action: str
    question_zh: str
    question_en: str
    allowed: bool
    max_amount_fen: int | None
    code: str | None
    limited_by: list[str]
    requirements: list[RequirementRead]
    reasons: list[ReasonRead]
    details: dict
    explanation_zh: str
    explanation_en: str
    answer_zh: str
    answer_en: str
    agency: AgencyBrief | None
    policy_set: dict


class PolicyItemRead(BaseModel):
    model_config = ConfigDict(extra="allow")  # a rule's question, conditions and figures; a parameter's value

    kind: str
    region: str
    name: str
    effective_from: dt.date
    version_from: dt.date
    loaded_at: dt.datetime | None
    description_zh: str
    description_en: str
    reference: str


class PolicyRead(BaseModel):
    region: str
    policy_region: str
    name_zh: str | None
    name_en: str | None
    date: dt.date
    policy_set: dict
    rules: list[PolicyItemRead]
    parameters: list[PolicyItemRead]


class PolicyChangeRead(BaseModel):
    status: Literal["added", "removed", "changed"]
    kind: str
    region: str
    name: str
    on: dt.date | None
    before: dict | None
    after: dict | None


class NoticeRead(BaseModel):
    id: int
    kind: str
    created_at: dt.datetime
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    data: dict
    read_at: dt.datetime | None


# --- cross-region filings and family grants -----------------------------------------


class FilingCreate(Body):
    person_id: str = Field(max_length=24)
    type: Literal["long_term", "temporary"]
    reason: Literal["resettled_retiree", "long_term_resident", "posted_worker", "referral", "emergency", "other"]
    destination_region: str = Field(min_length=6, max_length=6)
    start_date: dt.date | None = None


class FilingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    filing_id: str = Field(validation_alias="id")
    person_id: str
    type: str
    reason: str
    destination_region: str
    valid_from: dt.date
    valid_to: dt.date | None
    status: str
    rule_id: str
    created_at: dt.datetime
    closed_at: dt.datetime | None = None
    rules: list[RuleRead] = []


class GrantCreate(Body):
    owner_id: str = Field(max_length=24)
    grantee_id: str = Field(max_length=24)
    relation: Relation


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    grant_id: str = Field(validation_alias="id")
    owner_id: str
    grantee_id: str
    relation: str
    status: str
    rule_id: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None  # when it ended: revoked, declined or cancelled
    accepted_at: dt.datetime | None = None  # when it came into force
    rules: list[RuleRead] = []


# --- settlement -----------------------------------------------------------------------------


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


class ItemCreate(Body):
    category: Category
    amount_fen: Annotated[int, Field(strict=True, gt=0, le=MAX_ITEM_FEN)]


class SettlementCreate(Body):
    idempotency_key: str = Field(min_length=1, max_length=128)
    institution_code: str = Field(max_length=20)
    credential: Annotated[CardCredential | EVoucherCodeCredential | EVoucherCredential, Field(discriminator="type")]
    account_owner_id: str | None = Field(default=None, max_length=24)
    items: list[ItemCreate] = Field(min_length=1, max_length=MAX_ITEMS)
    emergency: Annotated[bool, Field(strict=True)] = False  # 急诊抢救, stated by the institution


class SettlementDecisionRead(BaseModel):
    limited_by: list[str]
    rules: list[RuleRead]
    explanation_zh: str
    explanation_en: str


class SettlementRead(BaseModel):
    settlement_id: str
    receipt_no: str = Field(default="", description="票据号: the receipt's number, which is the settlement id")
    institution_code: str
    payer_id: str
    account_owner_id: str
    credential_type: str
    total_fen: int
    account_paid_fen: int
    cash_fen: int
    refunded_fen: int
    status: str
    business_date: dt.date
    at: dt.datetime
    items: list[dict]
    decision: SettlementDecisionRead
    entry_id: str | None
    emergency: bool = False
    balance_after_fen: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _receipt_is_the_settlement(cls, data):
        """An answer kept from before receipts were numbered shows the number it had all along."""
        if isinstance(data, dict) and not data.get("receipt_no"):
            data = {**data, "receipt_no": data.get("settlement_id", "")}
        return data


class RefundCreate(Body):
    idempotency_key: str = Field(min_length=1, max_length=128)
    amount_fen: Annotated[int, Field(strict=True, gt=0, le=10**12)] | None = None


class RefundRead(BaseModel):
    refund_id: str
    settlement_id: str
    amount_fen: int
    refunded_fen: int
    status: str
    restores_quota: bool
    balance_after_fen: int


class CategoryTotalRead(BaseModel):
    total_fen: int
    lines: int


class SettlementSummaryRead(BaseModel):
    institution_code: str
    date: dt.date
    count: int
    total_fen: int
    account_paid_fen: int
    cash_fen: int
    refunded_fen: int
    per_category: dict[str, CategoryTotalRead]


# --- applications: documents, review, disbursement --------------------------------------


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
    capacity: int = Field(strict=True, ge=1, le=1000)


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


# --- life events, heirs and account freezes -----------------------------------------


class LifeEventCreate(Body):
    kind: str = Field(max_length=16, description="death | emigration")
    date: dt.date
    document_ids: list[str] = Field(default_factory=list, max_length=20)


class LateSettlementRead(BaseModel):
    """A settlement made on or after the event's date before the event was recorded: a finding for review."""

    settlement_id: str
    institution_code: str
    business_date: dt.date
    credential_type: str
    total_fen: int
    account_paid_fen: int
    payer_id: str
    account_owner_id: str


class LifeEventRead(BaseModel):
    event_id: str
    person_id: str
    kind: str
    date: dt.date
    source: str
    recorded_at: dt.datetime
    recorded_by: str
    document_ids: list[str] = []
    late_settlements: list[str] = []  # findings for review, as recorded with the event
    account_closed_at: dt.datetime | None = None
    closing_application_id: str | None = None

    @classmethod
    def of(cls, event) -> LifeEventRead:
        return cls(event_id=event.id, person_id=event.person_id, kind=event.kind, date=event.event_date,
                   source=event.source, recorded_at=event.recorded_at, recorded_by=event.recorded_by,
                   document_ids=list(event.document_ids), late_settlements=list(event.late_settlement_ids),
                   account_closed_at=event.account_closed_at, closing_application_id=event.closing_application_id)


class LifeEventDetailRead(LifeEventRead):
    settlements_since: list[LateSettlementRead] = []

    @classmethod
    def with_settlements(cls, event, settlements) -> LifeEventDetailRead:
        return cls(**LifeEventRead.of(event).model_dump(), settlements_since=[LateSettlementRead(
            settlement_id=s.id, institution_code=s.institution_code, business_date=s.business_date,
            credential_type=s.credential_type, total_fen=s.total_fen, account_paid_fen=s.account_paid_fen,
            payer_id=s.payer_id, account_owner_id=s.owner_id) for s in settlements])


class FreezeCreate(Body):
    reason: str = Field(default="", max_length=200)


class FreezeRead(BaseModel):
    freeze_id: str
    person_id: str
    reason: str
    card_no: str | None = None
    frozen_at: dt.datetime
    frozen_by: str
    lifted_at: dt.datetime | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None
    in_force: bool

    @classmethod
    def of(cls, found) -> FreezeRead:
        return cls(freeze_id=found.id, person_id=found.person_id, reason=found.reason, card_no=found.card_no,
                   frozen_at=found.frozen_at, frozen_by=found.frozen_by, lifted_at=found.lifted_at,
                   lifted_by=found.lifted_by, lift_reason=found.lift_reason, in_force=found.lifted_at is None)


class HeirCreate(Body):
    """The heir applying for a deceased person's balance, as on the heir's ID card, and their relation."""

    id_number: str = Field(max_length=18)
    name: str = Field(max_length=50)
    relation: str = Field(max_length=12, description="spouse | child | parent | sibling | grandparent | grandchild")
# --- residents register and verification ------------------------------------------


class ResidentRowIn(Body):
    id_number: str = Field(max_length=30)
    name: str = Field(max_length=100)
    status: str = Field(max_length=20, description="alive, deceased or emigrated")
    event_date: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD; for deceased or emigrated")


class ResidentsImport(Body):
    rows: list[ResidentRowIn] = Field(min_length=1, max_length=10_000)
    source: str = Field(default="api", min_length=1, max_length=40, description="where the extract comes from")


class ResidentRejectionRead(BaseModel):
    line: int  # the row's position in `rows`, from 1
    code: str
    message_zh: str
    message_en: str


class ResidentsImportRead(BaseModel):
    rows: int
    accepted: int
    updated: int
    unchanged: int
    rejected: int
    life_events: int
    rejected_rows: list[ResidentRejectionRead]

    @classmethod
    def of(cls, summary) -> ResidentsImportRead:
        return cls(rows=summary.rows, accepted=summary.accepted, updated=summary.updated,
                   unchanged=summary.unchanged, rejected=summary.rejected, life_events=summary.life_events,
                   rejected_rows=[ResidentRejectionRead(line=r.line, code=r.code, message_zh=r.message_zh,
                                                        message_en=r.message_en) for r in summary.rejections])


class PersonVerify(Body):
    id_number: str = Field(max_length=30)
    name: str = Field(max_length=100)
    phone: str = Field(max_length=30)
# --- sign-in: passwords and PINs ------------------------------------------------


class PasswordChange(Body):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordChanged(BaseModel):
    other_sessions_ended: int


class PinChange(Body):
    old_pin: str = Field(max_length=12)
    new_pin: str = Field(max_length=12)


# --- cash vouchers: the counter's look-up before paying out ---------------------------


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
# --- collection (征缴到账) ------------------------------------------------------------


class DeclarationRead(BaseModel):
    """A declared month (缴费申报): pending until the collector confirms the payment; nothing credited before."""

    declaration_id: str
    status: str  # pending | collected
    person_id: str
    period: str
    base_fen: int
    employer_id: str | None
    declared_by_role: str
    declared_at: dt.datetime
    collected_at: dt.datetime | None
    credited_fen: int
    contribution_id: str | None


class DeclarationConfirmed(ContributionRead):
    declaration_id: str
    status: str


class ArrearsItem(DeclarationRead):
    months_overdue: int


class ArrearsPage(BaseModel):
    items: list[ArrearsItem]
    total_base_fen: int


# --- corrections: reversals with a second admin -------------------------------------------------------------


class ReversalPending(BaseModel):
    reversal_id: str
    status: str
    entry_id: str


class ReversalRead(ReversalPending):
    reason: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str = ""
    reversal_entry_id: str | None = None


class ReversalDecision(Body):
    note: str = Field(default="", max_length=200)


# --- payment codes and PIN unlocks ---------------------------------------------------------------


class PaymentCodeCreate(Body):
    token: str = Field(max_length=128, description="the e-voucher's token, the app's credential")


class PaymentCodeRead(BaseModel):
    code: str
    expires_at: dt.datetime


class PinUnlock(Body):
    id_number: str = Field(max_length=18, description="the holder's ID number, from the ID card checked at the counter")
