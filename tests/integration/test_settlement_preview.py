"""A settlement's preview: the same decision the settlement then makes, with nothing written, the payment code
left usable and the card's PIN checked as at a payment."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import PIN, code_credential, funded_world, row_counts
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor, Role
from yibao.services.credentials import cards, evouchers
from yibao.services.settlement import payments

MARCH = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
COMPARED = ("total_fen", "account_paid_fen", "cash_fen", "balance_after_fen", "items", "decision",
            "payer_id", "account_owner_id", "credential_type")


@pytest.fixture
def world(ctx, admin):
    return funded_world(ctx, admin, at=MARCH)


@pytest.fixture
def cashier(world) -> Actor:
    return Actor(username="institution-user", role=Role.INSTITUTION, institution_code=world.institution_code)


def card(world, pin: str = PIN) -> dict:
    return {"type": "card", "card_no": world.person.card_no, "pin": pin}


def drugs(*amounts: int) -> list[dict]:
    return [{"category": "drug", "amount_fen": a} for a in amounts]


def test_a_preview_is_the_decision_the_settlement_makes_and_writes_nothing(ctx, world, cashier):
    payments.settle(ctx, actor=cashier, idempotency_key="first", institution_code=world.institution_code,
                    credential=card(world), items=drugs(30_000))
    before = row_counts(ctx)
    shown = payments.preview(ctx, actor=cashier, institution_code=world.institution_code, credential=card(world),
                             items=drugs(25_000, 15_000))
    assert row_counts(ctx) == before
    assert shown["account_paid_fen"] == 20_000  # ¥500 a day at one institution, ¥300 of it used
    assert shown["cash_fen"] == 20_000
    assert shown["decision"]["limited_by"] == ["limit.institution_daily"]
    assert shown["decision"]["rules"]
    paid = payments.settle(ctx, actor=cashier, idempotency_key="second", institution_code=world.institution_code,
                           credential=card(world), items=drugs(25_000, 15_000))
    assert {k: shown[k] for k in COMPARED} == {k: paid[k] for k in COMPARED}


def test_a_preview_by_payment_code_leaves_the_code_for_the_payment(ctx, admin, world, cashier):
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                           id_number=world.person.id_number, name=world.person.name, channel="app")
    credential = code_credential(ctx, token)
    before = row_counts(ctx)
    shown = payments.preview(ctx, actor=cashier, institution_code=world.institution_code, credential=credential,
                             items=drugs(12_345))
    assert row_counts(ctx) == before
    paid = payments.settle(ctx, actor=cashier, idempotency_key="code", institution_code=world.institution_code,
                           credential=credential, items=drugs(12_345))
    assert {k: shown[k] for k in COMPARED} == {k: paid[k] for k in COMPARED}
    with pytest.raises(errors.DomainError):  # used now: a preview shows nothing for it
        payments.preview(ctx, actor=cashier, institution_code=world.institution_code, credential=credential,
                         items=drugs(100))


def test_a_wrong_pin_in_a_preview_counts_and_a_right_one_clears_nothing(ctx, admin, world, cashier):
    with pytest.raises(errors.PinWrong):
        payments.preview(ctx, actor=cashier, institution_code=world.institution_code,
                         credential=card(world, "000000"), items=drugs(100))
    payments.preview(ctx, actor=cashier, institution_code=world.institution_code, credential=card(world),
                     items=drugs(100))
    assert cards.get_card(ctx, actor=admin, card_no=world.person.card_no).pin_failures == 1


def test_another_institution_may_not_preview_here(ctx, world):
    elsewhere = Actor(username="elsewhere", role=Role.INSTITUTION, institution_code="H31000000001")
    with pytest.raises(errors.AccessForbidden):
        payments.preview(ctx, actor=elsewhere, institution_code=world.institution_code, credential=card(world),
                         items=drugs(100))
