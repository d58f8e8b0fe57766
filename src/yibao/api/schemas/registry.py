"""The register: persons, employers, enrolments, institutions, agencies, the residents register, life events and
heirs."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from yibao.api.schemas.common import Body, InstitutionKind, Scheme
from yibao.domain.masking import mask_id_number, mask_phone
from yibao.domain.regions import region_name
from yibao.services.registry.residents import SOURCE_MAX


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
    scheme: Scheme
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
    kind: InstitutionKind
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


class HeirCreate(Body):
    """The heir applying for a deceased person's balance, as on the heir's ID card, and their relation."""

    id_number: str = Field(max_length=18)
    name: str = Field(max_length=50)
    relation: str = Field(max_length=12, description="spouse | child | parent | sibling | grandparent | grandchild")


class ResidentRowIn(Body):
    id_number: str = Field(max_length=30)
    name: str = Field(max_length=100)
    status: str = Field(max_length=20, description="alive, deceased or emigrated")
    event_date: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD; for deceased or emigrated")


class ResidentsImport(Body):
    rows: list[ResidentRowIn] = Field(min_length=1, max_length=10_000)
    source: str = Field(default="api", min_length=1, max_length=SOURCE_MAX, description="where the extract comes from")


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
