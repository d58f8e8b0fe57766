"""Contributions, account balances, statements, holds and reversals through the HTTP API (R3, R8, R9); holds are
placed on the books, as only the services that pay out place them."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.support import API, PASSWORD, assert_problem, bearer, build_world, count, ledger_capture, ledger_hold
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.services.accounts import balances as accounts_service
from yibao.services.accounts.books import Books
from yibao.services.credentials import auth
from yibao.services.registry import enrolment
from yibao.store.tables import idempotency_keys, ledger_entries, ledger_postings

MARCH = dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(ctx, admin, client):
    ctx.clock.set(MARCH)
    return build_world(ctx, admin)


def pay_in(client, world, period: str, base_fen: int, who: str = "collector-user"):
    return client.post(f"{API}/contributions", headers=bearer(client, who),
                       json={"person_id": world.person.id, "period": period, "base_fen": base_fen,
                             "employer_id": world.employer_id})


def account(client, world, who: str = "employee") -> dict:
    r = client.get(f"{API}/accounts/{world.person.id}", headers=bearer(client, who))
    assert r.status_code == 200, r.text
    return r.json()


def postings_sum(ctx) -> int:
    with ctx.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(ledger_postings.c.amount_fen), 0)))


def test_a_contribution_credits_the_account_by_the_rule_and_says_which(client, world):
    r = pay_in(client, world, "2026-01", 1_234_567)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["credited_fen"] == 24_691  # 2% of ¥12,345.67, rounded down to the fen
    assert body["balance_fen"] == 24_691
    assert body["rule"]["rule_id"] and body["rule"]["effective_from"] and body["rule"]["reference"]
    assert body["explanation_zh"] and body["explanation_en"]
    assert account(client, world) | {"holds": []} == {
        "person_id": world.person.id, "region": "110000", "balance_fen": 24_691, "available_fen": 24_691,
        "held_fen": 0, "current_year_fen": 24_691, "carried_over_fen": 0, "holds": []}


def test_a_resent_contribution_credits_once_and_a_changed_one_is_refused(ctx, client, world):
    first = pay_in(client, world, "2026-02", 800_000)
    again = pay_in(client, world, "2026-02", 800_000)
    assert again.status_code == 201 and again.json() == first.json()
    assert account(client, world)["balance_fen"] == 16_000
    entries = count(ctx, ledger_entries)

    changed = pay_in(client, world, "2026-02", 900_000)
    body = assert_problem(changed, 409, "idempotency.conflict")
    assert "key" not in body and "2026-02" not in changed.text  # the key is the caller's input: not repeated
    assert count(ctx, ledger_entries) == entries and account(client, world)["balance_fen"] == 16_000


@pytest.mark.parametrize("change, status, code", [
    ({"base_fen": "800000"}, 422, "request.invalid"),  # money is a JSON integer of fen, never a string
    ({"base_fen": 8000.5}, 422, "request.invalid"),
    ({"base_fen": True}, 422, "request.invalid"),
    ({"base_fen": -100}, 422, "request.invalid"),
    ({"base_fen": 0}, 422, "request.invalid"),
    ({"period": "2026-13"}, 422, "contribution.invalid"),
    ({"period": "2026/01"}, 422, "contribution.invalid"),
    ({"period": "2026-04"}, 422, "contribution.invalid"),  # a month still to come
    ({"period": "2023-12"}, 422, "contribution.not_enrolled"),  # before the enrolment started
    ({"person_id": "psn_0000000000000000"}, 404, "person.not_found"),
    ({"tip": 1}, 422, "request.invalid"),
    ({"base_fen": 10_000_000_000}, 422, "contribution.base_out_of_range"),  # above Beijing's ceiling
])
def test_bad_contributions_are_refused_and_write_nothing(ctx, client, world, change, status, code):
    body = {"person_id": world.person.id, "period": "2026-01", "base_fen": 800_000,
            "employer_id": world.employer_id} | change
    before = (count(ctx, ledger_entries), count(ctx, idempotency_keys))
    r = client.post(f"{API}/contributions", headers=bearer(client, "collector-user"), json=body)
    assert_problem(r, status, code)
    assert (count(ctx, ledger_entries), count(ctx, idempotency_keys)) == before


def test_a_unit_pays_only_for_its_own_employees(ctx, admin, client, world):
    r = client.post(f"{API}/contributions", headers=bearer(client, "unit-user"),
                    json={"person_id": world.other.id, "period": "2026-01", "base_fen": 800_000,
                          "employer_id": world.employer_id})
    assert_problem(r, 403, "auth.forbidden")


def test_a_flexible_worker_pays_for_themselves_once_the_collector_confirms(ctx, admin, client, world):
    enrolment.enroll(ctx, actor=admin, person_id=world.other.id, scheme="employee", flexible=True,
                     start_date=dt.date(2025, 7, 1))
    r = client.post(f"{API}/contributions", headers=bearer(client, "stranger"),
                    json={"person_id": world.other.id, "period": "2026-03", "base_fen": 800_000})
    assert r.status_code == 202, r.text
    assert (r.json()["status"], r.json()["credited_fen"]) == ("pending", 0)
    confirmed = client.post(f"{API}/contributions/{r.json()['declaration_id']}/confirm",
                            headers=bearer(client, "collector-user"))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["credited_fen"] == 16_000


def test_holds_keep_money_back_until_captured_voided_or_expired(ctx, client, world):
    # Holds are placed only by the services that pay out (no route places one): placed on the books here.
    pay_in(client, world, "2026-01", 1_000_000)  # 20,000 fen
    hold = ledger_hold(ctx, world.person.id, 15_000, minutes=10)
    assert account(client, world) | {"holds": []} == account(client, world) | {
        "balance_fen": 20_000, "held_fen": 15_000, "available_fen": 5_000, "holds": []}
    [open_hold] = account(client, world)["holds"]
    assert (open_hold["hold_id"], open_hold["amount_fen"], open_hold["status"]) == (hold.id, 15_000, "pending")

    with pytest.raises(errors.BalanceInsufficient) as too_much:
        ledger_hold(ctx, world.person.id, 5_001)
    assert too_much.value.facts["available_fen"] == 5_000 and too_much.value.facts["amount_fen"] == 5_001

    ledger_capture(ctx, hold.id, 12_000)
    assert account(client, world)["balance_fen"] == 8_000 and account(client, world)["available_fen"] == 8_000
    with pytest.raises(errors.HoldWrongState):
        ledger_capture(ctx, hold.id)

    second = ledger_hold(ctx, world.person.id, 8_000, minutes=1)
    assert account(client, world)["available_fen"] == 0
    ctx.clock.set(MARCH + dt.timedelta(minutes=5))  # past its timeout: the amount is free again
    assert account(client, world)["available_fen"] == 8_000
    with pytest.raises(errors.HoldExpired):
        ledger_capture(ctx, second.id)
    assert account(client, world)["balance_fen"] == 8_000

    third = ledger_hold(ctx, world.person.id, 3_000)
    with ctx.uow() as uow:
        assert Books(uow, ctx.now()).void(third.id).status == "voided"
        uow.commit()
    assert account(client, world)["available_fen"] == 8_000
    assert postings_sum(ctx) == 0


def test_the_statement_shows_each_entry_with_the_balance_after_it(ctx, client, world):
    for period in ("2026-01", "2026-02"):
        pay_in(client, world, period, 1_000_000)
    ctx.clock.set(MARCH + dt.timedelta(days=2))
    pay_in(client, world, "2026-03", 750_000)
    r = client.get(f"{API}/accounts/{world.person.id}/entries", headers=bearer(client, "employee"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(e["kind"], e["amount_fen"], e["balance_after_fen"]) for e in body["entries"]] == [
        ("contribution", 20_000, 20_000), ("contribution", 20_000, 40_000), ("contribution", 15_000, 55_000)]
    assert body["opening_balance_fen"] == 0 and body["closing_balance_fen"] == 55_000

    later = client.get(f"{API}/accounts/{world.person.id}/entries", headers=bearer(client, "employee"),
                       params={"from": "2026-03-11"}).json()
    assert later["opening_balance_fen"] == 40_000 and len(later["entries"]) == 1
    assert later["entries"][0]["balance_after_fen"] == 55_000

    bad = client.get(f"{API}/accounts/{world.person.id}/entries", headers=bearer(client, "employee"),
                     params={"from": "2026-03-31", "to": "2026-03-01"})
    assert_problem(bad, 422, "request.invalid")
    stranger = client.get(f"{API}/accounts/{world.person.id}/entries", headers=bearer(client, "stranger"))
    assert_problem(stranger, 403, "auth.forbidden")


def test_a_reversal_corrects_an_entry_once(ctx, admin, client, world):
    pay_in(client, world, "2026-01", 1_000_000)
    pay_in(client, world, "2026-02", 1_000_000)
    mistaken = ledger_capture(ctx, ledger_hold(ctx, world.person.id, 5_000, purpose="manual").id)  # no record owns it
    auth.add_user(ctx, actor=admin, username="admin-2", password=PASSWORD, role="admin")
    first, second = bearer(client, "admin-user"), bearer(client, "admin-2")
    asked = client.post(f"{API}/entries/{mistaken.id}/reverse", headers=first, json={"reason": "误扣款"})
    assert asked.status_code == 202, asked.text
    r = client.post(f"{API}/reversals/{asked.json()['reversal_id']}/approve", headers=second, json={})
    assert r.status_code == 201, r.text
    assert r.json()["reverses_id"] == mistaken.id
    assert sum(p["amount_fen"] for p in r.json()["postings"]) == 0
    assert account(client, world)["balance_fen"] == 40_000
    again = client.post(f"{API}/entries/{mistaken.id}/reverse", headers=first, json={"reason": "再次冲正"})
    assert_problem(again, 409, "entry.already_reversed")
    reversal = client.post(f"{API}/entries/{r.json()['entry_id']}/reverse", headers=first, json={"reason": "x"})
    assert_problem(reversal, 409, "entry.not_reversible")
    assert_problem(client.post(f"{API}/entries/ent_0000000000000000/reverse", headers=first,
                               json={"reason": "x"}), 404, "entry.not_found")
    statement = client.get(f"{API}/accounts/{world.person.id}/entries", headers=bearer(client, "employee")).json()
    assert [e["kind"] for e in statement["entries"]] == ["contribution", "contribution", "hold_capture", "reversal"]
    assert statement["closing_balance_fen"] == 40_000


def test_an_account_with_nothing_credited_reads_as_zero(client, world):
    r = client.get(f"{API}/accounts/{world.other.id}", headers=bearer(client, "stranger"))
    assert r.status_code == 200 and r.json()["balance_fen"] == 0
    assert_problem(client.get(f"{API}/accounts/psn_0000000000000000", headers=bearer(client, "admin-user")),
                   404, "person.not_found")


def test_a_statement_too_long_to_show_whole_asks_for_a_shorter_period(ctx, client, world, monkeypatch):
    for period in ("2026-01", "2026-02"):
        pay_in(client, world, period, 1_000_000)
    ctx.clock.set(MARCH + dt.timedelta(days=2))
    pay_in(client, world, "2026-03", 1_000_000)
    monkeypatch.setattr(accounts_service, "STATEMENT_MAX_LINES", 2)
    r = client.get(f"{API}/accounts/{world.person.id}/entries", headers=bearer(client, "employee"))
    assert assert_problem(r, 422, "statement.too_long")["max_lines"] == 2
    shorter = client.get(f"{API}/accounts/{world.person.id}/entries", headers=bearer(client, "employee"),
                         params={"from": "2026-03-11"})
    assert shorter.status_code == 200, shorter.text
    assert shorter.json()["opening_balance_fen"] == 40_000 and shorter.json()["closing_balance_fen"] == 60_000
