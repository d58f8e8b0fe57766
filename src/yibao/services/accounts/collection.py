"""Collection (征缴到账): a unit's or a flexible worker's declaration waits for the collector's confirmation.

A unit declares its employees' bases and a flexible worker orders their own payment; either credits nothing
until the collector (tax office or bank channel) confirms the money arrived, by `confirm` or by a return file
through the crediting job. Then the month credits through the one crediting path (contributions.credit_in),
by the allocation rule in force for the period, once. A declaration still pending after its month is arrears
(欠费), visible to the unit, the person and the agency.
"""

from __future__ import annotations

import datetime as dt

from yibao.domain import errors
from yibao.domain.collection import Declaration, payer_key
from yibao.domain.ids import new_id
from yibao.domain.registry import Person
from yibao.domain.users import Actor, Role
from yibao.policy.crediting import (
    Found,
    check_base,
    check_payable,
    contribution_key,
    contribution_request,
    parse_period,
)
from yibao.services import access
from yibao.services.accounts import contributions
from yibao.services.accounts.books import Books
from yibao.services.context import Context
from yibao.services.idempotency import answered
from yibao.services.ports import UnitOfWork


def submit(ctx: Context, *, actor: Actor, person_id: str, period: str, base_fen: int,
           employer_id: str | None = None) -> tuple[bool, dict]:
    """A month's contribution as the caller may make it: (True, the credit) from the collector or an
    administrator, (False, the pending declaration) from a unit or a flexible worker."""
    if access.allows(actor, "contribution", "collect"):
        return True, contributions.credit(ctx, actor=actor, person_id=person_id, period=period, base_fen=base_fen,
                                          employer_id=employer_id)
    return False, declare(ctx, actor=actor, person_id=person_id, period=period, base_fen=base_fen,
                          employer_id=employer_id)


def declare(ctx: Context, *, actor: Actor, person_id: str, period: str, base_fen: int,
            employer_id: str | None = None) -> dict:
    """Declare a month's base (a unit for its employee, a flexible worker for themselves): pending, nothing credited."""
    first = parse_period(period)
    check_base(base_fen)
    if actor.role == Role.UNIT:
        employer_id = employer_id or actor.employer_id
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        found = contributions.found_for(uow, person, first, employer_id)
        _ensure_may_declare(uow, actor, person.id, employer_id, found)
        check_payable(found, period=period, first=first, base_fen=base_fen, today=ctx.today(), policy=ctx.policy)
        payer = payer_key(employer_id)
        earlier = uow.one_by(Declaration, person_id=person.id, period=period, payer=payer)
        if earlier is not None:  # the same declaration sent again is harmless; another base is not
            if earlier.base_fen != base_fen:
                raise errors.DeclarationConflict(period=period)
            return declaration_view(earlier)
        declaration = Declaration(id=new_id("dcl"), person_id=person.id, period=period, base_fen=base_fen,
                                  payer=payer, employer_id=employer_id, declared_by=actor.username,
                                  declared_role=actor.role.value, declared_at=ctx.now())
        credited = answered(uow, scope=contributions.SCOPE, key=contribution_key(person.id, period, employer_id),
                            request=contribution_request(person.id, period, base_fen, employer_id))
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
                        found: Found) -> None:
    pays_for_self = employer_id is None and (not found.enrolled or found.flexible)  # flexible employment
    unit_employs = (lambda unit: access.employs(uow, unit, person_id)) if employer_id else None
    access.ensure(actor, "contribution", "declare", owners=(person_id,) if pays_for_self else (),
                  employer_id=employer_id, employs=unit_employs)


def confirm(ctx: Context, *, actor: Actor, declaration_id: str) -> dict:
    """The collector confirms a declaration's payment: the month credits by the period's rule, once."""
    access.ensure(actor, "contribution", "collect")
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
        key = contribution_key(declaration.person_id, declaration.period, declaration.employer_id)
        return _confirmed(declaration, uow.keys.key_row(contributions.SCOPE, key).response)
    person = uow.get(Person, declaration.person_id)
    response, _ = contributions.credit_in(
        ctx, uow, books, actor=actor, person=person, period=declaration.period,
        first=parse_period(declaration.period), base_fen=declaration.base_fen,
        employer_id=declaration.employer_id)
    return _confirmed(declaration, response)


def confirm_row_in(ctx: Context, uow: UnitOfWork, books: Books, *, actor: Actor, declaration_id: str,
                   person_id: str, period: str, base_fen: int) -> tuple[dict, bool]:
    """A collector's return-file row naming a declaration: collected as declared (the person, month and base
    must match); (the answer, whether it was collected before)."""
    declaration = uow.get(Declaration, declaration_id, for_update=True)
    if declaration is None or declaration.person_id != person_id or declaration.period != period:
        raise errors.DeclarationNotFound()
    if declaration.base_fen != base_fen:
        raise errors.DeclarationConflict(period=period)
    repeated = not declaration.pending
    return confirm_in(ctx, uow, books, actor=actor, declaration=declaration), repeated


def _confirmed(declaration: Declaration, response: dict) -> dict:
    return {**response, "declaration_id": declaration.id, "status": declaration.status,
            "credited_fen": declaration.credited_fen if declaration.credited_fen is not None
            else response.get("credited_fen", 0)}


def arrears(ctx: Context, *, actor: Actor, employer_id: str | None = None, person_id: str | None = None) -> list[dict]:
    """Declarations never collected whose month is over (欠费): a unit sees its own, a person theirs, staff all."""
    access.ensure(actor, "contribution", "read_arrears", owners=(person_id or actor.person_id,),
                  employer_id=employer_id or actor.employer_id)
    if actor.role == Role.UNIT:
        employer_id = actor.employer_id
    elif actor.role == Role.PERSON:
        person_id = actor.person_id
    current = _period_of(ctx.today())
    with ctx.uow() as uow:
        found = uow.contributions.arrears(before=current, employer_id=employer_id, person_id=person_id)
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



def periods_of_unit(ctx: Context, *, actor: Actor, employer_id: str) -> list[dict]:
    """A unit's declarations month by month, latest first: how many, the bases declared, collected and still
    outstanding, and whether the outstanding part is arrears (its month is over)."""
    access.ensure(actor, "contribution", "read_arrears", employer_id=employer_id)
    current = _period_of(ctx.today())
    with ctx.uow() as uow:
        found = uow.all_by(Declaration, "period", employer_id=employer_id)
    periods: dict[str, dict] = {}
    for declaration in found:
        row = periods.setdefault(declaration.period, {"period": declaration.period, "declarations": 0,
                                                      "declared_fen": 0, "collected_fen": 0, "outstanding_fen": 0,
                                                      "credited_fen": 0, "pending": 0})
        row["declarations"] += 1
        row["declared_fen"] += declaration.base_fen
        if declaration.pending:
            row["outstanding_fen"] += declaration.base_fen
            row["pending"] += 1
        else:
            row["collected_fen"] += declaration.base_fen
            row["credited_fen"] += declaration.credited_fen or 0
    for row in periods.values():
        row["arrears"] = row["pending"] > 0 and row["period"] < current
    return sorted(periods.values(), key=lambda row: row["period"], reverse=True)
