"""Users, their roles, and what each role is linked to (R7)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.domain import errors


class Role(StrEnum):
    PERSON = "person"
    UNIT = "unit"
    INSTITUTION = "institution"
    COUNTER = "counter"  # agency counter staff (窗口经办): take cases in person, register, freeze
    TERMINAL = "terminal"  # a self-service machine at an agency site (自助机具)
    COLLECTOR = "collector"  # the contribution collector: tax office or bank channel
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


AGENCY_STAFF = (Role.COUNTER, Role.REVIEWER, Role.ADMIN)  # act at the agency, the person in front of them
REVIEW_STAFF = (Role.REVIEWER, Role.ADMIN)  # decide cases, pay out, manage institutions
READ_ALL = (Role.COUNTER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN)

PASSWORD_MIN_LENGTH = 8


@dataclass(eq=False)
class User:
    id: str
    username: str
    password_hash: str
    role: str
    created_at: dt.datetime
    person_id: str | None = None
    employer_id: str | None = None
    institution_code: str | None = None
    active: bool = True

    @staticmethod
    def check_links(role: Role, *, person_id, employer_id, institution_code) -> None:
        needs = {Role.PERSON: ("person_id", person_id), Role.UNIT: ("employer_id", employer_id),
                 Role.INSTITUTION: ("institution_code", institution_code)}
        if role in needs and not needs[role][1]:
            raise errors.RoleLinkMissing(role=role.value, link=needs[role][0])


@dataclass(eq=False)
class AuthToken:
    digest: str
    user_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the system itself (CLI, jobs)."""

    username: str
    role: Role
    user_id: str | None = None
    person_id: str | None = None
    employer_id: str | None = None
    institution_code: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(username=name, role=Role.ADMIN)

    def is_(self, *roles: Role) -> bool:
        return self.role in roles
