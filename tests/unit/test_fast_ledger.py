"""The ledger's use cases in memory: the real writer and services on the fake ledger, ending on the accounting
equation (every entry sums to zero, so all postings do) and on what the person sees."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.registry import Person
from yibao.domain.users import Actor, Role
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import THIS_YEAR_FIRST, Entry, EntryKind, Posting
from yibao.services.accounts import balances, corrections
from yibao.services.accounts.books import Books
from yibao.services.idempotency import Once, answered

PERSON = "per_fast1"
ME = acct.personal(PERSON)
CLEARING = acct.contribution_clearing("110000")
PHARMACY = acct.institution_payable("P-FAST")
ADMIN, SECOND = Actor("admin1", Role.ADMIN), Actor("admin2", Role.ADMIN)


def at(y, m, d, h=10):
    return dt.datetime(y, m, d, h, tzinfo=SHANGHAI)


@pytest.fixture
def ctx():
    ctx = fake_context(now=at(2026, 3, 2))
    with ctx.uow() as uow:
        uow.add(Person(PERSON, "110101198503120011", "张伟", "13800000000", "110000", dt.date(1985, 3, 12), "M",
                       ctx.now()))
        books = Books(uow, ctx.now())
        books.open(ME, AccountKind.PERSONAL, "110000", person_id=PERSON)
        books.open(CLEARING, AccountKind.CONTRIBUTION_CLEARING, "110000")
        books.open(PHARMACY, AccountKind.INSTITUTION_PAYABLE, "110000", institution_code="P-FAST")
        uow.commit()
    return ctx


def post(ctx, kind: EntryKind, postings: list[Posting], **kw) -> Entry:
    with ctx.uow() as uow:
        entry = Books(uow, ctx.now()).post(kind, postings, **kw)
        uow.commit()
        return entry


def credit(ctx, amount: int) -> Entry:
    return post(ctx, EntryKind.CONTRIBUTION, [Posting(CLEARING, -amount), Posting(ME, amount, Bucket.CURRENT_YEAR)])


def sums(ctx) -> dict[str, int]:
    """Each account's postings summed, over every entry kept."""
    out: dict[str, int] = {}
    for entry in ctx.extras["store"].all(Entry):
        for p in entry.postings:
            out[p.account_id] = out.get(p.account_id, 0) + p.amount_fen
    return out


def view(ctx) -> balances.AccountView:
    return balances.get_account(ctx, actor=ADMIN, person_id=PERSON)


def test_a_credit_a_held_payment_and_a_reversal_keep_the_books_balanced(ctx):
    credit(ctx, 20_000)
    assert (view(ctx).balance_fen, view(ctx).current_year_fen) == (20_000, 20_000)

    with ctx.uow() as uow:  # a payment held first, then taken in part
        hold = Books(uow, ctx.now()).reserve(ME, PHARMACY, 5_000, expires_at=at(2026, 3, 2, 12), purpose="购药")
        uow.commit()
    held = view(ctx)
    assert (held.balance_fen, held.held_fen, held.available_fen) == (20_000, 5_000, 15_000)
    assert [h["hold_id"] for h in held.holds] == [hold.id]
    with ctx.uow() as uow:
        paid = Books(uow, ctx.now()).capture(hold.id, 3_000)
        uow.commit()
    after = view(ctx)
    assert (after.balance_fen, after.held_fen, after.available_fen, after.holds) == (17_000, 0, 17_000, [])

    with ctx.uow() as uow:
        reversal = Books(uow, ctx.now()).reverse(paid.id)
        uow.commit()
    assert view(ctx).balance_fen == 20_000
    assert reversal.reverses_id == paid.id
    assert sums(ctx) == {ME: 20_000, CLEARING: -20_000, PHARMACY: 0}
    assert sum(sums(ctx).values()) == 0

    with pytest.raises(errors.EntryAlreadyReversed), ctx.uow() as uow:
        Books(uow, ctx.now()).reverse(paid.id)
    with pytest.raises(errors.EntryNotReversible), ctx.uow() as uow:
        Books(uow, ctx.now()).reverse(reversal.id)


def test_an_overdraft_is_refused_with_the_facts_and_changes_nothing(ctx):
    credit(ctx, 1_000)
    with pytest.raises(errors.BalanceInsufficient) as refused:
        post(ctx, EntryKind.SETTLEMENT, [Posting(ME, -1_500, THIS_YEAR_FIRST), Posting(PHARMACY, 1_500)])
    assert refused.value.facts == {"amount_fen": 1_500, "available_fen": 1_000, "balance_fen": 1_000}
    assert view(ctx).balance_fen == 1_000
    assert sums(ctx) == {ME: 1_000, CLEARING: -1_000}


