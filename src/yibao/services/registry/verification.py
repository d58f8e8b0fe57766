"""Whose identity is verified, and how: the residents register's word on a self-registration, the counter's
with the ID card in hand, and the real person's registration superseding a stale pending one.

A pending self-registration (an online registration whose enrolment the agency has not approved and that
no counter has verified) never blocks the real person: their counter registration, or a self-registration
the register confirms, takes its place. What the stale registration brought with it (its login and
sessions, bank accounts, e-vouchers, cards, family grants, its enrolment request) goes with it, audited."""

from __future__ import annotations

from yibao.domain import errors
from yibao.domain.cards import TRANSITIONS as CARD_TRANSITIONS
from yibao.domain.cards import Card, CardAction
from yibao.domain.credentials import BankAccount, EVoucher
from yibao.domain.identity import parse_id_number, same_name, validate_phone
from yibao.domain.registry import Enrollment, EnrollmentStatus, Person, Verification
from yibao.domain.users import Actor, AuthToken, User
from yibao.services import access
from yibao.services.context import Context
from yibao.services.crossregion import family
from yibao.services.ports import UnitOfWork
from yibao.services.registry import residents

REGISTER_VERIFIER = "residents_register"


def register_confirms(uow: UnitOfWork, *, id_number: str, name: str) -> bool:
    """Whether the register confirms an alive person of this name and number (True), does not know the
    number (False), or contradicts it: another name, or a deceased or emigrated person (refused)."""
    resident = residents.resident_of(uow, id_number)
    if resident is None:
        return False
    if not resident.alive or not same_name(resident.name, name):
        raise errors.RegistrationIdentityMismatch()
    return True


def is_pending_self_registration(uow: UnitOfWork, person: Person) -> bool:
    """An online registration not yet approved nor verified at a counter: it may be anyone's."""
    if person.verified_how == Verification.COUNTER:
        return False
    statuses = {e.status for e in uow.all_by(Enrollment, person_id=person.id)}
    return EnrollmentStatus.REQUESTED in statuses and statuses <= {EnrollmentStatus.REQUESTED,
                                                                   EnrollmentStatus.SUPERSEDED}


def take_over(ctx: Context, uow: UnitOfWork, *, actor: Actor, stale: Person, fresh: Person) -> Person:
    """The real person's registration (fresh, not yet stored) replaces a pending one of the same ID number:
    the record keeps its id and takes the fresh data; what the stale registration brought is removed."""
    now = ctx.now()
    removed = {"logins": 0, "bank_accounts": 0, "evouchers": 0, "cards": 0, "grants": 0, "enrollments": 0}
    for enrollment in uow.all_by(Enrollment, person_id=stale.id, status=EnrollmentStatus.REQUESTED):
        enrollment.status = EnrollmentStatus.SUPERSEDED
        ctx.version(uow, actor, "enrollment", enrollment.id, enrollment.snapshot())
        ctx.audit(uow, actor, "enrollment.supersede", "enrollment", enrollment.id, status=enrollment.status)
        removed["enrollments"] += 1
    logins = uow.all_by(User, person_id=stale.id)
    for user in logins:
        for token in uow.all_by(AuthToken, user_id=user.id):
            uow.tokens.remove(token)
    uow.flush()
    for user in logins:
        uow.users.remove(user)
        ctx.audit(uow, actor, "user.remove", "user", user.id, reason="registration_superseded")
        removed["logins"] += 1
    for account in uow.all_by(BankAccount, person_id=stale.id, status="linked"):
        account.unlink(now)
        ctx.audit(uow, actor, "bank_account.unlink", "bank_account", account.id, reason="registration_superseded")
        removed["bank_accounts"] += 1
    for voucher in uow.all_by(EVoucher, person_id=stale.id, status="active"):
        voucher.revoke(now)
        ctx.audit(uow, actor, "evoucher.revoke", "evoucher", voucher.id, reason="registration_superseded")
        removed["evouchers"] += 1
    for card in uow.all_by(Card, person_id=stale.id):  # whoever activated it set its PIN: void until replaced
        if (card.status_on(ctx.today()), CardAction.REPORT_LOST) in CARD_TRANSITIONS:
            card.apply(CardAction.REPORT_LOST, ctx.today())
            ctx.audit(uow, actor, "card.report_lost", "card", card.card_no, reason="registration_superseded")
            removed["cards"] += 1
    removed["grants"] = len(family.end_open_grants(ctx, uow, actor=actor, person_id=stale.id,
                                                   reason="registration_superseded"))
    uow.flush()
    stale.name, stale.phone, stale.region = fresh.name, fresh.phone, fresh.region
    stale.verified_at, stale.verified_by, stale.verified_how = fresh.verified_at, fresh.verified_by, fresh.verified_how
    ctx.version(uow, actor, "person", stale.id, stale.snapshot())
    ctx.audit(uow, actor, "person.registration_superseded", "person", stale.id, verified_how=stale.verified_how,
              **removed)
    return stale


def verify_at_counter(ctx: Context, *, actor: Actor, person_id: str, id_number: str, name: str,
                      phone: str) -> Person:
    """Counter staff, the ID card in hand, verify a person's registration: the card's number and name and
    the phone the person states must be the record's. Verifying again changes nothing."""
    access.ensure(actor, "person", "verify_at_counter")
    number = parse_id_number(id_number).number
    stated_phone = validate_phone(phone)
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        if number != person.id_number or not same_name(name, person.name) or stated_phone != person.phone:
            raise errors.RegistrationIdentityMismatch()
        if person.verified_how == Verification.COUNTER:
            return person
        person.verify(how=Verification.COUNTER, by=actor.username, at=ctx.now())
        ctx.version(uow, actor, "person", person.id, person.snapshot())
        ctx.audit(uow, actor, "person.verify", "person", person.id, how=person.verified_how)
        uow.commit()
        return person
