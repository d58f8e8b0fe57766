"""The 12333 answer for paying counts what the person has already used: today at that institution, today across
institutions and this year (Beijing, seed article 004), so its maximum is what a settlement then pays."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import API, PIN, bearer, build_world, fund
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import auth
from yibao.services.registry import institutions

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PHARMACY_A = "P11000000001"  # the world's pharmacy, its user "institution-user"
PHARMACY_B = "P11000000002"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    fund(ctx, admin, world.person.id, months=25, employer_id=world.employer_id)  # ¥12,500 in the account
    institutions.add_institution(ctx, actor=admin, code=PHARMACY_B, name="药房二", kind="pharmacy", region="110000",
                                 designated=True, cross_region=False, designated_from=dt.date(2024, 1, 1))
    auth.add_user(ctx, actor=admin, username="pharmacy-b", password="correct-horse-9", role="institution",
                  institution_code=PHARMACY_B)
    ctx.clock.set(MORNING)
    return world


def pay(client, world, amount: int, *, at: str = PHARMACY_A, key: str):
    user = "institution-user" if at == PHARMACY_A else "pharmacy-b"
    r = client.post(f"{API}/settlements", headers=bearer(client, user), json={
        "idempotency_key": key, "institution_code": at,
        "credential": {"type": "card", "card_no": world.person.card_no, "pin": PIN},
        "items": [{"category": "drug", "amount_fen": amount}]})
    assert r.status_code == 201, r.text
    return r.json()


def explain(client, world, *, at: str = PHARMACY_A, amount: int | None = None) -> dict:
    body = {"person_id": world.person.id, "action": "settle", "institution_code": at}
    if amount is not None:
        body["amount_fen"] = amount
    r = client.post(f"{API}/policy/explain", headers=bearer(client, "employee"), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_after_500_at_a_beijing_pharmacy_explain_no_longer_offers_100_more_there(client, world):
    before = explain(client, world, amount=10_000)
    assert before["max_amount_fen"] == 10_000
    pay(client, world, 50_000, key="full-day")
    after = explain(client, world, amount=10_000)
    assert after["allowed"] is True and after["max_amount_fen"] == 0
    assert "limit.institution_daily" in after["limited_by"]
    assert "今日已用 ¥500.00，尚可 ¥0.00" in after["explanation_zh"]
    elsewhere = explain(client, world, at=PHARMACY_B, amount=10_000)
    assert elsewhere["max_amount_fen"] == 10_000  # another pharmacy: ¥500 of the ¥1,000 a day is left
    assert pay(client, world, 10_000, key="same-place")["account_paid_fen"] == 0


def test_explain_says_what_a_settlement_then_pays_across_pharmacies(client, world):
    pay(client, world, 30_000, key="a-1")
    pay(client, world, 50_000, at=PHARMACY_B, key="b-1")  # ¥800 of ¥1,000 today; ¥300 of ¥500 at A
    answer = explain(client, world, amount=40_000)
    assert answer["max_amount_fen"] == 20_000
    assert answer["limited_by"] == ["limit.institution_daily"]
    paid = pay(client, world, 40_000, key="a-2")
    assert paid["account_paid_fen"] == answer["max_amount_fen"]
    assert paid["decision"]["limited_by"] == answer["limited_by"]
    assert explain(client, world, amount=1_000)["max_amount_fen"] == 0


def test_without_an_amount_the_answer_is_what_is_left_today_and_this_year(ctx, client, world):
    pay(client, world, 45_000, key="a-1")
    assert explain(client, world)["max_amount_fen"] == 5_000  # the balance asked for, the day's limit at A left
    spent = 45_000
    for day in range(3, 24):  # ¥450 a day until the ¥10,000 of the year are nearly used
        ctx.clock.set(dt.datetime(2026, 3, day, 9, 0, tzinfo=SHANGHAI))
        pay(client, world, 45_000, key=f"a-{day}")
        spent += 45_000
    assert spent == 990_000
    ctx.clock.set(dt.datetime(2026, 3, 24, 9, 0, tzinfo=SHANGHAI))
    answer = explain(client, world, amount=50_000)
    assert answer["max_amount_fen"] == 1_000_000 - spent
    assert "limit.yearly" in answer["limited_by"]
    assert pay(client, world, 50_000, key="a-24")["account_paid_fen"] == 1_000_000 - spent
    assert explain(client, world, at=PHARMACY_B, amount=100)["max_amount_fen"] == 0
