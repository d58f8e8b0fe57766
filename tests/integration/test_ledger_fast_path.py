"""The ledger's PostgreSQL path (one prepared lock, one server-side call per entry) against its plain path:
the same entries give the same rows and the same hash chains, and many clients at once never overdraw. On both
databases, the ledger in memory (the fast service ring's) writes what the store writes."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.integration.test_ledger_concurrency import all_at_once
from tests.support import StoppedClock, new_id_number
from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import Account, AccountKind, Bucket, Unit
from yibao.ledger.entries import THIS_YEAR_FIRST, Entry, EntryKind, Posting, debit_personal
from yibao.ledger.holds import Hold
from yibao.services.accounts.books import Books
from yibao.services.audit import verify
from yibao.services.registry import enrolment
from yibao.store.tables import holds, ledger_accounts, ledger_entries, ledger_postings

REGION = "110000"
PHARMACY = acct.institution_payable("P-FAST")
CLEARING = acct.contribution_clearing(REGION)
SOURCE = acct.quota_source(REGION)
BANK = acct.bank_clearing(REGION)
DAY = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def quotas(person_id: str) -> list[str]:
    return [acct.quota(person_id, "institution_daily", "P-FAST", "2026-03-02"),
            acct.quota(person_id, "daily", "2026-03-02"), acct.quota(person_id, "yearly", "2026")]


def settle(books: Books, person_id: str, amount: int):
    """What a settlement posts: the person debited, the institution owed, three quotas used."""
    accounts = books.lock([acct.personal(person_id), *quotas(person_id)])
    legs = debit_personal(accounts[acct.personal(person_id)], amount)
    return books.post(EntryKind.SETTLEMENT, [*legs, Posting(PHARMACY, amount),
                                             *[Posting(q, -amount) for q in quotas(person_id)],
                                             Posting(SOURCE, 3 * amount)], memo="药店购药",
                      details={"institution": "P-FAST", "items": [{"category": "drug", "amount_fen": amount}]})


def settle_in_one_call(books: Books, person_id: str, amount: int):
    """The same payment without reading the accounts first: the writer splits the debit (one call on PostgreSQL)."""
    return books.post(EntryKind.SETTLEMENT, [Posting(acct.personal(person_id), -amount, THIS_YEAR_FIRST),
                                             Posting(PHARMACY, amount), *[Posting(q, -amount) for q in quotas(person_id)],
                                             Posting(SOURCE, 3 * amount)], memo="药店购药",
                      details={"institution": "P-FAST", "items": [{"category": "drug", "amount_fen": amount}]})


def open_person(ctx, person_id: str, *, plain: bool, money: int, quota: int) -> None:
    with ctx.uow() as uow:
        books = Books(uow, ctx.now(), plain=plain)
        for account_id, kind in [(PHARMACY, AccountKind.INSTITUTION_PAYABLE), (CLEARING, AccountKind.CONTRIBUTION_CLEARING),
                                 (SOURCE, AccountKind.QUOTA_SOURCE), (BANK, AccountKind.BANK_CLEARING)]:
            books.open(account_id, kind, REGION)
        books.open(acct.personal(person_id), AccountKind.PERSONAL, REGION, person_id=person_id)
        books.post(EntryKind.CONTRIBUTION, [Posting(acct.personal(person_id), money, Bucket.CURRENT_YEAR),
                                            Posting(CLEARING, -money)], details={"period": "2026-02"})
        for q in quotas(person_id):
            books.open(q, AccountKind.QUOTA, REGION, person_id=person_id, unit=Unit.FEN)
            books.post(EntryKind.QUOTA_GRANT, [Posting(q, quota), Posting(SOURCE, -quota)])
        uow.commit()


def story(ctx, person_ids: list[str], *, plain: bool) -> None:
    """Contributions, settlements (one refused by a quota), a hold captured in part, a hold voided,
    a reversal, and a year end, each in its own unit of work."""
    ctx.clock.set(DAY)
    for n, person_id in enumerate(person_ids):
        open_person(ctx, person_id, plain=plain, money=20_000 + n, quota=9_000)

    def unit(work):
        with ctx.uow() as uow:
            result = work(Books(uow, ctx.now(), plain=plain))
            uow.commit()
            return result

    first, second = person_ids
    paid = unit(lambda b: settle(b, first, 4_000))
    unit(lambda b: settle(b, second, 8_500))
    with pytest.raises(errors.QuotaExhausted):
        unit(lambda b: settle(b, second, 600))  # 8,500 of the 9,000 a day allows is used
    with pytest.raises(errors.QuotaExhausted):
        unit(lambda b: settle_in_one_call(b, second, 600))  # the same, found short by the server: nothing written
    unit(lambda b: settle_in_one_call(b, second, 450))
    hold = unit(lambda b: b.reserve(acct.personal(first), BANK, 3_000,
                                    expires_at=DAY + dt.timedelta(hours=1), purpose="disbursement"))
    unit(lambda b: b.capture(hold.id, 1_250))
    other = unit(lambda b: b.reserve(acct.personal(second), BANK, 500,
                                     expires_at=DAY + dt.timedelta(hours=1), purpose="disbursement"))
    unit(lambda b: b.void(other.id))
    unit(lambda b: b.reverse(paid.id, memo="重复扣费"))
    ctx.clock.set(dt.datetime(2027, 1, 2, 9, 0, tzinfo=SHANGHAI))
    for q in quotas(second):  # a new year's allowance, so the one-call payment below spends both parts
        unit(lambda b, q=q: b.post(EntryKind.QUOTA_GRANT, [Posting(q, 9_000), Posting(SOURCE, -9_000)]))
    for person_id in person_ids:
        unit(lambda b, p=person_id: b.post(EntryKind.YEAR_END, [
            Posting(acct.personal(p), -b.account(acct.personal(p)).current_year_fen, Bucket.CURRENT_YEAR),
            Posting(acct.personal(p), b.account(acct.personal(p)).current_year_fen, Bucket.CARRIED_OVER)]))
    unit(lambda b: settle(b, first, 700))
    unit(lambda b: b.post(EntryKind.CONTRIBUTION, [Posting(acct.personal(second), 1_000, Bucket.CURRENT_YEAR),
                                                   Posting(CLEARING, -1_000)]))
    taken = unit(lambda b: settle_in_one_call(b, second, 1_500))  # 1,000 of this year's, 500 carried over
    assert [(p.amount_fen, p.bucket) for p in taken.postings[:2]] == [(-1_000, Bucket.CURRENT_YEAR),
                                                                      (-500, Bucket.CARRIED_OVER)]


def ledger_rows(ctx) -> dict[str, list]:
    with ctx.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
                for t in (ledger_accounts, ledger_entries, ledger_postings, holds)}


def forget_ledger(ctx) -> None:
    names = ", ".join(t.name for t in (holds, ledger_postings, ledger_entries, ledger_accounts))
    with ctx.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))  # and what refers to them


@pytest.mark.postgresql_only
def test_the_server_path_writes_the_same_rows_and_chains_as_the_plain_path(ctx, admin, monkeypatch):
    people = [enrolment.register_person(ctx, actor=admin, id_number=new_id_number(), name="对照",
                                        phone=f"1390000000{n}", region=REGION).id for n in range(2)]
    ctx.clock, runs = StoppedClock(), {}
    for plain in (True, False):
        counter = itertools.count(1)
        monkeypatch.setattr("yibao.services.accounts.books.new_id", lambda prefix, n=counter: f"{prefix}_{next(n):016x}")
        forget_ledger(ctx)
        story(ctx, people, plain=plain)
        report = verify.verify(ctx)
        assert report.ok, report.breaks
        runs[plain] = ledger_rows(ctx)
    plain, server = runs[True], runs[False]
    assert len(server["ledger_entries"]) == 21 and len(server["ledger_postings"]) == 67
    for table in plain:
        assert server[table] == plain[table], table


@pytest.mark.postgresql_only
def test_the_server_path_is_the_one_books_take_on_postgresql(ctx):
    with ctx.uow() as uow:
        assert Books(uow, ctx.now()).repo.on_server
        assert not Books(uow, ctx.now(), plain=True).repo.on_server


@pytest.mark.postgresql_only
def test_many_clients_settling_from_one_account_never_overdraw_it_or_its_quotas(ctx, admin):
    person = enrolment.register_person(ctx, actor=admin, id_number=new_id_number(), name="并发",
                                       phone="13900000009", region=REGION)
    ctx.clock.set(DAY)
    open_person(ctx, person.id, plain=False, money=20_000, quota=15_000)

    def pay(i):
        with ctx.uow() as uow:
            entry = settle(Books(uow, ctx.now()), person.id, 700)
            uow.commit()
            return entry.id

    outcomes = Counter()
    for _ in range(3):  # 16 clients x 3 rounds of 700 fen = 33,600 fen asked; a quota allows 15,000
        for result in all_at_once(16, pay):
            assert isinstance(result, str | errors.QuotaExhausted), repr(result)
            outcomes[type(result).__name__] += 1
    assert outcomes["str"] == 15_000 // 700  # 21 settlements fit the quotas, no more, no fewer
    a = ledger_accounts
    with ctx.engine.connect() as conn:
        balances = dict(conn.execute(sa.select(a.c.id, a.c.posted_fen).where(a.c.person_id == person.id)).all())
    assert balances[acct.personal(person.id)] == 20_000 - 21 * 700
    assert all(balances[q] == 15_000 - 21 * 700 >= 0 for q in quotas(person.id))
    report = verify.verify(ctx)  # one chain, 22 entries long, unbroken by the race
    assert report.ok, report.breaks


@pytest.mark.postgresql_only
def test_opening_and_locking_creates_only_what_is_missing_on_both_paths(ctx, admin):
    ctx.clock.set(DAY)
    for plain in (True, False):
        person_id = enrolment.register_person(ctx, actor=admin, id_number=new_id_number(), name="开户",
                                              phone="13900000008", region=REGION).id
        with ctx.uow() as uow:
            books = Books(uow, ctx.now(), plain=plain)
            books.open(PHARMACY, AccountKind.INSTITUTION_PAYABLE, REGION)
            books.open(CLEARING, AccountKind.CONTRIBUTION_CLEARING, REGION)
            books.open(acct.personal(person_id), AccountKind.PERSONAL, REGION, person_id=person_id)
            books.post(EntryKind.CONTRIBUTION, [Posting(acct.personal(person_id), 5_000, Bucket.CURRENT_YEAR),
                                                Posting(CLEARING, -5_000)])
            uow.commit()
        with ctx.engine.connect() as conn:
            existing = set(conn.scalars(sa.select(ledger_accounts.c.id)))
        at = ctx.now()
        wanted = [acct.new_account(acct.personal(person_id), AccountKind.PERSONAL, REGION, at, person_id=person_id),
                  acct.new_account(PHARMACY, AccountKind.INSTITUTION_PAYABLE, REGION, at),
                  *[acct.new_account(q, AccountKind.QUOTA, REGION, at, person_id=person_id)
                    for q in quotas(person_id)],
                  acct.new_account(SOURCE, AccountKind.QUOTA_SOURCE, REGION, at)]
        with ctx.uow() as uow:
            books = Books(uow, ctx.now(), plain=plain)
            assert books.open_and_lock(wanted) == {a.id for a in wanted} - existing == set(quotas(person_id)) | (
                {SOURCE} - existing)
            assert books.account(acct.personal(person_id)).posted_fen == 5_000  # read and locked, not opened
            assert [books.account(q).posted_fen for q in quotas(person_id)] == [0, 0, 0]
            uow.commit()
        with ctx.uow() as uow:
            books = Books(uow, ctx.now(), plain=plain)
            assert books.open_and_lock(wanted) == set()
            assert books.account(quotas(person_id)[0]).created_at == at
        with ctx.engine.connect() as conn:
            assert {a.id for a in wanted} <= set(conn.scalars(sa.select(ledger_accounts.c.id)))


def _bucket(bucket) -> str | None:
    return str(bucket) if bucket else None


def rows_in_store(ctx) -> dict[str, list]:
    """The story's ledger as the database holds it, in the shape `rows_in_memory` gives."""
    e, p, a, h = ledger_entries, ledger_postings, ledger_accounts, holds
    with ctx.engine.connect() as conn:
        return {
            "entries": [(r.id, r.kind, r.anchor_account_id, r.anchor_seq, r.prev_hash, r.hash, r.reverses_id, r.details)
                        for r in conn.execute(sa.select(e).order_by(e.c.id))],
            "postings": [(r.entry_id, r.account_id, r.amount_fen, r.bucket)
                         for r in conn.execute(sa.select(p).order_by(p.c.entry_id, p.c.id))],
            "accounts": [(r.id, r.posted_fen, r.pending_fen, r.current_year_fen, r.chain_head, r.chain_length)
                         for r in conn.execute(sa.select(a).order_by(a.c.id))],
            "holds": [(r.id, r.status, r.amount_fen, r.captured_fen, r.entry_id)
                      for r in conn.execute(sa.select(h).order_by(h.c.id))]}


