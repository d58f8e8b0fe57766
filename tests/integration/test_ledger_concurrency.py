"""Many clients at once against one account: never below zero, money moves once per key."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from tests.support import build_world
from yibao.domain import errors
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind
from yibao.ledger.entries import EntryKind, Posting, debit_personal
from yibao.services.accounts import balances, contributions
from yibao.services.accounts.books import Books
from yibao.services.idempotency import Once
from yibao.store.tables import ledger_entries, ledger_postings

CLIENTS = 16


def all_at_once(n: int, work):
    """Run work(i) on n threads released together; return each result or the exception it raised."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:  # noqa: BLE001 - the test sorts outcomes by kind
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def pay(ctx, person_id: str, amount: int) -> str:
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        legs = debit_personal(books.account(acct.personal(person_id)), amount)
        entry = books.post(EntryKind.SETTLEMENT, [*legs, Posting(acct.institution_payable("P-RACE"), amount)])
        uow.commit()
        return entry.id


def keyed_hold(ctx, person_id: str, amount: int, *, key: str) -> dict:
    """A payout's hold under an idempotency key, as the services that pay out place one."""
    with ctx.uow() as uow:
        once = Once(uow, scope="hold", key=key, request={"person_id": person_id, "amount_fen": amount},
                    now=ctx.now())
        if once.earlier is not None:
            return once.earlier
        books = Books(uow, ctx.now())
        books.open(acct.bank_clearing("110000"), AccountKind.BANK_CLEARING, "110000")
        hold = books.reserve(acct.personal(person_id), acct.bank_clearing("110000"), amount,
                             expires_at=ctx.now() + dt.timedelta(hours=1), purpose="race")
        response = once.remember({"hold_id": hold.id, "amount_fen": amount})
        uow.commit()
        return response


@pytest.fixture
def funded(ctx, admin):
    """An employee with 20,000 fen (one month's 2% of ¥10,000) and a payable account to pay into."""
    world = build_world(ctx, admin)
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2026-01", base_fen=1_000_000,
                         employer_id=world.employer_id)
    with ctx.uow() as uow:
        Books(uow, ctx.now()).open(acct.institution_payable("P-RACE"), AccountKind.INSTITUTION_PAYABLE, "110000")
        uow.commit()
    return world


@pytest.mark.postgresql_only
def test_many_clients_paying_from_one_account_never_overdraw_it(ctx, admin, funded):
    rounds = 4  # 16 clients x 4 payments of 700 fen = 44,800 fen asked of 20,000
    outcomes = Counter()
    for _ in range(rounds):
        for result in all_at_once(CLIENTS, lambda i: pay(ctx, funded.person.id, 700)):
            outcomes[type(result).__name__] += 1
            assert isinstance(result, str | errors.BalanceInsufficient), repr(result)
    view = balances.get_account(ctx, actor=admin, person_id=funded.person.id)
    assert outcomes["str"] == 20_000 // 700  # 28 payments fit, no more, no fewer
    assert view.balance_fen == 20_000 - 28 * 700 >= 0
    with ctx.engine.connect() as conn:
        paid = conn.scalar(sa.select(sa.func.sum(ledger_postings.c.amount_fen))
                           .where(ledger_postings.c.account_id == acct.institution_payable("P-RACE")))
    assert paid == 28 * 700


@pytest.mark.postgresql_only
def test_holds_and_payments_racing_keep_available_at_or_above_zero(ctx, admin, funded):
    def work(i):
        if i % 2:
            return keyed_hold(ctx, funded.person.id, 1_500, key=f"race-hold-{i}")
        return pay(ctx, funded.person.id, 1_500)

    results = all_at_once(CLIENTS, work)
    assert all(isinstance(r, dict | str | errors.BalanceInsufficient) for r in results), results
    granted = sum(1 for r in results if not isinstance(r, Exception))
    view = balances.get_account(ctx, actor=admin, person_id=funded.person.id)
    assert granted == 20_000 // 1_500
    assert view.available_fen == 20_000 - granted * 1_500 >= 0


def test_the_same_request_sent_at_once_moves_money_once(ctx, admin, funded):
    # A unit's payroll system retries a contribution on every thread at the same moment.
    results = all_at_once(8, lambda i: contributions.credit(
        ctx, actor=admin, person_id=funded.person.id, period="2026-02", base_fen=1_000_000,
        employer_id=funded.employer_id))
    assert all(isinstance(r, dict) for r in results), results
    assert len({r["contribution_id"] for r in results}) == 1
    assert balances.get_account(ctx, actor=admin, person_id=funded.person.id).balance_fen == 40_000


def test_the_same_key_with_different_requests_at_once_moves_money_once(ctx, admin, funded):
    results = all_at_once(8, lambda i: keyed_hold(ctx, funded.person.id, 1_000 + i, key="payout-2026-03-0001"))
    won = [r for r in results if isinstance(r, dict)]
    assert len({r["hold_id"] for r in won}) == 1
    assert all(isinstance(r, errors.IdempotencyConflict) for r in results if not isinstance(r, dict)), results
    assert balances.get_account(ctx, actor=admin, person_id=funded.person.id).held_fen == won[0]["amount_fen"]
    with ctx.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(ledger_entries)) == 1  # the contribution
