"""Account freezes (账户冻结): an agency freeze stops every card, old and new, and every e-voucher of the person
until the agency lifts it; the holder cannot report, replace or activate their way out. Freezing and lifting
need a reason, are agency staff's only, and are audited."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import API, PIN, assert_problem, bearer, build_world, count, fund, pay_code, rows
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import evouchers
from yibao.store.tables import account_freezes, audit_records, cards, idempotency_keys, ledger_postings, settlements

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PHARMACY = "P11000000001"
NEW_PIN = "472951"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    fund(ctx, admin, world.person.id, months=4, employer_id=world.employer_id)
    ctx.clock.set(MORNING)
    _, world.token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                                   id_number=world.person.id_number, name=world.person.name,
                                                   channel="app")
    return world


def pay(client, credential: dict):
    pay.n += 1
    return client.post(f"{API}/settlements", headers=bearer(client, "institution-user"), json={
        "idempotency_key": f"freeze-{pay.n}", "institution_code": PHARMACY, "credential": credential,
        "items": [{"category": "drug", "amount_fen": 1_000}]})


pay.n = 0


def written(ctx) -> tuple[int, int, int]:
    return count(ctx, settlements), count(ctx, ledger_postings), count(ctx, idempotency_keys)


def test_the_holder_of_a_frozen_card_cannot_lose_replace_or_activate_their_way_out(ctx, admin, client, world):
    card_no, owner = world.person.card_no, bearer(client, "employee")
    early_code = pay_code(client, world.token)  # shown on the app before the freeze
    frozen = client.post(f"{API}/cards/{card_no}/freeze", headers=bearer(client, "counter-user"),
                         json={"reason": "疑似冒用他人医保卡"})
    assert frozen.status_code == 200 and frozen.json()["status"] == "frozen"
    before = written(ctx)

    lost = client.post(f"{API}/cards/{card_no}/report-lost", headers=owner)  # reporting it lost is still possible
    assert lost.status_code == 200 and lost.json()["status"] == "lost"
    assert_problem(client.post(f"{API}/cards/{card_no}/replace", headers=owner), 409, "account.frozen")
    spare = client.post(f"{API}/cards", headers=bearer(client, "counter-user"), json={"person_id": world.person.id})
    assert spare.status_code == 201  # a card may be made; it is not activated while the freeze holds
    activated = client.post(f"{API}/cards/{spare.json()['card_no']}/activate", headers=owner,
                            json={"id_number": world.person.id_number, "pin": NEW_PIN})
    assert_problem(activated, 409, "account.frozen")
    assert_problem(client.post(f"{API}/evouchers", headers=owner, json={
        "person_id": world.person.id, "id_number": world.person.id_number, "name": world.person.name,
        "channel": "miniprogram"}), 409, "account.frozen")
    assert_problem(client.post(f"{API}/evouchers/codes", json={"token": world.token}), 409, "account.frozen")
    for credential in ({"type": "card", "card_no": card_no, "pin": PIN}, early_code):
        problem = assert_problem(pay(client, credential), 409, "account.frozen")
        assert "冻结" in problem["message_zh"] and "疑似" not in problem["message_zh"]  # the reason is staff's
    assert written(ctx) == before
    assert_problem(client.post(f"{API}/persons/{world.person.id}/unfreeze", headers=owner,
                               json={"reason": "我已挂失"}), 403, "auth.forbidden")
    assert count(ctx, account_freezes) == 1


def test_the_agency_lifts_its_freeze_with_a_reason_and_the_person_pays_again(ctx, admin, client, world):
    card_no, owner, desk = world.person.card_no, bearer(client, "employee"), bearer(client, "counter-user")
    early_code = pay_code(client, world.token)  # shown on the app before the freeze
    assert client.post(f"{API}/cards/{card_no}/freeze", headers=desk, json={"reason": "核查"}).status_code == 200
    assert_problem(client.post(f"{API}/cards/{card_no}/unfreeze", headers=desk), 422, "card.unfreeze_reason_missing")
    assert_problem(client.post(f"{API}/cards/{card_no}/unfreeze", headers=desk, json={"reason": "  "}), 422,
                   "card.unfreeze_reason_missing")

    lifted = client.post(f"{API}/cards/{card_no}/unfreeze", headers=desk, json={"reason": "核查完毕，系本人就医"})

    assert lifted.status_code == 200 and lifted.json()["status"] == "active"
    assert pay(client, {"type": "card", "card_no": card_no, "pin": PIN}).status_code == 201
    assert pay(client, early_code).status_code == 201  # the code shown before the freeze, unused and valid
    assert pay(client, pay_code(client, world.token)).status_code == 201
    # a lost card is replaced as usual once the freeze is lifted
    client.post(f"{API}/cards/{card_no}/report-lost", headers=owner)
    new_no = client.post(f"{API}/cards/{card_no}/replace", headers=owner).json()["card_no"]
    client.post(f"{API}/cards/{new_no}/activate", headers=owner, json={"id_number": world.person.id_number,
                                                                        "pin": NEW_PIN})
    assert pay(client, {"type": "card", "card_no": new_no, "pin": NEW_PIN}).status_code == 201

    history = client.get(f"{API}/persons/{world.person.id}/freezes", headers=bearer(client, "auditor-user")).json()
    assert [(f["reason"], f["lift_reason"], f["in_force"], f["card_no"]) for f in history] == [
        ("核查", "核查完毕，系本人就医", False, card_no)]
    trail = [(r.action, r.actor, r.details.get("reason")) for r in rows(ctx, audit_records)
             if r.action in ("account.freeze", "account.unfreeze")]
    assert trail == [("account.freeze", "counter-user", "核查"),
                     ("account.unfreeze", "counter-user", "核查完毕，系本人就医")]


def test_a_freeze_of_the_person_stops_every_card_and_only_staff_may_place_or_lift_it(ctx, admin, client, world):
    person_id, desk = world.person.id, bearer(client, "reviewer-user")
    for username in ("employee", "institution-user", "unit-user", "auditor-user"):
        assert_problem(client.post(f"{API}/persons/{person_id}/freeze", headers=bearer(client, username),
                                   json={"reason": "核查"}), 403, "auth.forbidden")
    assert_problem(client.post(f"{API}/persons/{person_id}/freeze", headers=desk, json={}), 422,
                   "card.freeze_reason_missing")
    assert count(ctx, account_freezes) == 0

    r = client.post(f"{API}/persons/{person_id}/freeze", headers=desk, json={"reason": "疑似套现"})

    assert r.status_code == 201, r.text
    assert r.json()["in_force"] is True and r.json()["frozen_by"] == "reviewer-user"
    with ctx.engine.connect() as conn:
        assert conn.execute(cards.select().where(cards.c.card_no == world.person.card_no)).one().status == "frozen"
    assert_problem(client.post(f"{API}/persons/{person_id}/freeze", headers=desk, json={"reason": "再冻结"}), 409,
                   "account.already_frozen")
    assert_problem(client.post(f"{API}/cards/{world.person.card_no}/freeze", headers=desk, json={"reason": "再冻结"}),
                   409, "account.already_frozen")
    assert_problem(client.post(f"{API}/evouchers/codes", json={"token": world.token}), 409, "account.frozen")
    assert count(ctx, account_freezes) == 1
    assert client.post(f"{API}/persons/{person_id}/unfreeze", headers=desk,
                       json={"reason": "已核实"}).json()["in_force"] is False
    assert_problem(client.post(f"{API}/persons/{person_id}/unfreeze", headers=desk, json={"reason": "再解冻"}), 409,
                   "account.not_frozen")
    assert pay(client, {"type": "card", "card_no": world.person.card_no, "pin": PIN}).status_code == 201
