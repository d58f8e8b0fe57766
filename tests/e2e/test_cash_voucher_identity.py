"""Cash vouchers pay their holder only (R22): an empty body or another person's card, e-voucher or ID number pays
nothing and changes nothing; a wrong PIN counts towards the lock; the holder pays with card and PIN or the
e-voucher, or counter staff check the ID card and type its number. The counter looks a voucher up first and
sees the holder masked. A booking used by a redemption can no longer be cancelled."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.e2e.test_application_stories import NOW, apply, balance, documents, insured
from tests.support import API, CLAIM_DOCS, PIN, add_person, assert_problem, bearer, pay_code
from tests.support import row_counts as snapshot
from yibao.services.credentials import auth, cards, evouchers
from yibao.services.registry import institutions
from yibao.store.tables import appointments
from yibao.store.tables import cards as card_rows

HOSPITAL = "H21020000001"
OTHER = "H21020000002"


@pytest.fixture
def desk(ctx, admin, client):
    ctx.clock.set(NOW)
    auth.add_user(ctx, actor=admin, username="reviewer-1", password="correct-horse-9", role="reviewer")
    auth.add_user(ctx, actor=admin, username="clerk-1", password="correct-horse-9", role="counter")
    for code, name in ((HOSPITAL, "大连市中心医院"), (OTHER, "大连市第二医院")):
        institutions.add_institution(ctx, actor=admin, code=code, name=name, kind="hospital", region="210200",
                                     designated=True, cross_region=True, designated_from=dt.date(2024, 1, 1))
        auth.add_user(ctx, actor=admin, username=f"user-{code}", password="correct-horse-9", role="institution",
                      institution_code=code)
    return {"reviewer": bearer(client, "reviewer-1"), "clerk": bearer(client, "clerk-1"),
            "hospital": bearer(client, f"user-{HOSPITAL}"), "other": bearer(client, f"user-{OTHER}")}


def cash_claim(ctx, admin, client, desk, *, name: str, number: str):
    """A Beijing person (with a card) whose cross-region claim was approved for cash at the hospital."""
    person = insured(ctx, admin, region="110000", name=name)
    card = cards.issue_card(ctx, actor=admin, person_id=person.id)
    cards.activate(ctx, actor=admin, card_no=card.card_no, id_number=person.id_number, pin=PIN)
    person.card_no = card.card_no
    me = bearer(client, person.username)
    invoice = {"number": number, "issuer": HOSPITAL, "date": "2026-02-20",
               "items": [{"category": "drug", "amount_fen": 15_000}]}
    r = apply(client, me, person.id, kind="reimbursement", reason="cross_region", invoices=[invoice],
              document_ids=documents(client, me, person.id, *CLAIM_DOCS), payout="cash_voucher",
              institution_code=HOSPITAL)
    assert r.status_code == 201, r.text
    approved = client.post(f"{API}/applications/{r.json()['application_id']}/review", headers=desk["reviewer"],
                           json={"action": "approve", "note": "发票齐全"})
    assert approved.status_code == 200, approved.text
    return person, me, approved.json()["cash_voucher"]["code"]


def redeem(client, headers, code: str, body=None):
    return client.post(f"{API}/cash-vouchers/{code}/redeem", headers=headers, json=body)


def card_of(person, pin: str = PIN) -> dict:
    return {"credential": {"type": "card", "card_no": person.card_no, "pin": pin}}


def test_an_empty_body_or_another_persons_credential_pays_nothing(ctx, admin, client, desk):
    person, me, code = cash_claim(ctx, admin, client, desk, name="陈晨", number="FP-1001")
    stranger = add_person(ctx, admin, name="刘洋")  # with a card and its PIN, and an e-voucher
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=stranger.id, id_number=stranger.id_number,
                                             name=stranger.name, channel="app")
    stranger_code = pay_code(client, token)
    held = balance(client, me, person.id)
    before = snapshot(ctx)
    assert_problem(redeem(client, desk["hospital"], code), 422, "cash_voucher.identity_required")
    assert_problem(redeem(client, desk["hospital"], code, {}), 422, "cash_voucher.identity_required")
    assert_problem(redeem(client, desk["hospital"], code, card_of(stranger)), 403, "cash_voucher.holder_mismatch")
    assert_problem(redeem(client, desk["hospital"], code, {"id_number": person.id_number}), 422,
                   "cash_voucher.identity_required")  # an institution does not check ID cards
    r = redeem(client, desk["clerk"], code, {"id_number": stranger.id_number})
    problem = assert_problem(r, 403, "cash_voucher.holder_mismatch")
    assert stranger.id_number not in r.text and person.id_number not in r.text
    assert_problem(redeem(client, desk["hospital"], code, {"credential": stranger_code}),
                   403, "cash_voucher.holder_mismatch")
    assert_problem(redeem(client, desk["hospital"], code, {"credential": {"type": "evoucher", "token": token}}),
                   422, "credential.token_not_accepted")
    assert_problem(redeem(client, desk["hospital"], code, {"credential": {"type": "evoucher_code", "code": "1" * 20}}),
                   422, "payment_code.invalid")
    assert "ID" in problem["message_en"] or "credential" in problem["message_en"]
    assert snapshot(ctx) == before  # nothing paid, nothing changed

    wrong = redeem(client, desk["hospital"], code, card_of(person, pin="000000"))
    assert_problem(wrong, 422, "card.pin_wrong")  # counts towards the lock, pays nothing
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(card_rows.c.pin_failures).where(
            card_rows.c.card_no == person.card_no)).scalar() == 1
    assert balance(client, me, person.id) == held
    assert client.get(f"{API}/cash-vouchers/{code}", headers=desk["hospital"]).json()["status"] == "issued"

    paid = redeem(client, desk["hospital"], code, card_of(person))  # the holder, card and PIN
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["amount_fen"]) == ("paid", 15_000)
    assert balance(client, me, person.id)["balance_fen"] == held["balance_fen"] - 15_000


def test_the_counter_looks_a_voucher_up_masked_then_pays_on_the_id_card(ctx, admin, client, desk):
    person, me, code = cash_claim(ctx, admin, client, desk, name="陈晓明", number="FP-2001")
    r = client.get(f"{API}/cash-vouchers/{code}", headers=desk["clerk"])
    assert r.status_code == 200, r.text
    seen = r.json()
    assert (seen["holder_name"], seen["amount_fen"], seen["status"]) == ("陈**", 15_000, "issued")
    assert seen["holder_id_number"] == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    assert seen["valid_until"] > seen["issued_at"] and seen["institution_code"] == HOSPITAL
    assert person.id_number not in r.text and "陈晓明" not in r.text
    assert client.get(f"{API}/cash-vouchers/{code.lower().replace('-', '')}", headers=desk["hospital"]).json()[
        "holder_name"] == "陈**"
    assert_problem(client.get(f"{API}/cash-vouchers/{code}", headers=desk["other"]), 422,
                   "cash_voucher.wrong_institution")
    assert_problem(client.get(f"{API}/cash-vouchers/{code}", headers=me), 403, "auth.forbidden")
    assert_problem(client.get(f"{API}/cash-vouchers/ABCD-EFGH-JKMN-PQRS", headers=desk["clerk"]), 404,
                   "cash_voucher.not_found")

    paid = redeem(client, desk["clerk"], code, {"id_number": person.id_number.lower()})  # checked on the ID card
    assert paid.status_code == 200, paid.text
    assert paid.json()["institution_code"] is None and paid.json()["redeemed_by"] == "clerk-1"
    after = client.get(f"{API}/cash-vouchers/{code}", headers=desk["clerk"]).json()
    assert after["status"] == "redeemed" and after["redeemed_at"]
    assert_problem(redeem(client, desk["clerk"], code, {"id_number": person.id_number}), 409,
                   "cash_voucher.redeemed")


def test_the_holder_redeems_with_their_e_voucher(ctx, admin, client, desk):
    person, me, code = cash_claim(ctx, admin, client, desk, name="吴越", number="FP-3001")
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=person.id, id_number=person.id_number,
                                             name="吴越", channel="app")
    both = {**card_of(person), "id_number": person.id_number}
    assert_problem(redeem(client, desk["clerk"], code, both), 422, "request.invalid")  # one proof, not two
    shown = pay_code(client, token)
    paid = redeem(client, desk["hospital"], code, {"credential": shown})
    assert paid.status_code == 200, paid.text
    assert paid.json()["institution_code"] == HOSPITAL


def test_a_booking_used_by_a_redemption_can_no_longer_be_cancelled(ctx, admin, client, desk):
    person, me, code = cash_claim(ctx, admin, client, desk, name="郑重", number="FP-4001")
    slots = []
    for hour in (14, 16):
        r = client.post(f"{API}/institutions/{HOSPITAL}/slots", headers=desk["hospital"], json={
            "starts_at": f"2026-03-02T{hour}:00:00+08:00", "ends_at": f"2026-03-02T{hour}:30:00+08:00",
            "capacity": 2})
        assert r.status_code == 201, r.text
        slots.append(r.json()["slot_id"])
    booked = [client.post(f"{API}/appointments", headers=me, json={
        "slot_id": slot, "person_id": person.id, "purpose": "cash_voucher"}).json() for slot in slots]
    paid = redeem(client, desk["hospital"], code, card_of(person))
    assert paid.status_code == 200, paid.text
    with ctx.engine.connect() as conn:
        states = dict(conn.execute(sa.select(appointments.c.id, appointments.c.status)).all())
    assert sorted(states.values()) == ["booked", "used"]
    [used] = [a for a in booked if states[a["appointment_id"]] == "used"]
    [spare] = [a for a in booked if states[a["appointment_id"]] == "booked"]

    before = snapshot(ctx)
    r = client.post(f"{API}/appointments/{used['appointment_id']}/cancel", headers=me)
    assert assert_problem(r, 409, "appointment.used")["used_at"]
    assert_problem(client.post(f"{API}/appointments/{used['appointment_id']}/cancel", headers=desk["clerk"]),
                   409, "appointment.used")
    assert snapshot(ctx) == before
    cancelled = client.post(f"{API}/appointments/{spare['appointment_id']}/cancel", headers=me)  # not used: free
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_a_frozen_account_is_paid_nothing_until_the_agency_lifts_the_freeze(ctx, admin, client, desk):
    person, me, code = cash_claim(ctx, admin, client, desk, name="黄河", number="FP-5001")
    frozen = client.post(f"{API}/cards/{person.card_no}/freeze", headers=desk["clerk"], json={"reason": "疑似冒用"})
    assert frozen.status_code == 200, frozen.text
    before = snapshot(ctx)
    r = redeem(client, desk["clerk"], code, {"id_number": person.id_number})  # the ID card is no way around it
    assert_problem(r, 409, "account.frozen")
    assert snapshot(ctx) == before
    lifted = client.post(f"{API}/cards/{person.card_no}/unfreeze", headers=desk["clerk"], json={"reason": "本人核实"})
    assert lifted.status_code == 200, lifted.text
    paid = redeem(client, desk["clerk"], code, {"id_number": person.id_number})
    assert paid.status_code == 200, paid.text


def test_a_strangers_card_at_a_redemption_is_refused_before_its_pin_is_looked_at(ctx, admin, client, desk):
    """An institution holding one cash voucher cannot use its redemption to guess or lock anyone else's PIN."""
    _, _, code = cash_claim(ctx, admin, client, desk, name="苏青", number="FP-1101")
    stranger = add_person(ctx, admin, name="郝明")  # a card of another region, its PIN unknown to the hospital
    before = snapshot(ctx)
    for _ in range(6):  # more wrong tries than the lock allows
        assert_problem(redeem(client, desk["hospital"], code, card_of(stranger, pin="135790")), 403,
                       "cash_voucher.holder_mismatch")
    with ctx.engine.connect() as conn:
        failures = conn.execute(sa.select(card_rows.c.pin_failures).where(
            card_rows.c.card_no == stranger.card_no)).scalar_one()
    assert failures == 0 and snapshot(ctx) == before  # no guess counted, no lock, nothing written
    assert cards.verify_pin(ctx, actor=admin, card_no=stranger.card_no, pin=PIN).status == "active"
