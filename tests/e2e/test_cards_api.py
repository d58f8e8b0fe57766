"""The card lifecycle through HTTP: issue, activate, lose, replace, freeze, expire, PIN lockout, audit (R4, R7)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from tests.support import (
    API,
    PIN,
    add_person,
    assert_problem,
    bearer,
    build_world,
    new_id_number,
)
from yibao.store import tables

GOOD_PIN = "472951"




def card_trail(ctx, card_no: str) -> list[tuple[str, str | None, str | None]]:
    """(action, from_status, to_status) of the card's audit records, oldest first."""
    t = tables.audit_records
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.action, t.c.details)
                            .where(t.c.entity == "card", t.c.entity_id == card_no).order_by(t.c.id)).all()
    return [(a, d.get("from_status"), d.get("to_status")) for a, d in rows]


def card_row(ctx, card_no: str):
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(tables.cards).where(tables.cards.c.card_no == card_no)).one()


def issue(client, person_id: str, **extra) -> dict:
    r = client.post(f"{API}/cards", headers=bearer(client, "reviewer-user"), json={"person_id": person_id, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def setup(ctx, admin, client, birth: str = "19850312"):
    world = build_world(ctx, admin)
    holder = add_person(ctx, admin, name="杨帆", card=False, birth=birth)
    card = issue(client, holder.id)
    return world, holder, card["card_no"], bearer(client, holder.username)


def activate(client, card_no, owner, id_number, pin=GOOD_PIN):
    return client.post(f"{API}/cards/{card_no}/activate", headers=owner, json={"id_number": id_number, "pin": pin})


def verify(client, card_no, pin=GOOD_PIN):
    return client.post(f"{API}/cards/{card_no}/verify-pin", headers=bearer(client, "terminal-user"),
                       json={"pin": pin})


def test_issued_card_is_activated_by_its_holder(ctx, admin, client):
    _, holder, card_no, owner = setup(ctx, admin, client)
    shown = client.get(f"{API}/cards/{card_no}", headers=owner).json()
    assert shown["status"] == "issued" and shown["person_id"] == holder.id and shown["pin_locked"] is False
    assert_problem(verify(client, card_no), 409, "card.not_active")

    r = activate(client, card_no, owner, holder.id_number)

    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
    assert verify(client, card_no).status_code == 200
    assert card_row(ctx, card_no).pin_hash not in (None, GOOD_PIN)
    assert GOOD_PIN not in card_row(ctx, card_no).pin_hash
    assert card_trail(ctx, card_no) == [("card.issue", None, "issued"), ("card.activate", "issued", "active")]


def test_only_agency_staff_issue_cards(ctx, admin, client):
    world, holder, _, owner = setup(ctx, admin, client)
    before = len(client.get(f"{API}/persons/{holder.id}/cards", headers=owner).json())
    for user in (holder.username, "institution-user", "unit-user"):
        assert_problem(client.post(f"{API}/cards", headers=bearer(client, user), json={"person_id": holder.id}),
                       403, "auth.forbidden")
    assert_problem(client.post(f"{API}/cards", headers=bearer(client, "reviewer-user"),
                               json={"person_id": "psn_nobody"}), 404, "person.not_found")
    assert len(client.get(f"{API}/persons/{holder.id}/cards", headers=owner).json()) == before


def test_activation_with_someone_elses_id_number_is_refused(ctx, admin, client):
    world, holder, card_no, owner = setup(ctx, admin, client)

    for number in (world.other.id_number, new_id_number()):
        assert_problem(activate(client, card_no, owner, number), 422, "card.identity_mismatch")

    assert client.get(f"{API}/cards/{card_no}", headers=owner).json()["status"] == "issued"
    # another person cannot activate the card even with the holder's ID number
    assert_problem(activate(client, card_no, bearer(client, "stranger"), holder.id_number), 403, "auth.forbidden")
    assert card_trail(ctx, card_no) == [("card.issue", None, "issued")]


def test_trivial_pins_are_refused_and_the_card_stays_issued(ctx, admin, client):
    _, holder, card_no, owner = setup(ctx, admin, client, birth="19850312")

    for pin in ("123456", "000000", "850312", "654321", "999999"):
        problem = assert_problem(activate(client, card_no, owner, holder.id_number, pin), 422, "card.pin_trivial")
        assert "PIN" in problem["message_en"]
    for pin in ("12345", "12a456", "1234567", ""):
        assert_problem(activate(client, card_no, owner, holder.id_number, pin), 422, "card.pin_invalid")

    assert client.get(f"{API}/cards/{card_no}", headers=owner).json()["status"] == "issued"
    assert card_row(ctx, card_no).pin_hash is None
    assert card_trail(ctx, card_no) == [("card.issue", None, "issued")]


def test_lost_card_is_replaced_and_the_old_one_is_void_for_ever(ctx, admin, client):
    _, holder, card_no, owner = setup(ctx, admin, client)
    activate(client, card_no, owner, holder.id_number)
    reviewer = bearer(client, "reviewer-user")

    lost = client.post(f"{API}/cards/{card_no}/report-lost", headers=owner)
    assert lost.status_code == 200, lost.text
    assert lost.json()["status"] == "lost"
    problem = assert_problem(verify(client, card_no), 409, "card.lost")
    assert "挂失" in problem["message_zh"]

    r = client.post(f"{API}/cards/{card_no}/replace", headers=owner)

    assert r.status_code == 201, r.text
    new_no = r.json()["card_no"]
    assert new_no != card_no
    assert r.json()["status"] == "issued" and r.json()["person_id"] == holder.id
    old = client.get(f"{API}/cards/{card_no}", headers=owner).json()
    assert old["status"] == "replaced" and old["replaced_by"] == new_no

    assert_problem(activate(client, card_no, owner, holder.id_number), 409, "card.replaced")
    assert_problem(client.post(f"{API}/cards/{card_no}/unfreeze", headers=reviewer, json={"reason": "核查完毕"}),
                   409, "card.replaced")
    assert_problem(client.post(f"{API}/cards/{card_no}/replace", headers=owner), 409, "card.replaced")
    assert_problem(client.post(f"{API}/cards/{card_no}/replace", headers=reviewer), 409, "card.replaced")
    assert_problem(client.post(f"{API}/cards/{card_no}/report-lost", headers=owner), 409, "card.replaced")
    assert_problem(verify(client, card_no), 409, "card.replaced")
    assert client.get(f"{API}/cards/{card_no}", headers=owner).json()["status"] == "replaced"

    assert activate(client, new_no, owner, holder.id_number).json()["status"] == "active"
    assert verify(client, new_no).status_code == 200
    cards = client.get(f"{API}/persons/{holder.id}/cards", headers=owner).json()
    assert {c["card_no"]: c["status"] for c in cards} == {card_no: "replaced", new_no: "active"}

    assert card_trail(ctx, card_no) == [
        ("card.issue", None, "issued"),
        ("card.activate", "issued", "active"),
        ("card.report_lost", "active", "lost"),
        ("card.replace", "lost", "replaced"),
    ]
    assert card_trail(ctx, new_no) == [("card.issue", None, "issued"), ("card.activate", "issued", "active")]


def test_freeze_needs_a_reason_and_a_frozen_card_cannot_be_used(ctx, admin, client):
    _, holder, card_no, owner = setup(ctx, admin, client)
    activate(client, card_no, owner, holder.id_number)
    reviewer = bearer(client, "reviewer-user")

    for body in ({"reason": ""}, {"reason": "   "}, {}):
        assert_problem(client.post(f"{API}/cards/{card_no}/freeze", headers=reviewer, json=body),
                       422, "card.freeze_reason_missing")
    for reason in ("冻" * 201, "疑似\x00冒用"):
        assert_problem(client.post(f"{API}/cards/{card_no}/freeze", headers=reviewer, json={"reason": reason}),
                       422, "request.invalid")
    assert_problem(client.post(f"{API}/cards/{card_no}/freeze", headers=owner, json={"reason": "不想用了"}),
                   403, "auth.forbidden")
    assert client.get(f"{API}/cards/{card_no}", headers=owner).json()["status"] == "active"

    frozen = client.post(f"{API}/cards/{card_no}/freeze", headers=reviewer, json={"reason": "疑似冒用他人医保卡"})

    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "frozen"
    assert_problem(verify(client, card_no), 409, "account.frozen")  # the freeze is the account's
    assert_problem(client.post(f"{API}/cards/{card_no}/unfreeze", headers=owner, json={"reason": "我要用卡"}),
                   403, "auth.forbidden")
    assert_problem(client.post(f"{API}/cards/{card_no}/replace", headers=owner), 409, "account.frozen")
    assert_problem(client.post(f"{API}/cards/{card_no}/unfreeze", headers=reviewer), 422,
                   "card.unfreeze_reason_missing")

    thawed = client.post(f"{API}/cards/{card_no}/unfreeze", headers=reviewer, json={"reason": "核查完毕，系本人使用"})
    assert thawed.status_code == 200 and thawed.json()["status"] == "active"
    assert verify(client, card_no).status_code == 200
    assert_problem(client.post(f"{API}/cards/{card_no}/unfreeze", headers=reviewer, json={"reason": "再次解冻"}),
                   409, "card.wrong_state")

    t = tables.audit_records
    with ctx.engine.connect() as conn:
        details = conn.execute(sa.select(t.c.details).where(t.c.action == "card.freeze")).scalar_one()
    assert details["reason"] == "疑似冒用他人医保卡"
    assert card_trail(ctx, card_no)[-2:] == [("card.freeze", "active", "frozen"),
                                             ("card.unfreeze", "frozen", "active")]


def test_card_expires_when_the_clock_passes_its_date_and_can_be_replaced(ctx, admin, client):
    build_world(ctx, admin)
    holder = add_person(ctx, admin, name="马超", card=False)
    set_clock = client.post(f"{API}/admin/clock", headers=bearer(client, "admin-user"),
                            json={"now": "2026-03-01T09:00:00+08:00"})
    assert set_clock.status_code == 200 and set_clock.json()["today"] == "2026-03-01"
    card_no = issue(client, holder.id, expires_on="2026-03-31")["card_no"]
    owner = bearer(client, holder.username)
    activate(client, card_no, owner, holder.id_number)
    assert verify(client, card_no).status_code == 200

    def move_clock(now: str) -> None:
        r = client.post(f"{API}/admin/clock", headers=bearer(client, "admin-user"), json={"now": now})
        assert r.status_code == 200, r.text

    move_clock("2026-03-31T23:00:00+08:00")
    assert client.get(f"{API}/cards/{card_no}", headers=bearer(client, holder.username)).json()["status"] == "active"
    move_clock("2026-04-01T08:00:00+08:00")
    owner = bearer(client, holder.username)  # the earlier sign-in has timed out by now

    shown = client.get(f"{API}/cards/{card_no}", headers=owner).json()
    assert shown["status"] == "expired" and shown["expires_on"] == "2026-03-31"
    problem = assert_problem(verify(client, card_no), 409, "card.expired")
    assert "2026-03-31" in problem["message_zh"] and problem["expires_on"] == "2026-03-31"
    assert_problem(activate(client, card_no, owner, holder.id_number, "583920"), 409, "card.expired")

    r = client.post(f"{API}/cards/{card_no}/replace", headers=owner)

    assert r.status_code == 201, r.text
    new = r.json()
    assert new["status"] == "issued" and new["issued_on"] == "2026-04-01" and new["expires_on"] == "2036-04-01"
    assert client.get(f"{API}/cards/{card_no}", headers=owner).json()["status"] == "replaced"
    assert card_trail(ctx, card_no) == [
        ("card.issue", None, "issued"),
        ("card.activate", "issued", "active"),
        ("card.expire", "active", "expired"),
        ("card.replace", "expired", "replaced"),
    ]


def test_expiry_date_must_be_in_the_future(ctx, admin, client):
    build_world(ctx, admin)
    holder = add_person(ctx, admin, name="马超", card=False)
    yesterday = (ctx.today() - dt.timedelta(days=1)).isoformat()
    r = client.post(f"{API}/cards", headers=bearer(client, "reviewer-user"),
                    json={"person_id": holder.id, "expires_on": yesterday})
    assert_problem(r, 422, "request.invalid")
    assert client.get(f"{API}/persons/{holder.id}/cards", headers=bearer(client, holder.username)).json() == []


def test_five_wrong_pins_lock_the_card_until_the_agency_unlocks_it(ctx, admin, client):
    _, holder, card_no, owner = setup(ctx, admin, client)
    activate(client, card_no, owner, holder.id_number)

    tries = []
    for _ in range(4):
        problem = assert_problem(verify(client, card_no, "111222"), 422, "card.pin_wrong")
        tries.append(problem["tries_left"])
    assert tries == [4, 3, 2, 1]
    assert "1" in problem["message_zh"]

    assert_problem(verify(client, card_no, "111222"), 403, "card.pin_locked")
    assert_problem(verify(client, card_no, GOOD_PIN), 403, "card.pin_locked")
    assert client.get(f"{API}/cards/{card_no}", headers=owner).json()["pin_locked"] is True
    checked = {"json": {"id_number": holder.id_number}}
    assert_problem(client.post(f"{API}/cards/{card_no}/unlock-pin", headers=owner, **checked), 403, "auth.forbidden")
    assert_problem(client.post(f"{API}/cards/{card_no}/unlock-pin", headers=bearer(client, "institution-user"),
                               **checked), 403, "auth.forbidden")

    unlocked = client.post(f"{API}/cards/{card_no}/unlock-pin", headers=bearer(client, "reviewer-user"), **checked)

    assert unlocked.status_code == 200 and unlocked.json()["pin_locked"] is False
    ok = verify(client, card_no, GOOD_PIN)
    assert ok.status_code == 200 and ok.json()["status"] == "active"
    assert assert_problem(verify(client, card_no, "111222"), 422, "card.pin_wrong")["tries_left"] == 4

    t = tables.audit_records
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.action, t.c.details).where(t.c.entity_id == card_no,
                                                                     t.c.action.in_(["card.pin_wrong",
                                                                                     "card.unlock_pin"]))
                            .order_by(t.c.id)).all()
    assert [(a, d.get("failures"), d.get("locked")) for a, d in rows] == [
        ("card.pin_wrong", 1, False), ("card.pin_wrong", 2, False), ("card.pin_wrong", 3, False),
        ("card.pin_wrong", 4, False), ("card.pin_wrong", 5, True), ("card.unlock_pin", None, None),
        ("card.pin_wrong", 1, False),
    ]


