"""Who may see and do what: role checks and ownership (R7).

Adapters check nothing themselves; every service calls these with the acting user,
so the API, CLI and web pages enforce the same rules.
"""

from __future__ import annotations

from yibao.domain import errors
from yibao.domain.users import AGENCY_STAFF, READ_ALL, Actor, Role
from yibao.services.ports import UnitOfWork


def require(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise errors.AccessForbidden()


def is_owner(actor: Actor, person_id: str) -> bool:
    return actor.role == Role.PERSON and actor.person_id == person_id


def employs(uow: UnitOfWork, employer_id: str | None, person_id: str) -> bool:
    if not employer_id:
        return False
    return uow.persons.employs(employer_id, person_id)


def basics_only(actor: Actor) -> bool:
    """A unit sees no more of its employee than the masked ID number and the name."""
    return actor.role == Role.UNIT


def ensure_can_read_person(uow: UnitOfWork, actor: Actor, person_id: str) -> None:
    """The person's basics: staff, auditors, the owner, and a unit while it employs them."""
    if actor.role in READ_ALL or is_owner(actor, person_id):
        return
    if actor.role == Role.UNIT and employs(uow, actor.employer_id, person_id):
        return
    raise errors.AccessForbidden()


def ensure_owner_or_staff(actor: Actor, person_id: str) -> None:
    """Acts on a person's own credentials: the person, or agency staff at the counter."""
    if actor.role in AGENCY_STAFF or is_owner(actor, person_id):
        return
    raise errors.AccessForbidden()


def ensure_owner_or_admin(actor: Actor, person_id: str) -> None:
    if actor.role == Role.ADMIN or is_owner(actor, person_id):
        return
    raise errors.AccessForbidden()


def ensure_can_read_owned(uow: UnitOfWork, actor: Actor, person_id: str) -> None:
    """Credentials and accounts a person holds: the person, staff and auditors only."""
    if actor.role in READ_ALL or is_owner(actor, person_id):
        return
    raise errors.AccessForbidden()


def ensure_employer_access(actor: Actor, employer_id: str, *, write: bool) -> None:
    if actor.role == Role.UNIT and actor.employer_id == employer_id:
        return
    allowed = AGENCY_STAFF if write else READ_ALL
    if actor.role in allowed:
        return
    raise errors.AccessForbidden()
