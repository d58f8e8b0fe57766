"""Contributions and collection on the in-memory unit of work: what a collector, a unit and a person see."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.collection import Declaration
from yibao.domain.registry import Employer, Enrollment, Person
from yibao.domain.users import Actor, Role
from yibao.ledger import accounts as acct
from yibao.services.accounts import collection, contributions

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


COLLECTOR = Actor("collector", Role.COLLECTOR)
STAFF = [("per_a", "110101198503120011"), ("per_b", "110101199001010012")]


@pytest.fixture
def payroll():
    """Two employees of one Beijing unit, enrolled since 2025, on the in-memory store in February 2026."""
    ctx = fake_context(now=dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    with ctx.uow() as uow:
        uow.add(Employer("emp_1", "91110105MA00000010", "单位", "110105", "周敏", "13900000000", ctx.now()))
        for person_id, id_number in STAFF:
            uow.add(Person(person_id, id_number, "张伟", "13800000000", "110105", dt.date(1985, 3, 12), "M",
                           ctx.now()))
            uow.add(Enrollment(f"enr_{person_id}", person_id, "employee", "emp_1", False, dt.date(2025, 1, 1),
                               "active", ctx.now()))
        uow.commit()
    return ctx


def balance(ctx, person_id) -> int:
    with ctx.uow() as uow:
        account = uow.ledger.accounts([acct.personal(person_id)]).get(acct.personal(person_id))
        return account.posted_fen if account else 0


def test_a_collected_month_credits_the_rule_s_share_once(payroll):
    answer = contributions.credit(payroll, actor=COLLECTOR, person_id="per_a", period="2026-01", base_fen=1_000_000,
                                  employer_id="emp_1")
    assert (answer["credited_fen"], answer["balance_fen"]) == (20_000, 20_000)  # 2% of the base
    again = contributions.credit(payroll, actor=COLLECTOR, person_id="per_a", period="2026-01", base_fen=1_000_000,
                                 employer_id="emp_1")
    assert again == answer and balance(payroll, "per_a") == 20_000
    with pytest.raises(errors.IdempotencyConflict):
        contributions.credit(payroll, actor=COLLECTOR, person_id="per_a", period="2026-01", base_fen=900_000,
                             employer_id="emp_1")


def test_a_future_month_or_a_unit_is_refused(payroll):
    with pytest.raises(errors.ContributionInvalid):
        contributions.credit(payroll, actor=COLLECTOR, person_id="per_a", period="2026-03", base_fen=1_000_000,
                             employer_id="emp_1")
    with pytest.raises(errors.AccessForbidden):
        contributions.credit(payroll, actor=Actor("unit", Role.UNIT, employer_id="emp_1"), person_id="per_a",
                             period="2026-01", base_fen=1_000_000, employer_id="emp_1")
    assert balance(payroll, "per_a") == 0


def test_a_batch_credits_what_one_row_at_a_time_credits(payroll):
    rows = [contributions.FileRow(1, STAFF[0][1], 1_000_000, "91110105MA00000010"),
            contributions.FileRow(2, "110101200001010013", 1_000_000),  # nobody
            contributions.FileRow(3, STAFF[1][1], 800_000, "91110105MA00000010"),
            contributions.FileRow(4, STAFF[0][1], 1_000_000, "91110105MA00000010")]  # the first row again
    first = dt.date(2026, 1, 1)
    done = contributions.credit_batch(payroll, actor=COLLECTOR, period="2026-01", first=first, rows=rows)
    assert [(r.error.code if r.error else None, r.repeated, r.credited_fen) for r in done.values()] == [
        (None, False, 20_000), ("person.not_found", False, 0), (None, False, 16_000), (None, True, 0)]
    assert [balance(payroll, p) for p, _ in STAFF] == [20_000, 16_000]
    one = contributions.credit(payroll, actor=COLLECTOR, person_id="per_b", period="2026-01", base_fen=800_000,
                               employer_id="emp_1")  # a repeat: the answer the batch kept
    assert (one["credited_fen"], one["balance_fen"]) == (16_000, 16_000)
    again = contributions.credit_batch(payroll, actor=COLLECTOR, period="2026-01", first=first, rows=rows[:1])
    assert again[1].repeated and balance(payroll, "per_a") == 20_000


def test_the_collector_s_confirmation_credits_a_declared_month(payroll):
    _declared(payroll, "dcl_9", "per_a", "2026-01", "emp_1")
    confirmed = collection.confirm(payroll, actor=COLLECTOR, declaration_id="dcl_9")
    assert (confirmed["status"], confirmed["credited_fen"]) == ("collected", 16_000)  # the declared base
    assert balance(payroll, "per_a") == 16_000
    assert collection.confirm(payroll, actor=COLLECTOR, declaration_id="dcl_9") == confirmed  # nothing again
    assert collection.arrears(payroll, actor=COLLECTOR) == []
