"""The demo lives: after `demo load` each demo person has a real history, read back through the services as the
pages read it; loading again writes nothing; the history looks right whatever day it is loaded on."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from tests.support import row_counts
from yibao.domain.applications import Application, ApplicationStatus
from yibao.domain.clock import SHANGHAI
from yibao.domain.filings import FamilyGrant, Filing
from yibao.domain.registry import Person
from yibao.domain.settlement import Settlement
from yibao.services import demo, demo_history
from yibao.services.accounts import balances
from yibao.services.policy import sets

READER = demo_history.LOADER
S = ApplicationStatus


def _person_ids(ctx) -> dict[str, str]:
    with ctx.uow() as uow:
        return {key: uow.one_by(Person, id_number=demo.id_number(place, birth, seq)).id
                for key, _, place, birth, seq, *_ in demo.PERSONS}


def _institutions(statement) -> set[str]:
    return {(line.details or {}).get("institution_code") for line in statement.lines} - {None}


def _with_accounts() -> list[str]:
    return [key for key, *_, scheme in demo.PERSONS if scheme != "resident"]


def test_each_person_has_this_years_and_carried_over_money_and_pays_at_several_institutions(ctx):
    demo.load(ctx)
    ids = _person_ids(ctx)
    for key in _with_accounts():
        account = balances.get_account(ctx, actor=READER, person_id=ids[key])
        assert account.current_year_fen > 0 and account.carried_over_fen > 0, key
        assert account.available_fen == account.balance_fen - account.held_fen
        lines = balances.statement(ctx, actor=READER, person_id=ids[key]).lines
        kinds = Counter(line.kind for line in lines)
        assert kinds["contribution"] >= 12 and kinds["year_end"] >= 1 and kinds["settlement"] >= 2, (key, kinds)
        assert len(_institutions(balances.statement(ctx, actor=READER, person_id=ids[key]))) >= 2, key
    lina = Counter(line.kind for line in balances.statement(ctx, actor=READER, person_id=ids["lina"]).lines)
    assert lina["refund"] == 1


def test_the_grant_was_accepted_and_used_and_the_filing_covers_a_settlement_in_another_region(ctx):
    demo.load(ctx)
    ids = _person_ids(ctx)
    with ctx.uow() as uow:
        grant = uow.one_by(FamilyGrant, owner_id=ids["zhangwei"], grantee_id=ids["zhangxiuying"])
        by_grantee = uow.all_by(Settlement, payer_id=ids["zhangxiuying"])
        filing = uow.one_by(Filing, person_id=ids["wangfang"])
        elsewhere = uow.all_by(Settlement, payer_id=ids["wangfang"], institution_code="H11000000001")
    assert grant.status == "active" and grant.accepted_at is not None
    assert [s.owner_id for s in by_grantee] == [ids["zhangwei"]] and by_grantee[0].account_paid_fen > 0
    assert filing.status == "active" and filing.destination_region == "110000"
    assert len(elsewhere) == 1 and elsewhere[0].account_paid_fen > 0
    owner_told = [n["kind"] for n in sets.notices_of(ctx, actor=READER, person_id=ids["zhangwei"])]
    assert "family_grant.payment" in owner_told


def test_there_is_a_claim_in_each_state_and_unread_notices(ctx):
    demo.load(ctx)
    ids = _person_ids(ctx)
    with ctx.uow() as uow:
        states = {uow.one_by(Application, person_id=ids[c.person]).status for c in demo_history.CLAIMS}
    assert states == {S.SUBMITTED, S.SUPPLEMENT_REQUESTED, S.APPROVED, S.PAID, S.REJECTED}
    inbox = {key: sets.notices_of(ctx, actor=READER, person_id=ids[key]) for key in ids}
    assert all(inbox.values())
    assert any(n["read_at"] is None for n in inbox["zhangwei"])
    assert any(n["read_at"] is None and n["kind"] == "application" for n in inbox["wangfang"])  # the supplement
    assert any(n["read_at"] is not None for n in inbox["liuyang"])  # the older ones were read


def test_loading_again_writes_nothing(ctx):
    first = demo.load(ctx)
    assert {"applications", "settlements", "family grants", "filings"} <= set(first.created)
    before = row_counts(ctx)
    assert demo.load(ctx).created == {}
    assert row_counts(ctx) == before


@pytest.mark.parametrize("moment", [dt.datetime(2027, 1, 3, 9, 30), dt.datetime(2026, 7, 1, 8, 0)],
                         ids=["early-january", "first-of-a-month"])
def test_the_history_looks_right_on_any_day(ctx, moment):
    """Early in a year the months collected since the new year are this year's money and last year is closed;
    nothing of the history lies after the day it is loaded on."""
    ctx.clock.set(moment.replace(tzinfo=SHANGHAI))
    demo.load(ctx)
    ids = _person_ids(ctx)
    now = ctx.now()
    for key in _with_accounts():
        account = balances.get_account(ctx, actor=READER, person_id=ids[key])
        assert account.current_year_fen > 0 and account.carried_over_fen > 0, key
        statement = balances.statement(ctx, actor=READER, person_id=ids[key])
        assert all(line.at <= now for line in statement.lines)
        closed = {line.details["year"] for line in statement.lines if line.kind == "year_end"}
        assert closed == set(range(demo_history.START.year, moment.year)), key
    before = row_counts(ctx)
    assert demo.load(ctx).created == {} and row_counts(ctx) == before


def test_describe_names_a_login_of_every_role_and_where_to_start(ctx):
    text = demo.describe(demo.load(ctx), base_url="http://127.0.0.1:8000")
    assert "http://127.0.0.1:8000/login" in text and demo.DEMO_PASSWORD in text
    for role, _, page in demo.ROLE_PAGES:
        assert f"http://127.0.0.1:8000{page}" in text, role
    for username in ("zhangwei", "unit_bj", "pharmacy_bj", "counter", "reviewer", "auditor", "admin"):
        assert f" {username} " in text


def test_the_unit_has_declared_collected_months_and_owes_this_one(ctx):
    from yibao.domain.registry import Employer
    from yibao.domain.users import Actor, Role
    from yibao.services.accounts import collection

    demo.load(ctx)
    with ctx.uow() as uow:
        unit_id = next(e.id for e in uow.all_by(Employer, "id") if e.name == "北京示例科技有限公司")
    unit = Actor(username="unit_bj", role=Role.UNIT, employer_id=unit_id)
    periods = collection.periods_of_unit(ctx, actor=unit, employer_id=unit_id)
    this_month = ctx.today().strftime("%Y-%m")
    assert periods[0]["period"] == this_month and periods[0]["outstanding_fen"] > 0 and not periods[0]["arrears"]
    assert len(periods) == 1 + demo_history.DECLARED_MONTHS
    assert all(p["outstanding_fen"] == 0 and p["collected_fen"] > 0 for p in periods[1:])