def test_a_right_pin_resets_the_count_of_wrong_ones(ctx, admin, client):
    _, holder, card_no, owner = setup(ctx, admin, client)
    activate(client, card_no, owner, holder.id_number)
    for _ in range(3):
        verify(client, card_no, "111222")
    assert verify(client, card_no).status_code == 200
    assert assert_problem(verify(client, card_no, "111222"), 422, "card.pin_wrong")["tries_left"] == 4


def test_cards_are_private_to_their_holder_and_staff(ctx, admin, client):
    world = build_world(ctx, admin)
    card_no = world.person.card_no
    assert_problem(client.get(f"{API}/cards/{card_no}", headers=bearer(client, "stranger")), 403, "auth.forbidden")
    assert_problem(client.post(f"{API}/cards/{card_no}/report-lost", headers=bearer(client, "stranger")),
                   403, "auth.forbidden")
    assert_problem(client.get(f"{API}/cards/0000000000", headers=bearer(client, "reviewer-user")),
                   404, "card.not_found")
    assert_problem(client.post(f"{API}/cards/0000000000/verify-pin", headers=bearer(client, "counter-user"),
                               json={"pin": PIN}), 404, "card.not_found")
    assert client.get(f"{API}/cards/{card_no}", headers=bearer(client, "employee")).json()["status"] == "active"
