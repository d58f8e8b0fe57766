"""Thirty-two clients settling at once against one person at several pharmacies (PostgreSQL): no limit or
balance is ever exceeded, and every quota account equals its limit less the settlements that used it."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
import sqlalchemy as sa

from tests import support
from tests.integration.test_ledger_concurrency import all_at_once
from tests.support import MONTHLY_BASE_FEN, build_world, code_credential, rows
from yibao.bootstrap import bootstrap
from yibao.domain.clock import SHANGHAI
from yibao.services.audit.verify import verify
from yibao.services.credentials import evouchers
from yibao.services.registry import institutions
from yibao.services.settlement import payments as service
from yibao.store.tables import ledger_accounts, ledger_postings, settlements

CLIENTS = 32
PHARMACIES = [f"P1100000001{n}" for n in range(4)]
DAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


def fund(ctx, admin, base_fen: int = MONTHLY_BASE_FEN, months: int = 1):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    support.fund(ctx, admin, world.person.id, months=months, base_fen=base_fen, employer_id=world.employer_id)
    for code in PHARMACIES:
        institutions.add_institution(ctx, actor=admin, code=code, name="药房", kind="pharmacy", region="110000",
                                     designated=True, cross_region=False, designated_from=dt.date(2024, 1, 1))
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                             id_number=world.person.id_number, name=world.person.name, channel="app")
    ctx.clock.set(DAY)
    return world, token


def rush(settings, admin, token: str, payments_each: int) -> list:
    """Every client its own process-like context (engine and connections), all released together."""
    contexts = [bootstrap(settings) for _ in range(CLIENTS)]
    for c in contexts:
        c.clock.set(DAY)
    rng = random.Random(2026)
    plans = [[(rng.choice(PHARMACIES), rng.choice([7_000, 13_000, 25_000, 40_000]), code_credential(c, token))
              for _ in range(payments_each)] for c in contexts]  # a payment code for each payment

    def client(i):
        return [service.settle(contexts[i], actor=admin, idempotency_key=f"c{i}-{n}", institution_code=code,
                               credential=shown, items=[{"category": "drug", "amount_fen": amount}])
                for n, (code, amount, shown) in enumerate(plans[i])]

    try:
        return all_at_once(CLIENTS, client)
    finally:
        for c in contexts:
            c.engine.dispose()


def check_quotas_and_books(ctx, person_id: str) -> dict:
    quotas = {r.id: r for r in rows(ctx, ledger_accounts) if r.kind == "quota"}
    used: dict[str, int] = defaultdict(int)
    for s in rows(ctx, settlements):
        for account_id, n in s.quotas.items():
            used[account_id] += n
    limits = {"institution_daily": 50_000, "daily": 100_000, "yearly": 1_000_000, "daily_count": None}
    for account_id, row in quotas.items():
        kind = account_id.split(":")[2]
        if limits[kind] is not None:
            assert row.posted_fen == limits[kind] - used[account_id] >= 0, account_id
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(ledger_postings.c.amount_fen))).scalar_one() == 0
    assert verify(ctx).ok
    return quotas


@pytest.mark.postgresql_only
def test_thirty_two_clients_never_exceed_a_limit(ctx, admin, settings):
    world, token = fund(ctx, admin, months=4)  # ¥2,000: the limits bind, not the balance
    outcomes = rush(settings, admin, token, payments_each=3)
    failed = [done for done in outcomes if isinstance(done, Exception)]
    assert not failed, failed[:3]  # no payment fails for another's sake: they queue on the locks
    made = rows(ctx, settlements)
    assert len(made) == CLIENTS * 3
    per_pharmacy: dict[str, int] = defaultdict(int)
    for s in made:
        assert s.account_paid_fen + s.cash_fen == s.total_fen
        per_pharmacy[s.institution_code] += s.account_paid_fen
    assert all(paid <= 50_000 for paid in per_pharmacy.values()), per_pharmacy
    assert sum(per_pharmacy.values()) == 100_000  # the day's ¥1,000 is reached exactly, never passed
    person = next(r for r in rows(ctx, ledger_accounts) if r.id == f"personal:{world.person.id}")
    assert person.posted_fen == 4 * 50_000 - 100_000
    check_quotas_and_books(ctx, world.person.id)


@pytest.mark.postgresql_only
def test_thirty_two_clients_never_overdraw_the_account(ctx, admin, settings):
    world, token = fund(ctx, admin, base_fen=3_000_000)  # ¥600 in the account, less than the day's ¥1,000
    outcomes = rush(settings, admin, token, payments_each=2)
    assert not [d for d in outcomes if isinstance(d, Exception)]
    made = rows(ctx, settlements)
    paid = sum(s.account_paid_fen for s in made)
    assert paid == 60_000  # every fen spent, not one more
    person = next(r for r in rows(ctx, ledger_accounts) if r.id == f"personal:{world.person.id}")
    assert person.posted_fen == 0
    assert any("balance.insufficient" in s.decision["limited_by"] for s in made)
    check_quotas_and_books(ctx, world.person.id)


@pytest.mark.postgresql_only
def test_thirty_two_clients_sending_one_payment_at_once_pay_it_once_and_get_one_answer(ctx, admin, settings):
    _, token = fund(ctx, admin, months=4)
    contexts = [bootstrap(settings) for _ in range(CLIENTS)]
    for c in contexts:
        c.clock.set(DAY)
    shown = code_credential(ctx, token)

    def client(i):
        return service.settle(contexts[i], actor=admin, idempotency_key="till-7-0001", institution_code=PHARMACIES[0],
                              credential=shown,
                              items=[{"category": "drug", "amount_fen": 12_000}])

    try:
        outcomes = all_at_once(CLIENTS, client)
    finally:
        for c in contexts:
            c.engine.dispose()
    assert not [d for d in outcomes if isinstance(d, Exception)]
    assert len({o["settlement_id"] for o in outcomes}) == 1 and len(rows(ctx, settlements)) == 1
    assert {o["balance_after_fen"] for o in outcomes} == {4 * 50_000 - 12_000}
