"""`yibao jobs run-due` (the periodic jobs): a cash voucher past its validity lapses by itself, its amount is
released and the person is told; holds past their time are released; cards past their expiry date are recorded
expired; and a second run does nothing more. The command prints a summary and exits 0."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.e2e.test_application_stories import NOW, balance, insured
from tests.e2e.test_cash_voucher_identity import HOSPITAL, cash_claim, redeem, snapshot
from tests.support import API, PIN, add_person, assert_problem, bearer, yibao
from yibao.domain.users import Actor
from yibao.jobs import due
from yibao.ledger import accounts as acct
from yibao.services.accounts.books import Books
from yibao.services.credentials import auth, cards
from yibao.services.registry import institutions
from yibao.store.tables import cards as card_rows
from yibao.store.tables import cash_vouchers, holds

SCHEDULER = Actor.system("scheduler")


@pytest.fixture
def desk(ctx, admin, client):
    ctx.clock.set(NOW)
    auth.add_user(ctx, actor=admin, username="reviewer-1", password="correct-horse-9", role="reviewer")
    institutions.add_institution(ctx, actor=admin, code=HOSPITAL, name="大连市中心医院", kind="hospital",
                                 region="210200", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))
    auth.add_user(ctx, actor=admin, username="hospital-1", password="correct-horse-9", role="institution",
                  institution_code=HOSPITAL)
    return {"reviewer": bearer(client, "reviewer-1")}


def hold_for_a_payment(ctx, person_id: str, minutes: int) -> str:
    """An amount held for a payment about to be made, released if left open past its time."""
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        hold = books.reserve(acct.personal(person_id), acct.bank_clearing("110000"), 1_000,
                             expires_at=ctx.now() + dt.timedelta(minutes=minutes), purpose="payment at a counter")
        books.flush()
        uow.commit()
        return hold.id


def hold_status(ctx, hold_id: str) -> str:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(holds.c.status).where(holds.c.id == hold_id)).scalar()


def test_the_steps_are_named_and_in_order():
    assert [step.name for step in due.STEPS] == ["cash_vouchers", "holds", "cards", "year_end", "checkpoint"]


def test_an_old_voucher_lapses_tells_the_person_releases_its_hold_and_a_second_run_does_nothing(
        ctx, admin, client, desk):
    person, me, code = cash_claim(ctx, admin, client, desk, name="吴越", number="FP-5001")
    with ctx.engine.connect() as conn:
        voucher_hold = conn.execute(sa.select(cash_vouchers.c.hold_id).where(
            cash_vouchers.c.person_id == person.id)).scalar()
    payer = insured(ctx, admin, region="110000", name="周敏")
    open_hold = hold_for_a_payment(ctx, payer.id, minutes=60)  # a payment at a counter, never finished
    short_card = add_person(ctx, admin, name="孙丽")  # a card that ends within the month
    old_card = cards.issue_card(ctx, actor=admin, person_id=short_card.id, expires_on=NOW.date() + dt.timedelta(days=20))
    held = balance(client, me, person.id)
    assert held["balance_fen"] - held["available_fen"] == 15_000

    assert due.run_due(ctx, actor=SCHEDULER)[:3] == [("cash_vouchers", {"expired": 0}), ("holds", {"released": 0}),
                                                     ("cards", {"expired": 0})]  # nothing is due yet
    ctx.clock.set(NOW + dt.timedelta(days=ctx.settings.cash_voucher_days, minutes=1))
    desk["reviewer"] = bearer(client, "reviewer-1")
    fresh, _, fresh_code = cash_claim(ctx, admin, client, desk, name="钱多", number="FP-5002")  # issued today
    done = dict(due.run_due(ctx, actor=SCHEDULER))
    assert done["cash_vouchers"] == {"expired": 1} and done["cards"] == {"expired": 1}
    assert done["holds"] == {"released": 1}  # the payment hold left open

    me = bearer(client, person.username)  # sessions end long before a voucher does
    [listed] = client.get(f"{API}/persons/{person.id}/applications", headers=me).json()
    app = client.get(f"{API}/applications/{listed['application_id']}", headers=me).json()
    assert app["status"] == "failed" and "过期" in app["history"][-1]["note"]
    inbox = client.get(f"{API}/persons/{person.id}/notices", headers=me).json()
    assert inbox[0]["title_zh"] == "取现凭证已过期" and "已退回个人账户" in inbox[0]["body_zh"]
    assert hold_status(ctx, voucher_hold) in ("voided", "expired") and hold_status(ctx, open_hold) == "expired"
    freed = balance(client, me, person.id)
    assert freed["available_fen"] == freed["balance_fen"] == held["balance_fen"]
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(card_rows.c.status).where(
            card_rows.c.card_no == old_card.card_no)).scalar() == "expired"
    staff = bearer(client, "hospital-1")
    assert client.get(f"{API}/cash-vouchers/{fresh_code}", headers=staff).json()["status"] == "issued"

    before = snapshot(ctx)
    again = due.run_due(ctx, actor=SCHEDULER)
    assert all(n == 0 for _, summary in again for n in summary.values()), again
    assert snapshot(ctx) == before  # the second run does nothing more
    assert_problem(redeem(client, staff, code, {"credential": {"type": "card", "card_no": person.card_no,
                                                               "pin": PIN}}), 422, "cash_voucher.expired")
    paid = redeem(client, staff, fresh_code, {"credential": {"type": "card", "card_no": fresh.card_no, "pin": PIN}})
    assert paid.status_code == 200, paid.text  # the job left the valid voucher alone


def test_yibao_jobs_run_due_prints_its_summary_and_exits_0(ctx, admin, client, desk, env):
    person, me, code = cash_claim(ctx, admin, client, desk, name="冯静", number="FP-6001")
    with ctx.engine.connect() as conn:
        valid_until = conn.execute(sa.select(cash_vouchers.c.valid_until)).scalar()
    # the command runs on the wall clock: the story's day lies far enough back for the voucher to have lapsed
    assert dt.datetime.now(dt.UTC) > valid_until
    env = {**env, "YIBAO_CHECKPOINT_KEY": "a-key-the-database-never-sees"}
    first = yibao(env, "jobs", "run-due")
    assert first.returncode == 0, first.stderr
    assert "cash_vouchers: expired 1" in first.stdout and "holds: released" in first.stdout
    assert "cards: expired 0" in first.stdout and "run-due: 5 steps" in first.stdout
    assert "checkpoint: signed 1, line 1" in first.stdout  # the heads after the lapse, signed outside the database
    before = snapshot(ctx)
    second = yibao(env, "jobs", "run-due")
    assert second.returncode == 0, second.stderr
    assert "cash_vouchers: expired 0" in second.stdout and "0 changes" in second.stdout
    assert "checkpoint: signed 0" in second.stdout  # one an hour, not one a run
    assert snapshot(ctx) == before
    assert yibao(env, "audit", "verify").returncode == 0
