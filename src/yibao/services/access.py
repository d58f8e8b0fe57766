"""Who may see and do what (R7): one table, per resource and action, of the roles allowed outright and of the
ties to the record that allow others (its owner, the unit employing them, its institution, a terminal acting
for the holder proven on it).

Adapters check nothing themselves; every service asks this table with the acting user and the record's facts,
so the API, CLI and web pages enforce the same rules, and the access-matrix test reads the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.users import AGENCY_STAFF, READ_ALL, REVIEW_STAFF, Actor, Role
from yibao.services.ports import UnitOfWork


@dataclass(frozen=True)
class Rule:
    """Who may: the roles allowed whatever the record, and the ties to the record that allow others."""

    roles: frozenset[Role] = frozenset()
    owner: bool = False  # the person the record belongs to, from their own session
    unit: bool = False  # a unit user, for the unit named (or the unit employing the person)
    institution: bool = False  # an institution user, for the institution named
    terminal: bool = False  # a self-service terminal, for the holder who proved themselves on it
    login: bool = False  # any user signed in with a login of their own

    def allows(self, actor: Actor, *, owners: Iterable[str | None] = (), employer_id: str | None = None,
               employs: Callable[[str], bool] | None = None, institution_code: str | None = None,
               holder_id: str | None = None) -> bool:
        """Whether the actor may, given the record's owners, unit, institution and the holder proven."""
        owners = set(owners) - {None}
        if actor.role in self.roles or (self.login and actor.user_id is not None):
            return True
        if self.owner and is_owner_of_any(actor, owners):
            return True
        if self.institution and actor.role == Role.INSTITUTION and institution_code is not None:
            return actor.institution_code == institution_code
        if self.terminal and actor.role == Role.TERMINAL and holder_id is not None:
            return holder_id in owners
        if self.unit and actor.role == Role.UNIT and actor.employer_id and (employer_id or employs):
            return (employer_id in (None, actor.employer_id)) and (employs is None or employs(actor.employer_id))
        return False


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


STAFF, READERS = _roles(*AGENCY_STAFF), _roles(*READ_ALL)
REVIEWERS = _roles(*REVIEW_STAFF)  # decide cases, pay out, manage institutions
ADMINS = _roles(Role.ADMIN)
COLLECTORS = _roles(Role.COLLECTOR, Role.ADMIN)  # may record money as collected

RULES: dict[tuple[str, str], Rule] = {
    # a person's records: their basics, and what they hold (credentials, accounts, grants, notices, …)
    ("person", "read"): Rule(READERS, owner=True, unit=True),  # a unit while it employs them
    ("owned", "read"): Rule(READERS, owner=True),  # credentials and accounts: not the unit
    ("owned", "act"): Rule(STAFF, owner=True),  # the person, or agency staff at the counter
    ("owned", "act_as_admin"): Rule(ADMINS, owner=True),  # e-voucher real-name check, inbox
    ("employer", "read"): Rule(READERS, unit=True),
    ("employer", "write"): Rule(STAFF, unit=True),
    ("employer", "register"): Rule(STAFF),
    # the register: who enters people, finds them by ID number, verifies them, records what happened to them
    ("person", "register"): Rule(STAFF | {Role.UNIT}),
    ("person", "look_up"): Rule(READERS | {Role.UNIT}),  # the counter with the ID card in hand among them
    ("person", "change_name_or_region"): Rule(STAFF),  # agency business; contact data is the owner's too
    ("person", "verify_at_counter"): Rule(STAFF),
    ("life_event", "record"): Rule(STAFF),
    ("residents", "import"): Rule(ADMINS),
    ("institution", "add"): Rule(REVIEWERS),
    ("institution", "designate"): Rule(ADMINS),
    ("agencies", "load"): Rule(ADMINS),
    ("enrollment", "create"): Rule(STAFF, unit=True),
    ("enrollment", "end"): Rule(STAFF, unit=True),
    ("enrollment", "approve"): Rule(STAFF),
    # users and their passwords
    ("user", "add"): Rule(ADMINS),
    ("password", "set"): Rule(ADMINS),
    ("user", "list"): Rule(ADMINS),
    ("user", "deactivate"): Rule(ADMINS),
    # the policy published from an upload, and the scheduled jobs' runs
    ("policy", "publish"): Rule(ADMINS),
    ("jobs", "read"): Rule(ADMINS),
    ("password", "change"): Rule(login=True),
    # cards: institutions read a card's status; the PIN is checked by the holder, a terminal or the counter
    ("card", "read"): Rule(READERS | {Role.INSTITUTION}, owner=True),
    ("card", "verify_pin"): Rule(STAFF | {Role.TERMINAL}, owner=True),
    ("card", "change_pin"): Rule(owner=True),
    ("card", "check_pin_at_payment"): Rule(_roles(Role.INSTITUTION, Role.ADMIN)),
    ("card", "prove_holder"): Rule(STAFF | {Role.INSTITUTION, Role.TERMINAL}),
    ("card", "issue"): Rule(STAFF),
    ("card", "freeze"): Rule(STAFF),
    ("card", "unfreeze"): Rule(STAFF),
    ("card", "unlock_pin"): Rule(STAFF),
    # the e-voucher's payment code shown in the person's own session: nobody else, staff neither
    ("evoucher", "show_code"): Rule(owner=True),
    # family grants: only the grantee consents or declines; the owner, the grantee or staff end one
    ("grant", "accept"): Rule(owner=True),
    ("grant", "decline"): Rule(owner=True),
    ("grant", "end"): Rule(STAFF, owner=True),
    # money: a person's account frozen, a ledger entry reversed (asked and decided by an admin)
    ("freeze", "create"): Rule(STAFF),
    ("freeze", "lift"): Rule(STAFF),
    ("freeze", "read"): Rule(READERS),
    ("reversal", "request"): Rule(ADMINS),
    ("reversal", "decide"): Rule(ADMINS),
    ("reversal", "read"): Rule(_roles(Role.ADMIN, Role.AUDITOR)),
    ("contribution", "collect"): Rule(COLLECTORS),
    ("contribution", "declare"): Rule(owner=True, unit=True),  # the employing unit, or the self-employed
    ("contribution", "read_arrears"): Rule(READERS | {Role.COLLECTOR}, owner=True, unit=True),
    ("settlement", "create"): Rule(ADMINS, institution=True),
    ("settlement", "refund"): Rule(ADMINS, institution=True),
    ("settlement", "read"): Rule(READERS, owner=True, institution=True),  # the payer and the account's owner
    ("settlement", "read_day"): Rule(READERS, institution=True),
    ("settlement", "read_emergencies"): Rule(_roles(Role.REVIEWER, Role.AUDITOR, Role.ADMIN)),
    # applications and what they pay out
    ("application", "apply"): Rule(STAFF, owner=True, terminal=True),
    ("application", "retry"): Rule(STAFF, owner=True),
    ("application", "review"): Rule(REVIEWERS),
    ("application", "read_queue"): Rule(READERS),
    ("batch", "make"): Rule(REVIEWERS),
    ("batch", "read"): Rule(REVIEWERS | {Role.AUDITOR}),
    ("batch", "take_returns"): Rule(REVIEWERS),  # the bank's return file, fetched or uploaded
    ("cash_voucher", "handle"): Rule(STAFF | {Role.INSTITUTION}),
    ("cash_voucher", "pay"): Rule(STAFF, institution=True),
    ("slot", "publish"): Rule(STAFF, institution=True),
    # misuse findings (R26): recorded by the analytics run (the system actor) or an admin, decided by reviewers
    ("finding", "record"): Rule(ADMINS),
    ("finding", "read"): Rule(_roles(Role.REVIEWER, Role.AUDITOR, Role.ADMIN)),
    ("finding", "decide"): Rule(REVIEWERS),
    # the audit trail and the books' verification: the auditor reads them, and the administrator
    ("audit_trail", "read"): Rule(_roles(Role.AUDITOR, Role.ADMIN)),
    # the test-mode clock
    ("clock", "set"): Rule(ADMINS),
    ("clock", "read"): Rule(ADMINS),
}


