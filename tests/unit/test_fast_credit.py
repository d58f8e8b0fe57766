"""Contributions and collection on the in-memory unit of work: what a collector, a unit and a person see."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.collection import Declaration
from yibao.domain.users import Actor, Role
from yibao.services.accounts import collection

AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _declared(ctx, id_, person_id, period, employer_id=None, status="pending"):
    with ctx.uow() as uow:
        uow.add(Declaration(id=id_, person_id=person_id, period=period, base_fen=800_000,
                            payer=employer_id or "self", declared_by="unit", declared_role="unit",
                            declared_at=AT, status=status, employer_id=employer_id))
        uow.commit()


@pytest.fixture
def declared():
    ctx = fake_context(now=dt.datetime(2026, 3, 2, 10, 0))
    _declared(ctx, "dcl_1", "p1", "2026-01", "emp_1")
    _declared(ctx, "dcl_2", "p2", "2025-12", "emp_1")
    _declared(ctx, "dcl_3", "p1", "2026-03", "emp_1")  # this month: not overdue yet
    _declared(ctx, "dcl_4", "p3", "2025-11", "emp_2", status="collected")
    _declared(ctx, "dcl_5", "p1", "2025-10")  # paid for themselves
    return ctx


def test_staff_see_every_month_overdue_oldest_first(declared):
    found = collection.arrears(declared, actor=Actor("collector", Role.COLLECTOR))
    assert [(d["declaration_id"], d["months_overdue"]) for d in found] == [("dcl_5", 5), ("dcl_2", 3), ("dcl_1", 2)]


def test_a_unit_sees_its_own_arrears_and_a_person_theirs(declared):
    unit = Actor("unit", Role.UNIT, employer_id="emp_1")
    assert [d["declaration_id"] for d in collection.arrears(declared, actor=unit)] == ["dcl_2", "dcl_1"]
    person = Actor("p1", Role.PERSON, person_id="p1")
    assert [d["declaration_id"] for d in collection.arrears(declared, actor=person)] == ["dcl_5", "dcl_1"]
    with pytest.raises(errors.AccessForbidden):
        collection.arrears(declared, actor=unit, employer_id="emp_2")
