"""Collection (征缴到账): a unit's or a flexible worker's declaration waits for the collector's confirmation.

A unit declares its employees' bases and a flexible worker orders their own payment; either credits nothing
until the collector (tax office or bank channel) confirms the money arrived, by `confirm` or by a return file
through the crediting job. Then the month credits through the one crediting path (contributions.credit_in),
by the allocation rule in force for the period, once. A declaration still pending after its month is arrears
(欠费), visible to the unit, the person and the agency.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from yibao.domain import errors
from yibao.domain.collection import Declaration, DeclarationStatus, payer_key
from yibao.domain.ids import new_id
from yibao.domain.registry import Person
from yibao.domain.users import READ_ALL, Actor, Role
from yibao.services import access
from yibao.services.accounts import contributions
from yibao.services.accounts.books import Books
from yibao.services.context import Context
from yibao.services.idempotency import answered
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events

ARREARS_READERS = (*READ_ALL, Role.COLLECTOR)


def submit(ctx: Context, *, actor: Actor, person_id: str, period: str, base_fen: int,
           employer_id: str | None = None) -> tuple[bool, dict]:
    """A month's contribution as the caller may make it: (True, the credit) from the collector or an
    administrator, (False, the pending declaration) from a unit or a flexible worker."""
    if actor.role in contributions.COLLECTORS:
        return True, contributions.credit(ctx, actor=actor, person_id=person_id, period=period, base_fen=base_fen,
                                          employer_id=employer_id)
    return False, declare(ctx, actor=actor, person_id=person_id, period=period, base_fen=base_fen,
                          employer_id=employer_id)


def declare(ctx: Context, *, actor: Actor, person_id: str, period: str, base_fen: int,
            employer_id: str | None = None) -> dict:
    """Declare a month's base (a unit for its employee, a flexible worker for themselves): pending, nothing credited."""
    first = contributions.parse_period(period)
    contributions.check_base(base_fen)
    if actor.role == Role.UNIT:
        employer_id = employer_id or actor.employer_id
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        enrollment = contributions.enrollment_for(uow, person.id, first, employer_id)
        _ensure_may_declare(uow, actor, person.id, employer_id, enrollment)
        contributions.check_month(period=period, first=first, today=ctx.today(),
                                  standing=life_events.standing(uow, person.id))
        if enrollment is None:
            raise errors.ContributionNotEnrolled(period=period)
        contributions.check_bounds(ctx, region=person.region, scheme=enrollment.scheme,
                                   flexible=enrollment.flexible, first=first, base_fen=base_fen)
        payer = payer_key(employer_id)
        found = uow.one_by(Declaration, person_id=person.id, period=period, payer=payer)
        if found is not None:  # the same declaration sent again is harmless; another base is not
            if found.base_fen != base_fen:
                raise errors.DeclarationConflict(period=period)
            return declaration_view(found)
        declaration = Declaration(id=new_id("dcl"), person_id=person.id, period=period, base_fen=base_fen,
                                  payer=payer, employer_id=employer_id, declared_by=actor.username,
                                  declared_role=actor.role.value, declared_at=ctx.now())
        credited = answered(uow, scope=contributions.SCOPE,
                            key=contributions.contribution_key(person.id, period, employer_id),
                            request=contributions.contribution_request(person.id, period, base_fen, employer_id))
        if credited is not None:  # the collector already credited this month: nothing is owed
            declaration.collect(at=ctx.now(), by=actor.username, contribution_id=credited["contribution_id"],
                                credited_fen=credited["credited_fen"])
        uow.add(declaration)
        uow.conflict_means(errors.ConcurrentChange())
        ctx.audit(uow, actor, "contribution.declared", "contribution_declaration", declaration.id,
                  person_id=person.id, period=period, base_fen=base_fen, employer_id=employer_id)
        uow.commit()
        return declaration_view(declaration)


def _ensure_may_declare(uow: UnitOfWork, actor: Actor, person_id: str, employer_id: str | None,
                        enrollment) -> None:
    if actor.role == Role.UNIT and employer_id == actor.employer_id and access.employs(uow, employer_id, person_id):
        return
    if access.is_owner(actor, person_id) and employer_id is None and (enrollment is None or enrollment.flexible):
        return  # flexible employment pays for itself
    raise errors.AccessForbidden()


