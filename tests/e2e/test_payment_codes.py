"""Payment codes (付款码): the e-voucher pays only with a one-minute, one-use code its app asks for; the long-lived
token itself pays nothing. A code is used once, inside the payment that uses it: a refused payment leaves it
usable, a retry with the same key gets the first answer, a second payment with it is refused."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.integration.test_ledger_concurrency import all_at_once
from tests.support import (
    API,
    SHANGHAI_HOSPITAL,
    add_shanghai_hospital,
    assert_problem,
    bearer,
    funded_world,
    pay_code,
    row_counts,
)
from yibao.bootstrap import bootstrap
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import evouchers
from yibao.services.settlement import payments as service
from yibao.store.tables import audit_records, payment_codes, settlements

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PHARMACY = "P11000000001"


@pytest.fixture
def world(ctx, admin):
    world = funded_world(ctx, admin, at=MORNING)  # ¥2,000 in the account
    _, world.token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                                   id_number=world.person.id_number, name=world.person.name,
                                                   channel="app")
    return world


def pay(client, credential: dict, *, key: str, amount: int = 1_000, at: str = PHARMACY,
        username: str = "institution-user"):
    return client.post(f"{API}/settlements", headers=till(client, username), json={
        "idempotency_key": key, "institution_code": at, "credential": credential,
        "items": [{"category": "drug", "amount_fen": amount}]})


def till(client, username: str = "institution-user") -> dict:
    """The cashier's session, signed in once per test (a sign-in writes rows of its own)."""
    if (client, username) not in till.signed_in:
        till.signed_in[(client, username)] = bearer(client, username)
    return till.signed_in[(client, username)]


till.signed_in = {}


def settled(ctx) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(settlements)).scalar_one()


def test_a_code_lasts_sixty_seconds_is_kept_as_a_digest_and_its_issue_is_audited(ctx, client, world):
    r = client.post(f"{API}/evouchers/codes", json={"token": world.token})

    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert re.fullmatch(r"\d{20}", code)
    left = dt.datetime.fromisoformat(r.json()["expires_at"]) - MORNING
    assert dt.timedelta(seconds=60) <= left < dt.timedelta(seconds=65)  # sixty seconds from the server's clock
    with ctx.engine.connect() as conn:
        [stored] = conn.execute(sa.select(payment_codes)).all()
        audited = conn.execute(sa.select(audit_records.c.action, audit_records.c.entity).where(
            audit_records.c.action == "evoucher.payment_code")).all()
    assert re.fullmatch(r"[0-9a-f]{64}", stored.code_digest) and code not in str(tuple(stored))
    assert stored.person_id == world.person.id and stored.used_at is None
    assert audited == [("evoucher.payment_code", "evoucher")]
    assert client.post(f"{API}/evouchers/codes", json={"token": world.token}).json()["code"] != code


def test_a_code_pays_once_and_a_retry_gets_the_first_answer_not_code_used(ctx, client, world):
    shown = pay_code(client, world.token)
    first = pay(client, shown, key="till-1")
    assert first.status_code == 201, first.text
    assert first.json()["credential_type"] == "evoucher" and first.json()["account_paid_fen"] == 1_000

    retry = pay(client, shown, key="till-1")  # the till lost the answer and sends the same request again

    assert retry.status_code == 201 and retry.json() == first.json()
    before = row_counts(ctx)
    assert_problem(pay(client, shown, key="till-2"), 409, "payment_code.used")
    assert_problem(pay(client, shown, key="till-3", amount=2_000), 409, "payment_code.used")
    assert row_counts(ctx) == before
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(payment_codes.c.used_for)).scalar_one() == first.json()["settlement_id"]
    assert pay(client, pay_code(client, world.token), key="till-4").status_code == 201  # a new code pays


def test_the_token_a_pharmacy_saw_once_charges_nothing_days_later(ctx, client, world):
    assert pay(client, pay_code(client, world.token), key="today").status_code == 201
    ctx.clock.set(MORNING + dt.timedelta(days=3))
    till.signed_in.clear()
    till(client)  # the cashier's session of three days later
    before = row_counts(ctx)

    r = pay(client, {"type": "evoucher", "token": world.token}, key="a-new-key")

    problem = assert_problem(r, 422, "credential.token_not_accepted")
    assert world.token not in r.text and "payment code" in problem["message_en"]
    assert row_counts(ctx) == before
    assert pay(client, pay_code(client, world.token), key="with-the-person").status_code == 201  # the legal path