def allows(actor: Actor, resource: str, action: str, **facts) -> bool:
    """Whether the table lets the actor do this (facts: owners, employer_id, employs, institution_code,
    holder_id)."""
    return RULES[resource, action].allows(actor, **facts)


def ensure(actor: Actor, resource: str, action: str, **facts) -> None:
    """Refuse (auth.forbidden) unless the table lets the actor do this."""
    if not allows(actor, resource, action, **facts):
        raise errors.AccessForbidden()


def is_owner(actor: Actor, person_id: str) -> bool:
    return actor.role == Role.PERSON and actor.person_id == person_id


def is_owner_of_any(actor: Actor, person_ids: Iterable[str]) -> bool:
    return actor.role == Role.PERSON and actor.person_id is not None and actor.person_id in set(person_ids)


def employs(uow: UnitOfWork, employer_id: str | None, person_id: str) -> bool:
    if not employer_id:
        return False
    return uow.persons.employs(employer_id, person_id)


def basics_only(actor: Actor) -> bool:
    """A unit sees no more of its employee than the masked ID number and the name."""
    return actor.role == Role.UNIT


def ensure_can_read_person(uow: UnitOfWork, actor: Actor, person_id: str) -> None:
    """The person's basics: staff, auditors, the owner, and a unit while it employs them."""
    ensure(actor, "person", "read", owners=(person_id,), employs=lambda unit: employs(uow, unit, person_id))


def ensure_owner_or_staff(actor: Actor, person_id: str) -> None:
    """Acts on a person's own credentials: the person, or agency staff at the counter."""
    ensure(actor, "owned", "act", owners=(person_id,))


def ensure_owner_or_admin(actor: Actor, person_id: str) -> None:
    ensure(actor, "owned", "act_as_admin", owners=(person_id,))


def ensure_can_read_owned(uow: UnitOfWork, actor: Actor, person_id: str) -> None:
    """Credentials and accounts a person holds: the person, staff and auditors only."""
    ensure(actor, "owned", "read", owners=(person_id,))


def ensure_employer_access(actor: Actor, employer_id: str, *, write: bool) -> None:
    ensure(actor, "employer", "write" if write else "read", employer_id=employer_id)


def is_starter_or_admin(actor: Actor, started_by: str, started_as: str) -> bool:
    """Work someone started (a background job): they alone, from a session of the same role, or an administrator."""
    return actor.role == Role.ADMIN or (actor.username == started_by and actor.role == started_as)


def ensure_starter_or_admin(actor: Actor, started_by: str, started_as: str) -> None:
    if not is_starter_or_admin(actor, started_by, started_as):
        raise errors.AccessForbidden()
