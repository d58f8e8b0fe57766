"""Where a card's PIN is checked: inside a settlement only at an institution of the card's region or of a region
a filing covers (elsewhere refused before the PIN is looked at: no guess counted, no lock); the standalone check
is the holder's, a terminal's or the counter's, never an institution's; an unlock needs the holder's ID number
checked at the counter, is audited and counted; institutions see no person_id on a card look-up."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.support import (
    API,
    PIN,
    SHANGHAI_HOSPITAL,
    add_shanghai_hospital,
    assert_problem,
    bearer,
    funded_world,
    row_counts,
)
from yibao.domain.clock import SHANGHAI
from yibao.services.crossregion import filings
from yibao.store.tables import audit_records, cards

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PHARMACY = "P11000000001"
WRONG = "135790"


@pytest.fixture
def world(ctx, admin):
    world = funded_world(ctx, admin, at=MORNING)
    add_shanghai_hospital(ctx, admin)
    return world


def pay(client, headers, world, pin: str, *, key: str, at: str = PHARMACY):
    return client.post(f"{API}/settlements", headers=headers, json={
        "idempotency_key": key, "institution_code": at,
        "credential": {"type": "card", "card_no": world.person.card_no, "pin": pin},
        "items": [{"category": "medical_service" if at == SHANGHAI_HOSPITAL else "drug", "amount_fen": 1_000}]})


def card_row(ctx, card_no: str):
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(cards).where(cards.c.card_no == card_no)).one()


def audited(ctx, card_no: str, action: str) -> list[dict]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(sa.select(audit_records.c.details).where(
            audit_records.c.entity == "card", audit_records.c.entity_id == card_no,
            audit_records.c.action == action).order_by(audit_records.c.id)).scalars())


def test_an_institution_of_another_region_guesses_pins_and_nothing_is_counted(ctx, client, world):
    far = bearer(client, "hospital-sh")
    before = row_counts(ctx)

    for n in range(8):  # more than the five tries that would lock the card
        assert_problem(pay(client, far, world, f"{n:06d}", key=f"guess-{n}", at=SHANGHAI_HOSPITAL), 422,
                       "card.region_not_covered")

    assert row_counts(ctx) == before  # no settlement, no audit of a wrong PIN, nothing
    card = card_row(ctx, world.person.card_no)
    assert (card.pin_failures, card.pin_locked) == (0, False)
    home = bearer(client, "institution-user")  # the legal path: the home pharmacy, the right PIN
    assert pay(client, home, world, PIN, key="home").status_code == 201
    assert assert_problem(pay(client, home, world, WRONG, key="home-wrong"), 422, "card.pin_wrong")["tries_left"] == 4


def test_with_a_filing_for_the_region_the_pin_is_checked_there_and_counts(ctx, admin, client, world):
    filings.file(ctx, actor=admin, person_id=world.person.id, type="temporary", reason="referral",
                 destination_region="310000")
    far = bearer(client, "hospital-sh")

    wrong = pay(client, far, world, WRONG, key="filed-wrong", at=SHANGHAI_HOSPITAL)

    assert assert_problem(wrong, 422, "card.pin_wrong")["tries_left"] == 4
    assert [d["failures"] for d in audited(ctx, world.person.card_no, "card.pin_wrong")] == [1]
    paid = pay(client, far, world, PIN, key="filed", at=SHANGHAI_HOSPITAL)
    assert paid.status_code == 201 and paid.json()["account_paid_fen"] == 1_000


def test_the_standalone_pin_check_is_not_open_to_institutions(ctx, client, world):
    url = f"{API}/cards/{world.person.card_no}/verify-pin"
    before = row_counts(ctx)
    for username in ("institution-user", "hospital-sh", "stranger", "unit-user", "auditor-user"):
        assert_problem(client.post(url, headers=bearer(client, username), json={"pin": WRONG}), 403,
                       "auth.forbidden")
    assert card_row(ctx, world.person.card_no).pin_failures == 0
    assert {k: v for k, v in row_counts(ctx).items() if k != "auth_tokens"} == {
        k: v for k, v in before.items() if k != "auth_tokens"}
    for username in ("employee", "terminal-user", "counter-user", "reviewer-user"):  # who keeps it
        r = client.post(url, headers=bearer(client, username), json={"pin": PIN})
        assert r.status_code == 200 and r.json()["status"] == "active", (username, r.text)


def lock(client, world) -> None:
    terminal = bearer(client, "terminal-user")
    for _ in range(5):
        client.post(f"{API}/cards/{world.person.card_no}/verify-pin", headers=terminal, json={"pin": WRONG})


def test_an_unlock_needs_the_holders_id_number_checked_at_the_counter(ctx, client, world):
    lock(client, world)
    url, desk = f"{API}/cards/{world.person.card_no}/unlock-pin", bearer(client, "counter-user")
    before = row_counts(ctx)

    assert_problem(client.post(url, headers=desk), 422, "request.invalid")
    r = client.post(url, headers=desk, json={"id_number": world.other.id_number})
    assert_problem(r, 422, "card.identity_mismatch")
    assert world.other.id_number not in r.text
    assert_problem(client.post(url, headers=bearer(client, "institution-user"),
                               json={"id_number": world.person.id_number}), 403, "auth.forbidden")

    assert {k: v for k, v in row_counts(ctx).items() if k != "auth_tokens"} == {
        k: v for k, v in before.items() if k != "auth_tokens"}
    assert card_row(ctx, world.person.card_no).pin_locked is True
    unlocked = client.post(url, headers=desk, json={"id_number": world.person.id_number.lower()})
    assert unlocked.status_code == 200 and unlocked.json()["pin_locked"] is False
    [details] = audited(ctx, world.person.card_no, "card.unlock_pin")
    assert details["holder_checked"] == "id_number" and details["unlock_number"] == 1


def test_more_unlocks_than_the_policy_allows_in_a_year_are_refused(ctx, client, world):
    url, desk = f"{API}/cards/{world.person.card_no}/unlock-pin", bearer(client, "counter-user")
    checked = {"id_number": world.person.id_number}
    for n in range(3):  # policies/000000-national/cards.yaml: three a year
        lock(client, world)
        assert client.post(url, headers=desk, json=checked).status_code == 200, n
    lock(client, world)

    refused = assert_problem(client.post(url, headers=desk, json=checked), 422, "card.unlock_limit_reached")

    assert (refused["unlocks"], refused["max_unlocks"], refused["period_days"]) == (3, 3, 365)
    assert card_row(ctx, world.person.card_no).pin_locked is True
    assert len(audited(ctx, world.person.card_no, "card.unlock_pin")) == 3
    ctx.clock.set(MORNING + dt.timedelta(days=366))  # a year on, the count starts again
    desk = bearer(client, "counter-user")
    again = client.post(url, headers=desk, json=checked)
    assert again.status_code == 200 and again.json()["pin_locked"] is False


def test_institutions_see_no_person_id_on_a_card_look_up(ctx, client, world):
    url = f"{API}/cards/{world.person.card_no}"
    seen = client.get(url, headers=bearer(client, "institution-user"))
    assert seen.status_code == 200 and seen.json()["person_id"] is None
    assert world.person.id not in seen.text and seen.json()["status"] == "active"
    for username in ("employee", "counter-user", "auditor-user"):
        assert client.get(url, headers=bearer(client, username)).json()["person_id"] == world.person.id