def test_an_expired_code_is_refused_and_a_fresh_one_pays(ctx, client, world):
    till(client)
    ctx.clock.set(MORNING)
    shown = pay_code(client, world.token)
    ctx.clock.set(MORNING + dt.timedelta(seconds=61))
    before = row_counts(ctx)

    assert_problem(pay(client, shown, key="late"), 422, "payment_code.expired")

    assert row_counts(ctx) == before
    assert pay(client, pay_code(client, world.token), key="fresh").status_code == 201
    ctx.clock.set(MORNING + dt.timedelta(seconds=100))
    later = pay_code(client, world.token)
    ctx.clock.set(MORNING + dt.timedelta(seconds=100 + 58))
    assert pay(client, later, key="within-the-minute").status_code == 201


def test_a_frozen_account_gets_no_code_and_a_code_shown_before_the_freeze_pays_nothing(ctx, client, world):
    shown, _ = pay_code(client, world.token), till(client)
    desk = bearer(client, "counter-user")
    assert client.post(f"{API}/persons/{world.person.id}/freeze", headers=desk,
                       json={"reason": "核查"}).status_code == 201
    before = row_counts(ctx)

    assert_problem(client.post(f"{API}/evouchers/codes", json={"token": world.token}), 409, "account.frozen")
    assert_problem(pay(client, shown, key="frozen"), 409, "account.frozen")

    assert row_counts(ctx) == before
    assert client.post(f"{API}/persons/{world.person.id}/unfreeze", headers=desk,
                       json={"reason": "已核实"}).status_code == 200
    assert pay(client, shown, key="lifted").status_code == 201  # unused and still valid: it pays once lifted


def test_a_refused_payment_leaves_the_code_usable(ctx, admin, client, world):
    add_shanghai_hospital(ctx, admin)
    shown = pay_code(client, world.token)

    assert_problem(pay(client, shown, key="sh", at=SHANGHAI_HOSPITAL, username="hospital-sh"), 422,
                   "filing.required")

    assert pay(client, shown, key="home").status_code == 201


def test_unknown_codes_and_tokens_are_refused_without_echo(ctx, client, world):
    till(client)
    before = row_counts(ctx)
    r = pay(client, {"type": "evoucher_code", "code": "12345678901234567890"}, key="guess")
    assert_problem(r, 422, "payment_code.invalid")
    assert "12345678901234567890" not in r.text
    assert_problem(client.post(f"{API}/evouchers/codes", json={"token": "x" * 43}), 401, "evoucher.invalid")
    assert_problem(client.post(f"{API}/evouchers/codes", json={}), 422, "request.invalid")
    assert row_counts(ctx) == before


def test_a_revoked_e_voucher_gets_no_code_and_its_shown_code_pays_nothing(ctx, admin, client, world):
    shown = pay_code(client, world.token)
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,  # the old one revoked
                                             id_number=world.person.id_number, name=world.person.name,
                                             channel="app")
    assert_problem(client.post(f"{API}/evouchers/codes", json={"token": world.token}), 401, "evoucher.invalid")
    assert_problem(pay(client, shown, key="old"), 401, "evoucher.invalid")
    assert pay(client, pay_code(client, token), key="new").status_code == 201


def test_asking_for_codes_is_throttled_per_e_voucher(ctx, client, world):
    for _ in range(ctx.settings.payment_codes_per_evoucher):
        assert client.post(f"{API}/evouchers/codes", json={"token": world.token}).status_code == 201

    r = client.post(f"{API}/evouchers/codes", json={"token": world.token})

    problem = assert_problem(r, 429, "payment_code.too_many")
    assert problem["retry_after_seconds"] >= 1 and int(r.headers["Retry-After"]) >= 1


@pytest.mark.postgresql_only
def test_two_tills_scanning_one_code_at_once_charge_it_once(ctx, admin, settings, world):
    from tests.support import code_credential

    shown = code_credential(ctx, world.token)
    contexts = [bootstrap(settings) for _ in range(8)]
    for c in contexts:
        c.clock.set(MORNING)

    def till(i):
        return service.settle(contexts[i], actor=admin, idempotency_key=f"till-{i}", institution_code=PHARMACY,
                              credential=shown, items=[{"category": "drug", "amount_fen": 1_000}])

    try:
        outcomes = all_at_once(8, till)
    finally:
        for c in contexts:
            c.engine.dispose()
    paid = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert len(paid) == 1 and settled(ctx) == 1
    assert all(isinstance(o, errors.PaymentCodeUsed | errors.ConcurrentChange) for o in refused), refused