def confirm(ctx: Context, *, actor: Actor, declaration_id: str) -> dict:
    """The collector confirms a declaration's payment: the month credits by the period's rule, once."""
    if actor.role not in contributions.COLLECTORS:
        raise errors.AccessForbidden()
    with ctx.uow() as uow:
        declaration = uow.get(Declaration, declaration_id, for_update=True)
        if declaration is None:
            raise errors.DeclarationNotFound()
        response = confirm_in(ctx, uow, Books(uow, ctx.now()), actor=actor, declaration=declaration)
        uow.commit()
        return response


def confirm_in(ctx: Context, uow: UnitOfWork, books: Books, *, actor: Actor, declaration: Declaration) -> dict:
    """Confirm one declaration inside the caller's unit of work (the API, or a row of a return file)."""
    if not declaration.pending:  # collected before (confirmed, or credited by a file): that answer, nothing again
        key = contributions.contribution_key(declaration.person_id, declaration.period, declaration.employer_id)
        return _confirmed(declaration, uow.keys.key_row(contributions.SCOPE, key).response)
    person = uow.get(Person, declaration.person_id)
    response, _ = contributions.credit_in(
        ctx, uow, books, actor=actor, person=person, period=declaration.period,
        first=contributions.parse_period(declaration.period), base_fen=declaration.base_fen,
        employer_id=declaration.employer_id)
    return _confirmed(declaration, response)


def _confirmed(declaration: Declaration, response: dict) -> dict:
    return {**response, "declaration_id": declaration.id, "status": declaration.status,
            "credited_fen": declaration.credited_fen if declaration.credited_fen is not None
            else response.get("credited_fen", 0)}


def arrears(ctx: Context, *, actor: Actor, employer_id: str | None = None, person_id: str | None = None) -> list[dict]:
    """Declarations never collected whose month is over (欠费): a unit sees its own, a person theirs, staff all."""
    if actor.role == Role.UNIT:
        if employer_id not in (None, actor.employer_id):
            raise errors.AccessForbidden()
        employer_id = actor.employer_id
    elif actor.role == Role.PERSON:
        if person_id not in (None, actor.person_id):
            raise errors.AccessForbidden()
        person_id = actor.person_id
    elif actor.role not in ARREARS_READERS:
        raise errors.AccessForbidden()
    current = _period_of(ctx.today())
    d = Declaration
    query = sa.select(d).where(d.status == DeclarationStatus.PENDING, d.period < current)
    if employer_id is not None:
        query = query.where(d.employer_id == employer_id)
    if person_id is not None:
        query = query.where(d.person_id == person_id)
    with ctx.uow() as uow:
        found = uow.session.scalars(query.order_by(d.period, d.declared_at, d.id)).all()
        return [declaration_view(x) | {"months_overdue": _months_between(x.period, current)} for x in found]


def declaration_view(declaration: Declaration) -> dict:
    return {"declaration_id": declaration.id, "status": declaration.status, "person_id": declaration.person_id,
            "period": declaration.period, "base_fen": declaration.base_fen, "employer_id": declaration.employer_id,
            "declared_by_role": declaration.declared_role, "declared_at": declaration.declared_at,
            "collected_at": declaration.collected_at, "credited_fen": declaration.credited_fen or 0,
            "contribution_id": declaration.contribution_id}


def _period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_between(period: str, current: str) -> int:
    (y1, m1), (y2, m2) = (map(int, p.split("-")) for p in (period, current))
    return (y2 - y1) * 12 + m2 - m1


def collect_credited(ctx: Context, uow: UnitOfWork, *, actor: Actor, period: str, credited: dict[str, dict]) -> int:
    """After a set-based batch credited months (natural key -> answer), the pending declarations of those months
    are collected, as the per-row path collects each one; how many were."""
    if not credited:
        return 0
    d, collected = Declaration, 0
    for declaration in uow.session.scalars(sa.select(d).where(d.status == DeclarationStatus.PENDING,
                                                              d.period == period)):
        answer = credited.get(contributions.contribution_key(declaration.person_id, period, declaration.employer_id))
        if answer is not None:
            declaration.collect(at=ctx.now(), by=actor.username, contribution_id=answer["contribution_id"],
                                credited_fen=answer["credited_fen"])
            ctx.audit(uow, actor, "contribution.collected", "contribution_declaration", declaration.id,
                      period=period, credited_fen=answer["credited_fen"])
            collected += 1
    return collected