def test_a_refused_entry_in_a_unit_of_work_keeps_none_of_it(ctx):
    credit(ctx, 1_000)
    with pytest.raises(errors.BalanceInsufficient), ctx.uow() as uow:
        books = Books(uow, ctx.now())
        books.post(EntryKind.SETTLEMENT, [Posting(ME, -400, Bucket.CURRENT_YEAR), Posting(PHARMACY, 400)])
        books.post(EntryKind.SETTLEMENT, [Posting(ME, -700, Bucket.CURRENT_YEAR), Posting(PHARMACY, 700)])
        uow.commit()
    assert view(ctx).balance_fen == 1_000
    assert len(ctx.extras["store"].all(Entry)) == 1


def test_a_hold_past_its_time_is_released_before_a_refusal(ctx):
    credit(ctx, 1_000)
    with ctx.uow() as uow:
        Books(uow, ctx.now()).reserve(ME, PHARMACY, 800, expires_at=at(2026, 3, 2, 11), purpose="购药")
        uow.commit()
    ctx.clock.set(at(2026, 3, 2, 12))
    paid = post(ctx, EntryKind.SETTLEMENT, [Posting(ME, -900, THIS_YEAR_FIRST), Posting(PHARMACY, 900)])
    assert [p.bucket for p in paid.postings if p.account_id == ME] == [Bucket.CURRENT_YEAR]
    assert (view(ctx).balance_fen, view(ctx).held_fen) == (100, 0)
    assert balances.expire_holds(ctx) == 0


def test_the_statement_and_the_turn_of_the_year(ctx):
    credit(ctx, 2_000)
    ctx.clock.set(at(2026, 6, 1))
    post(ctx, EntryKind.SETTLEMENT, [Posting(ME, -500, THIS_YEAR_FIRST), Posting(PHARMACY, 500)])
    ctx.clock.set(at(2027, 1, 2))
    credit(ctx, 300)  # next year's money arrives before the job
    assert balances.year_end(ctx, year=2026) == 1
    assert balances.year_end(ctx, year=2026) == 0  # nothing moves twice
    seen = view(ctx)
    assert (seen.balance_fen, seen.current_year_fen, seen.carried_over_fen) == (1_800, 300, 1_500)

    statement = balances.statement(ctx, actor=ADMIN, person_id=PERSON, date_from=dt.date(2026, 6, 1))
    assert statement.opening_balance_fen == 2_000
    assert [(line.kind, line.amount_fen, line.balance_after_fen) for line in statement.lines] == [
        ("settlement", -500, 1_500), ("contribution", 300, 1_800), ("year_end", 0, 1_800)]
    assert statement.closing_balance_fen == view(ctx).balance_fen


def test_a_key_answers_a_retry_once_and_refuses_another_request(ctx):
    with ctx.uow() as uow:
        once = Once(uow, scope="fast", key="k1", request={"a": 1}, now=ctx.now())
        assert once.earlier is None
        once.remember({"done": True})
        uow.commit()
    with ctx.uow() as uow:
        assert Once(uow, scope="fast", key="k1", request={"a": 1}, now=ctx.now()).earlier == {"done": True}
        assert answered(uow, scope="fast", key="k1", request={"a": 1}) == {"done": True}
        with pytest.raises(errors.IdempotencyConflict):
            Once(uow, scope="fast", key="k1", request={"a": 2}, now=ctx.now())
    with ctx.uow() as uow:
        Once(uow, scope="fast", key="k2", request={}, now=ctx.now())  # claimed, never committed
    with ctx.uow() as uow:
        assert answered(uow, scope="fast", key="k2", request={}) is None


def test_a_bare_reversal_takes_two_admins(ctx):
    with ctx.uow() as uow:
        Books(uow, ctx.now()).open(acct.bank_clearing("110000"), AccountKind.BANK_CLEARING, "110000")
        uow.commit()
    wrong = post(ctx, EntryKind.QUOTA_GRANT, [Posting(acct.bank_clearing("110000"), -700), Posting(ME, 700,
                                                                                                    Bucket.CURRENT_YEAR)])
    asked = corrections.request_reversal(ctx, actor=ADMIN, entry_id=wrong.id, reason="录入错误")
    assert corrections.request_reversal(ctx, actor=ADMIN, entry_id=wrong.id, reason="again") == asked
    assert [r["reversal_id"] for r in corrections.list_reversals(ctx, actor=SECOND)] == [asked["reversal_id"]]
    with pytest.raises(errors.ReversalSameHands):
        corrections.approve_reversal(ctx, actor=ADMIN, reversal_id=asked["reversal_id"])
    entry = corrections.approve_reversal(ctx, actor=SECOND, reversal_id=asked["reversal_id"])
    assert entry.reverses_id == wrong.id
    assert view(ctx).balance_fen == 0
    assert corrections.list_reversals(ctx, actor=SECOND) == []
    with pytest.raises(errors.EntryAlreadyReversed):
        corrections.request_reversal(ctx, actor=ADMIN, entry_id=wrong.id, reason="twice")


def test_an_entry_a_record_owns_is_corrected_through_that_record(ctx):
    paid = credit(ctx, 500)
    with pytest.raises(errors.EntryOwnedByRecord):
        corrections.request_reversal(ctx, actor=ADMIN, entry_id=paid.id, reason="录入错误")
