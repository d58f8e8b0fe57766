"""The ledger against a model: random sequences of credits, payments, holds, captures, voids, reversals,
hold expiry and year ends, on the books (services.books) themselves, keep the model and the ledger equal, and
every posting ever made sums to zero."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from tests.support import StoppedClock, ledger_capture, ledger_hold, new_id_number, new_phone
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import EntryKind, Posting, debit_personal
from yibao.services.accounts import balances
from yibao.services.accounts.books import Books
from yibao.services.registry import enrolment
from yibao.store.tables import ledger_accounts, ledger_postings

START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)
PHARMACY = acct.institution_payable("P-MODEL")
CLEARING = acct.contribution_clearing("110000")


@dataclass
class ModelAccount:
    posted: int = 0
    current: int = 0
    holds: dict[str, tuple[int, dt.datetime]] = field(default_factory=dict)  # id -> (amount, expires)

    def held(self, now) -> int:
        return sum(a for a, expires in self.holds.values() if now < expires)

    def take(self, amount: int) -> list[tuple[int, str]]:
        """This year's part first, then what was carried over (the ledger's rule)."""
        from_current = min(self.current, amount)
        self.posted -= amount
        self.current -= from_current
        return [(-from_current, "current"), (-(amount - from_current), "carried")]


@dataclass
class ModelEntry:
    person: int
    kind: str
    legs: list[tuple[int, str]]  # this person's (amount, bucket)
    reversed: bool = False


class LedgerMachine(RuleBasedStateMachine):
    persons = Bundle("persons")
    entries = Bundle("entries")
    holds = Bundle("holds")

    def __init__(self, ctx, admin):
        super().__init__()
        self.ctx, self.admin = ctx, admin
        ctx.clock = StoppedClock(START)  # the model's time: nothing happens between its steps
        self.now = START
        self.person_ids: list[str] = []
        self.model: list[ModelAccount] = []
        self.model_entries: dict[str, ModelEntry] = {}
        self.hold_owner: dict[str, int] = {}

    # --- helpers ----------------------------------------------------------------

    def _post(self, kind, postings):
        with self.ctx.uow() as uow:
            books = Books(uow, self.ctx.now())
            books.open(PHARMACY, AccountKind.INSTITUTION_PAYABLE, "110000")
            books.open(CLEARING, AccountKind.CONTRIBUTION_CLEARING, "110000")
            entry = postings(books) if callable(postings) else books.post(kind, postings)
            uow.commit()
            return entry

    # --- rules ------------------------------------------------------------------

    @rule(target=persons)
    def new_person(self):
        person = enrolment.register_person(self.ctx, actor=self.admin, id_number=new_id_number(), name="模型",
                                           phone=new_phone(), region="110000")
        self.person_ids.append(person.id)
        self.model.append(ModelAccount())
        with self.ctx.uow() as uow:
            Books(uow, self.ctx.now()).open(acct.personal(person.id), AccountKind.PERSONAL, "110000",
                                            person_id=person.id)
            uow.commit()
        return len(self.model) - 1

    @rule(target=entries, p=persons, amount=st.integers(1, 50_000))
    def credit(self, p, amount):
        entry = self._post(EntryKind.CONTRIBUTION, [Posting(acct.personal(self.person_ids[p]), amount,
                                                            Bucket.CURRENT_YEAR), Posting(CLEARING, -amount)])
        self.model[p].posted += amount
        self.model[p].current += amount
        self.model_entries[entry.id] = ModelEntry(p, "contribution", [(amount, "current")])
        return entry.id

    @rule(target=entries, p=persons, amount=st.integers(1, 60_000))
    def pay(self, p, amount):
        m = self.model[p]
        account_id = acct.personal(self.person_ids[p])

        def post(books):
            legs = debit_personal(books.account(account_id), amount)
            return books.post(EntryKind.SETTLEMENT, [*legs, Posting(PHARMACY, amount)])

        if amount > m.posted - m.held(self.now):
            with pytest.raises(errors.BalanceInsufficient):
                self._post(None, post)
            return None
        entry = self._post(None, post)
        self.model_entries[entry.id] = ModelEntry(p, "settlement", [leg for leg in m.take(amount) if leg[0]])
        return entry.id

    @rule(target=holds, p=persons, amount=st.integers(1, 40_000), minutes=st.integers(1, 90))
    def hold(self, p, amount, minutes):
        m = self.model[p]
        place = dict(person_id=self.person_ids[p], amount_fen=amount, minutes=minutes, purpose="model")
        if amount > m.posted - m.held(self.now):
            with pytest.raises(errors.BalanceInsufficient):
                ledger_hold(self.ctx, **place)
            return None
        hold = ledger_hold(self.ctx, **place)
        m.holds[hold.id] = (amount, self.now + dt.timedelta(minutes=minutes))
        self.hold_owner[hold.id] = p
        return hold.id

    @rule(target=entries, hold_id=consumes(holds), share=st.floats(0.01, 1.0))
    def capture(self, hold_id, share):
        if hold_id is None:
            return None
        p = self.hold_owner[hold_id]
        m = self.model[p]
        amount, expires = m.holds.pop(hold_id)
        part = max(1, int(amount * share))
        if self.now >= expires:
            with pytest.raises(errors.HoldExpired):
                ledger_capture(self.ctx, hold_id, part)
            return None
        captured = ledger_capture(self.ctx, hold_id, part)
        self.model_entries[captured.id] = ModelEntry(p, "hold_capture", [leg for leg in m.take(part) if leg[0]])
        return captured.id

    @rule(hold_id=consumes(holds))
    def void(self, hold_id):
        if hold_id is None:
            return
        self.model[self.hold_owner[hold_id]].holds.pop(hold_id)
        self._post(None, lambda books: books.void(hold_id))

    @rule(target=entries, entry_id=entries)
    def reverse(self, entry_id):
        if entry_id is None:
            return None
        original = self.model_entries[entry_id]
        def reverse(books):
            return books.reverse(entry_id, memo="model")

        if original.reversed:
            with pytest.raises(errors.EntryAlreadyReversed):
                self._post(None, reverse)
            return None
        if original.kind in ("reversal", "year_end"):
            with pytest.raises(errors.EntryNotReversible):
                self._post(None, reverse)
            return None
        m = self.model[original.person]
        net = -sum(a for a, _ in original.legs)
        if net < 0 and -net > m.posted - m.held(self.now):
            with pytest.raises(errors.BalanceInsufficient):
                self._post(None, reverse)
            return None
        reversal = self._post(None, reverse)
        original.reversed = True
        if net < 0:
            legs = [leg for leg in m.take(-net) if leg[0]]
        else:  # money going back returns to the parts it came from
            legs = [(-a, bucket) for a, bucket in original.legs]
            m.posted += net
            m.current += sum(a for a, bucket in legs if bucket == "current")
        self.model_entries[reversal.id] = ModelEntry(original.person, "reversal", legs)
        return reversal.id

    @rule(minutes=st.integers(1, 120))
    def time_passes(self, minutes):
        self.now += dt.timedelta(minutes=minutes)
        self.ctx.clock.set(self.now)

    @rule()
    def year_end(self):
        if self.now.year > START.year:
            return
        self.now = dt.datetime(self.now.year + 1, 1, 2, 9, 0, tzinfo=SHANGHAI)
        self.ctx.clock.set(self.now)
        balances.year_end(self.ctx, year=self.now.year - 1)
        for m in self.model:
            m.current = 0

    # --- what must always hold ----------------------------------------------------

    @invariant()
    def ledger_equals_model(self):
        for person_id, m in zip(self.person_ids, self.model, strict=True):
            view = balances.get_account(self.ctx, actor=self.admin, person_id=person_id)
            assert (view.balance_fen, view.held_fen, view.available_fen, view.current_year_fen) == (
                m.posted, m.held(self.now), m.posted - m.held(self.now), m.current), person_id

    @invariant()
    def every_posting_sums_to_zero(self):
        p, a = ledger_postings, ledger_accounts
        with self.ctx.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(p.c.amount_fen), 0))) == 0
            unbalanced = conn.execute(sa.select(p.c.entry_id).group_by(p.c.entry_id)
                                      .having(sa.func.sum(p.c.amount_fen) != 0)).all()
            assert not unbalanced
            current = sa.func.coalesce(sa.func.sum(sa.case((p.c.bucket == "current", p.c.amount_fen), else_=0)), 0)
            rows = conn.execute(
                sa.select(a.c.id, a.c.posted_fen, a.c.current_year_fen,
                          sa.func.coalesce(sa.func.sum(p.c.amount_fen), 0), current)
                .select_from(a.outerjoin(p, p.c.account_id == a.c.id))
                .where(a.c.kind == "personal").group_by(a.c.id, a.c.posted_fen, a.c.current_year_fen)).all()
            for account_id, posted, current_year, total, current_total in rows:
                assert (posted, current_year) == (total, current_total), account_id



def test_the_ledger_matches_its_model(ctx, admin):
    run_state_machine_as_test(
        lambda: LedgerMachine(ctx, admin),
        settings=settings(max_examples=20, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
