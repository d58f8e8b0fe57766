"""Whose filing governs a grantee's cross-region payment (亲情账户 + 异地就医): the account owner's. A relative
paying from the owner's account pays locally in the owner's region whoever filed; in the destination region only
the owner's filing lets the account pay there, the grantee's own filing does not."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import (
    API,
    PIN,
    SHANGHAI_HOSPITAL,
    add_person,
    add_shanghai_hospital,
    assert_problem,
    bearer,
    funded_world,
    pay_code,
    row_counts,
)
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import evouchers
from yibao.services.crossregion import family, filings

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
HOME_PHARMACY = "P11000000001"  # in the owner's region, Beijing


@pytest.fixture
def world(ctx, admin):
    world = funded_world(ctx, admin, at=MORNING)
    add_shanghai_hospital(ctx, admin)
    world.mother = add_person(ctx, admin, name="王秀兰", username="mother", birth="19580307")
    family.grant(ctx, actor=admin, owner_id=world.person.id, grantee_id=world.mother.id, relation="parent")
    _, world.mother_token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.mother.id,
                                                          id_number=world.mother.id_number,
                                                          name=world.mother.name, channel="app")
    return world


def file_for_shanghai(ctx, admin, person_id: str) -> None:
    filings.file(ctx, actor=admin, person_id=person_id, type="temporary", reason="referral",
                 destination_region="310000")


def grantee_pays(client, world, credential: dict, *, at: str, key: str):
    username = "institution-user" if at == HOME_PHARMACY else "hospital-sh"
    return client.post(f"{API}/settlements", headers=bearer(client, username), json={
        "idempotency_key": key, "institution_code": at, "credential": credential,
        "account_owner_id": world.person.id,
        "items": [{"category": "drug" if at == HOME_PHARMACY else "medical_service", "amount_fen": 2_000}]})


CASES = {  # (owner filed, grantee filed): pays in the destination region
    "owner filed, grantee not": (True, False, True),
    "grantee filed, owner not": (False, True, False),
    "both filed": (True, True, True),
    "neither filed": (False, False, False),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("at", [HOME_PHARMACY, SHANGHAI_HOSPITAL], ids=["owner's region", "destination"])
def test_the_account_owners_filing_governs_a_grantees_payment(ctx, admin, client, world, case, at):
    owner_filed, grantee_filed, pays_away = CASES[case]
    if owner_filed:
        file_for_shanghai(ctx, admin, world.person.id)
    if grantee_filed:
        file_for_shanghai(ctx, admin, world.mother.id)
    shown = pay_code(client, world.mother_token)
    bearer(client, "hospital-sh"), bearer(client, "institution-user")
    before = row_counts(ctx)

    r = grantee_pays(client, world, shown, at=at, key=f"{case}-{at}")

    if at == HOME_PHARMACY or pays_away:
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["payer_id"], body["account_owner_id"], body["account_paid_fen"]) == (
            world.mother.id, world.person.id, 2_000)
        if at == SHANGHAI_HOSPITAL:
            assert "national.settlement.cross_region.filed" in [x["rule_id"] for x in body["decision"]["rules"]]
    else:
        refused = assert_problem(r, 422, "filing.required")
        assert refused["rules"][0]["rule_id"] == "national.settlement.cross_region.base"
        assert {k: v for k, v in row_counts(ctx).items() if k != "auth_tokens"} == {
            k: v for k, v in before.items() if k != "auth_tokens"}


def test_with_the_grantees_card_the_pin_is_checked_where_either_filing_covers_and_the_owners_decides(
        ctx, admin, client, world):
    card = {"type": "card", "card_no": world.mother.card_no, "pin": PIN}
    assert_problem(grantee_pays(client, world, card, at=SHANGHAI_HOSPITAL, key="neither"), 422,
                   "card.region_not_covered")  # nobody filed: refused before the PIN
    file_for_shanghai(ctx, admin, world.mother.id)
    assert_problem(grantee_pays(client, world, card, at=SHANGHAI_HOSPITAL, key="grantee"), 422,
                   "filing.required")  # the grantee's own filing does not open the owner's account there
    file_for_shanghai(ctx, admin, world.person.id)
    paid = grantee_pays(client, world, card, at=SHANGHAI_HOSPITAL, key="owner")
    assert paid.status_code == 201 and paid.json()["account_owner_id"] == world.person.id
