"""The auditor's search of the audit trail on the in-memory unit of work: by person (their own records and those of
what they hold), entity, actor and China-time days, a page at a time, oldest first; refused to other roles."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import add_person
from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.users import Actor, Role
from yibao.services.audit import inspection
from yibao.services.credentials import cards

ADMIN = Actor.system("fast-admin")
AUDITOR = Actor(username="fast-auditor", role=Role.AUDITOR)


@pytest.fixture
def ctx():
    return fake_context(now=dt.datetime(2026, 3, 3, 7, 30))  # Shanghai time: still 2 March in UTC


def test_a_persons_trail_holds_their_records_and_those_of_their_card_and_login(ctx):
    person, other = add_person(ctx, ADMIN, name="张伟"), add_person(ctx, ADMIN, name="李娜")
    cards.report_lost(ctx, actor=ADMIN, card_no=person.card_no)

    trail = inspection.search(ctx, actor=AUDITOR, person_id=person.id)

    actions = [r.action for r in trail.records]
    assert actions[0] == "person.register" and "card.report_lost" in actions and "user.add" in actions
    assert {r.entity_id for r in trail.records} >= {person.id, person.card_no}
    assert other.id not in {r.entity_id for r in trail.records} and other.card_no not in str(trail.records)
    assert all(a.at <= b.at for a, b in zip(trail.records, trail.records[1:], strict=False))


def test_the_trail_by_entity_actor_day_and_page(ctx):
    person = add_person(ctx, ADMIN)
    card = inspection.search(ctx, actor=AUDITOR, entity="card", entity_id=person.card_no)
    assert [r.action for r in card.records] == ["card.issue", "card.activate"]
    assert inspection.search(ctx, actor=AUDITOR, entity="card", entity_id="no-such-card").total == 0

    today, tomorrow = ctx.today(), ctx.today() + dt.timedelta(days=1)
    assert inspection.search(ctx, actor=AUDITOR, day_to=today - dt.timedelta(days=1)).total == 0
    assert inspection.search(ctx, actor=AUDITOR, day_from=today, day_to=today).total == card.total + 2  # and person.register, user.add
    assert inspection.search(ctx, actor=AUDITOR, day_from=tomorrow).total == 0
    by_admin = inspection.search(ctx, actor=AUDITOR, username="fast-admin", per_page=2)
    second = inspection.search(ctx, actor=AUDITOR, username="fast-admin", per_page=2, page=2)
    assert by_admin.pages == 2 and len(second.records) == 2 and second.records[0].id > by_admin.records[-1].id


def test_only_the_auditor_and_the_administrator_read_the_trail(ctx):
    person = add_person(ctx, ADMIN)
    assert inspection.search(ctx, actor=Actor(username="a", role=Role.ADMIN), person_id=person.id).total > 0
    for role in (Role.PERSON, Role.COUNTER, Role.REVIEWER, Role.INSTITUTION, Role.UNIT):
        with pytest.raises(errors.AccessForbidden):
            inspection.search(ctx, actor=Actor(username="x", role=role, person_id=person.id), person_id=person.id)
