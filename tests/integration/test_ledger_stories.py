"""Worked examples, played out step by step, each ending with the accounting equation (R3, R8, R9).

Payments at an institution are posted through the ledger writer here; the settlement service
that decides them arrives with its own issue.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.support import build_world
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import EntryKind, Posting, debit_personal
from yibao.services.accounts import balances as accounts
from yibao.services.accounts import contributions
from yibao.services.accounts.books import Books
from yibao.store.tables import ledger_postings


def at(y, m, d, h=10):
    return dt.datetime(y, m, d, h, tzinfo=SHANGHAI)


def balances(ctx) -> dict[str, int]:
    p = ledger_postings
    with ctx.engine.connect() as conn:
        return dict(conn.execute(sa.select(p.c.account_id, sa.func.sum(p.c.amount_fen)).group_by(p.c.account_id)).all())


def pay(ctx, person_id: str, institution: str, amount: int) -> str:
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        books.open(acct.institution_payable(institution), AccountKind.INSTITUTION_PAYABLE, "110000")
        legs = debit_personal(books.account(acct.personal(person_id)), amount)
        entry = books.post(EntryKind.SETTLEMENT, [*legs, Posting(acct.institution_payable(institution), amount)],
                           memo="药店购药")
        uow.commit()
        return entry.id


def refund(ctx, person_id: str, institution: str, amount: int) -> str:
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        entry = books.post(EntryKind.REFUND, [Posting(acct.institution_payable(institution), -amount),
                                              Posting(acct.personal(person_id), amount, Bucket.CURRENT_YEAR)],
                           memo="退费")
        uow.commit()
        return entry.id


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(at(2026, 1, 20))
    return build_world(ctx, admin)


def test_contribution_pharmacy_payment_refund_year_end(ctx, admin, world):
    person, pharmacy = world.person.id, world.institution_code
    credit = dict(actor=admin, person_id=person, employer_id=world.employer_id)

    # January: ¥10,000.00 base, 2% credited
    contributions.credit(ctx, period="2026-01", base_fen=1_000_000, **credit)
    assert accounts.get_account(ctx, actor=admin, person_id=person).balance_fen == 20_000

    # February: ¥150.00 of medicine at the pharmacy
    ctx.clock.set(at(2026, 2, 3))
    pay(ctx, person, pharmacy, 15_000)
    view = accounts.get_account(ctx, actor=admin, person_id=person)
    assert (view.balance_fen, view.current_year_fen) == (5_000, 5_000)

    # The pharmacy takes back a box worth ¥30.00
    refund(ctx, person, pharmacy, 3_000)
    assert accounts.get_account(ctx, actor=admin, person_id=person).balance_fen == 8_000

    # The year ends: this year's part is carried over, the balance is unchanged
    ctx.clock.set(at(2027, 1, 2))
    assert accounts.year_end(ctx, year=2026) == 1
    view = accounts.get_account(ctx, actor=admin, person_id=person)
    assert (view.balance_fen, view.current_year_fen, view.carried_over_fen) == (8_000, 0, 8_000)

    # The accounting equation: every fen is somewhere, and the somewheres sum to zero
    b = balances(ctx)
    assert b == {acct.personal(person): 8_000, acct.contribution_clearing("110000"): -20_000,
                 acct.institution_payable(pharmacy): 12_000}
    assert sum(b.values()) == 0


def test_year_end_moves_only_last_years_money_and_only_once(ctx, admin, world):
    person = world.person.id
    credit = dict(actor=admin, person_id=person, employer_id=world.employer_id)
    ctx.clock.set(at(2026, 11, 20))
    contributions.credit(ctx, period="2026-11", base_fen=1_000_000, **credit)  # 20,000
    ctx.clock.set(at(2027, 1, 5))
    contributions.credit(ctx, period="2027-01", base_fen=750_000, **credit)  # 15,000 of the new year, early

    assert accounts.year_end(ctx, year=2026) == 1
    assert accounts.year_end(ctx, year=2026) == 0  # a re-run moves nothing twice
    view = accounts.get_account(ctx, actor=admin, person_id=person)
    assert (view.balance_fen, view.current_year_fen, view.carried_over_fen) == (35_000, 15_000, 20_000)

    # Spending takes this year's part first, then what was carried over
    ctx.clock.set(at(2027, 2, 1))
    pay(ctx, person, world.institution_code, 17_000)
    view = accounts.get_account(ctx, actor=admin, person_id=person)
    assert (view.current_year_fen, view.carried_over_fen) == (0, 18_000)
    assert sum(balances(ctx).values()) == 0


def test_year_end_cannot_run_before_the_year_is_over(ctx, world):
    ctx.clock.set(at(2026, 12, 31, 23))
    with pytest.raises(errors.YearEndNotDue):
        accounts.year_end(ctx, year=2026)


def test_a_payment_larger_than_the_balance_changes_nothing(ctx, admin, world):
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2026-01", base_fen=1_000_000,
                         employer_id=world.employer_id)
    before = balances(ctx)
    with pytest.raises(errors.BalanceInsufficient) as refused:
        pay(ctx, world.person.id, world.institution_code, 20_001)
    assert refused.value.facts["available_fen"] == 20_000
    assert balances(ctx) == before


def test_a_mistaken_payment_is_reversed_back_into_the_parts_it_came_from(ctx, admin, world):
    person = world.person.id
    ctx.clock.set(at(2026, 11, 20))
    contributions.credit(ctx, actor=admin, person_id=person, period="2026-11", base_fen=1_000_000,
                         employer_id=world.employer_id)  # 20,000 this year
    ctx.clock.set(at(2027, 1, 3))
    accounts.year_end(ctx, year=2026)  # all of it carried over
    contributions.credit(ctx, actor=admin, person_id=person, period="2027-01", base_fen=750_000,
                         employer_id=world.employer_id)  # 15,000 this year
    paid = pay(ctx, person, world.institution_code, 18_000)  # 15,000 this year's, 3,000 carried over
    with ctx.uow() as uow:  # the books' own reversal (a settlement's is refused at the service: a refund corrects it)
        Books(uow, ctx.now()).reverse(paid, memo="重复扣费")
        uow.commit()
    view = accounts.get_account(ctx, actor=admin, person_id=person)
    assert (view.balance_fen, view.current_year_fen, view.carried_over_fen) == (35_000, 15_000, 20_000)
    assert sum(balances(ctx).values()) == 0


def test_a_refused_payment_cannot_be_committed_by_mistake(ctx, admin, world):
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2026-01", base_fen=1_000_000,
                         employer_id=world.employer_id)
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        books.open(acct.institution_payable("P-X"), AccountKind.INSTITUTION_PAYABLE, "110000")
        books.post(EntryKind.SETTLEMENT, [*debit_personal(books.account(acct.personal(world.person.id)), 500),
                                          Posting(acct.institution_payable("P-X"), 500)])
        with pytest.raises(errors.BalanceInsufficient):
            books.post(EntryKind.SETTLEMENT, [Posting(acct.personal(world.person.id), -50_000, Bucket.CURRENT_YEAR),
                                              Posting(acct.institution_payable("P-X"), 50_000)])
        with pytest.raises(AssertionError):  # a bug in a caller, not something to swallow
            uow.commit()
    assert accounts.get_account(ctx, actor=admin, person_id=world.person.id).balance_fen == 20_000
    assert sum(balances(ctx).values()) == 0
