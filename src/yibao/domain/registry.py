"""Master data of the registry: persons, employers (units), enrolments, institutions, agencies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from yibao.domain import errors


class Verification(StrEnum):
    """How a person's identity was verified."""

    COUNTER = "counter"  # by agency staff, the ID card in hand
    REGISTER = "register"  # name and ID number matched the residents register (人口库)


@dataclass(eq=False)
class Person:
    id: str
    id_number: str
    name: str
    phone: str
    region: str
    birth_date: dt.date
    sex: str
    created_at: dt.datetime
    verified_at: dt.datetime | None = None
    verified_by: str | None = None
    verified_how: str | None = None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    def verify(self, *, how: Verification, by: str, at: dt.datetime) -> None:
        self.verified_how, self.verified_by, self.verified_at = how.value, by, at

    def snapshot(self) -> dict:
        return {"id_number": self.id_number, "name": self.name, "phone": self.phone, "region": self.region,
                "verified_how": self.verified_how}


@dataclass(eq=False)
class Employer:
    """A unit (参保单位). It may be registered incomplete, but enrols nobody until complete (R2)."""

    id: str
    uscc: str
    name: str | None
    region: str | None
    contact_name: str | None
    contact_phone: str | None
    created_at: dt.datetime

    REQUIRED = {
        "name": "单位名称",
        "region": "所在地区",
        "contact_name": "联系人",
        "contact_phone": "联系电话",
    }

    def missing_fields(self) -> list[str]:
        return [f for f in self.REQUIRED if not getattr(self, f)]

    def ensure_complete(self) -> None:
        missing = self.missing_fields()
        if missing:
            raise errors.EmployerIncomplete(
                missing=missing,
                missing_zh="、".join(self.REQUIRED[f] for f in missing),
                missing_en=", ".join(missing),
            )

    def snapshot(self) -> dict:
        return {
            "uscc": self.uscc,
            "name": self.name,
            "region": self.region,
            "contact_name": self.contact_name,
            "contact_phone": self.contact_phone,
        }


class Scheme(StrEnum):
    EMPLOYEE = "employee"
    RESIDENT = "resident"


SCHEME_ZH = {Scheme.EMPLOYEE: "职工医保", Scheme.RESIDENT: "城乡居民医保"}


class EnrollmentStatus(StrEnum):
    REQUESTED = "requested"  # self-registered, awaiting the agency
    ACTIVE = "active"
    ENDED = "ended"
    SUPERSEDED = "superseded"  # a pending self-registration replaced by the real person's registration


OPEN_ENROLLMENT = (EnrollmentStatus.REQUESTED, EnrollmentStatus.ACTIVE)


@dataclass(eq=False)
class Enrollment:
    id: str
    person_id: str
    scheme: str
    employer_id: str | None
    flexible: bool
    start_date: dt.date
    status: str
    created_at: dt.datetime
    end_date: dt.date | None = None

    @staticmethod
    def check_shape(*, scheme: str, employer_id: str | None, flexible: bool) -> None:
        if scheme == Scheme.RESIDENT and (employer_id or flexible):
            raise errors.EnrollmentInvalid(
                reason_zh="城乡居民医保不通过单位或灵活就业参保",
                reason_en="a resident enrolment has no employer and is not flexible employment",
            )
        if scheme == Scheme.EMPLOYEE and bool(employer_id) == bool(flexible):
            raise errors.EnrollmentInvalid(
                reason_zh="职工医保须由单位办理，或以灵活就业身份办理（二选一）",
                reason_en="an employee enrolment is either through a unit or flexible employment, exactly one",
            )

    def snapshot(self) -> dict:
        return {
            "person_id": self.person_id,
            "scheme": self.scheme,
            "employer_id": self.employer_id,
            "flexible": self.flexible,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "status": self.status,
        }


class InstitutionKind(StrEnum):
    HOSPITAL = "hospital"
    CLINIC = "clinic"
    PHARMACY = "pharmacy"


@dataclass(eq=False)
class Institution:
    code: str
    name: str
    kind: str
    region: str
    cross_region: bool
    designated_from: dt.date | None
    designated_to: dt.date | None
    created_at: dt.datetime

    def designated_on(self, day: dt.date) -> bool:
        return (
            self.designated_from is not None
            and self.designated_from <= day
            and (self.designated_to is None or day <= self.designated_to)
        )

    def snapshot(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "region": self.region,
            "cross_region": self.cross_region,
            "designated_from": self.designated_from.isoformat() if self.designated_from else None,
            "designated_to": self.designated_to.isoformat() if self.designated_to else None,
        }


@dataclass(eq=False)
class Agency:
    """A regional insurance agency (经办机构) and how to reach it (R16)."""

    region: str
    name: str
    address: str
    phone: str
    hours: str = ""
    website: str = ""
    services: list[str] = field(default_factory=list)