def rows_in_memory(store) -> dict[str, list]:
    entries = sorted(store.all(Entry), key=lambda x: x.id)
    return {
        "entries": [(x.id, str(x.kind), x.anchor_account_id, x.anchor_seq, x.prev_hash, x.hash, x.reverses_id,
                     x.details) for x in entries],
        "postings": [(x.id, q.account_id, q.amount_fen, _bucket(q.bucket)) for x in entries for q in x.postings],
        "accounts": [(x.id, x.posted_fen, x.pending_fen, x.current_year_fen, x.chain_head, x.chain_length)
                     for x in sorted(store.all(Account), key=lambda x: x.id)],
        "holds": [(x.id, str(x.status), x.amount_fen, x.captured_fen, x.entry_id)
                  for x in sorted(store.all(Hold), key=lambda x: x.id)]}


def test_the_ledger_in_memory_writes_the_rows_and_chains_the_store_writes(ctx, admin, monkeypatch):
    people = [enrolment.register_person(ctx, actor=admin, id_number=new_id_number(), name="对照",
                                        phone=f"1390000000{n}", region=REGION).id for n in range(2)]
    memory = fake_context()
    runs = {}
    for run in (ctx, memory):
        counter = itertools.count(1)
        monkeypatch.setattr("yibao.services.accounts.books.new_id", lambda prefix, n=counter: f"{prefix}_{next(n):016x}")
        run.clock = StoppedClock()
        story(run, people, plain=False)
        runs[run is memory] = rows_in_memory(run.extras["store"]) if run is memory else rows_in_store(ctx)
    stored, in_memory = runs[False], runs[True]
    assert len(stored["entries"]) == 21 and len(stored["postings"]) == 67
    for kind in stored:
        assert in_memory[kind] == stored[kind], kind
