"""Cross-region filings and family grants through the API: what the policy allows, for how long, who may
change it, and what a settlement decision then sees."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.support import API, add_person, assert_problem, bearer, build_world, count
from yibao.domain.clock import SHANGHAI
from yibao.services.registry import enrolment, institutions
from yibao.store.tables import family_grants, filings

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(NOW)
    return build_world(ctx, admin)


def file(client, username: str, person_id: str, **body):
    return client.post(f"{API}/filings", headers=bearer(client, username),
                       json={"person_id": person_id, "destination_region": "310000", **body})


def test_a_long_term_filing_lasts_until_cancelled_and_cannot_change_for_six_months(ctx, client, world):
    r = file(client, "employee", world.person.id, type="long_term", reason="resettled_retiree")
    assert r.status_code == 201, r.text
    filing = r.json()
    assert (filing["valid_from"], filing["valid_to"], filing["status"]) == ("2026-03-02", None, "active")
    assert filing["rules"][0]["rule_id"] == "national.filing.long_term" and "医保发〔2022〕22号" in \
        filing["rules"][0]["reference"]
    locked = client.post(f"{API}/filings/{filing['filing_id']}/cancel", headers=bearer(client, "employee"))
    body = assert_problem(locked, 422, "filing.locked")
    assert body["changeable_from"] == "2026-09-02" and body["rules"][0]["rule_id"] == "national.filing.long_term"
    assert "6 个月内不可变更或取消" in body["message_zh"]
    other = file(client, "employee", world.person.id, type="temporary", reason="referral")
    assert_problem(other, 422, "filing.locked")  # a new filing would change it too
    ctx.clock.set(dt.datetime(2026, 9, 2, 9, 0, tzinfo=SHANGHAI))
    cancelled = client.post(f"{API}/filings/{filing['filing_id']}/cancel", headers=bearer(client, "employee"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"{API}/filings/{filing['filing_id']}/cancel", headers=bearer(client, "employee"))
    assert_problem(again, 409, "filing.wrong_state")


def test_a_temporary_filing_lasts_six_months_and_a_new_one_replaces_it(ctx, client, world):
    first = file(client, "employee", world.person.id, type="temporary", reason="referral").json()
    assert (first["valid_from"], first["valid_to"]) == ("2026-03-02", "2026-09-01")
    second = file(client, "reviewer-user", world.person.id, type="temporary", reason="other",
                  destination_region="440300")
    assert second.status_code == 201, second.text
    listed = client.get(f"{API}/persons/{world.person.id}/filings", headers=bearer(client, "employee")).json()
    assert [(f["filing_id"], f["status"]) for f in listed] == [(second.json()["filing_id"], "active"),
                                                               (first["filing_id"], "replaced")]


@pytest.mark.parametrize("body, code", [
    ({"type": "long_term", "reason": "referral"}, "filing.not_allowed"),  # the reason does not fit the type
    ({"type": "temporary", "reason": "referral", "start_date": "2026-02-01"}, "filing.start_in_past"),
    ({"type": "temporary", "reason": "other", "destination_region": "110105"}, "filing.invalid"),  # home
    ({"type": "temporary", "reason": "other", "destination_region": "999999"}, "region.unknown"),
    ({"type": "monthly", "reason": "other"}, "request.invalid"),
])
def test_filings_the_policy_or_the_facts_refuse_write_nothing(ctx, client, world, body, code):
    r = file(client, "employee", world.person.id, **body)
    problem = assert_problem(r, 422, code)
    if code.startswith("filing.") and code != "filing.invalid":
        assert problem["rules"] and problem["explanation_en"]
    assert count(ctx, filings) == 0


def test_an_emergency_may_be_filed_afterwards(client, world):
    r = file(client, "employee", world.person.id, type="temporary", reason="emergency", start_date="2026-02-20")
    assert r.status_code == 201, r.text
    assert (r.json()["valid_from"], r.json()["valid_to"]) == ("2026-02-20", "2026-08-19")


def test_with_a_filing_the_account_pays_directly_at_a_networked_institution_there(ctx, admin, client, world):
    institutions.add_institution(ctx, actor=admin, code="H31000000001", name="上海示例医院", kind="hospital",
                                 region="310104", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))

    def ask():
        return client.post(f"{API}/policy/explain", headers=bearer(client, "employee"),
                           json={"person_id": world.person.id, "action": "settle",
                                 "institution_code": "H31000000001", "amount_fen": 0}).json()

    assert ask()["code"] == "filing.required"
    assert file(client, "employee", world.person.id, type="temporary", reason="referral").status_code == 201
    answer = ask()
    assert answer["allowed"] is True and answer["reasons"][0]["rule_id"] == "national.settlement.cross_region.filed"


def grant(client, username: str, owner_id: str, grantee_id: str, relation: str):
    return client.post(f"{API}/family-grants", headers=bearer(client, username),
                       json={"owner_id": owner_id, "grantee_id": grantee_id, "relation": relation})


def accept(client, username: str, grant_id: str):
    return client.post(f"{API}/family-grants/{grant_id}/accept", headers=bearer(client, username))


def test_an_owner_grants_a_spouse_both_see_it_and_either_may_end_it(ctx, admin, client, world):
    spouse = add_person(ctx, admin, name="王静", username="spouse")
    r = grant(client, "employee", world.person.id, spouse.id, "spouse")
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "pending" and made["rules"][0]["rule_id"] == "national.family.close_relatives"
    assert "国办发〔2021〕14号" in made["rules"][0]["reference"]
    assert_problem(grant(client, "employee", world.person.id, spouse.id, "spouse"), 409, "family_grant.duplicate")
    accepted = accept(client, "spouse", made["grant_id"])
    assert accepted.status_code == 200 and accepted.json()["status"] == "active", accepted.text
    assert_problem(grant(client, "employee", world.person.id, spouse.id, "spouse"), 409, "family_grant.duplicate")
    for username, person_id in (("employee", world.person.id), ("spouse", spouse.id)):
        listed = client.get(f"{API}/persons/{person_id}/family-grants", headers=bearer(client, username)).json()
        assert [g["grant_id"] for g in listed] == [made["grant_id"]]
    ended = client.delete(f"{API}/family-grants/{made['grant_id']}", headers=bearer(client, "spouse"))
    assert ended.status_code == 200 and ended.json()["status"] == "revoked"
    assert_problem(client.delete(f"{API}/family-grants/{made['grant_id']}", headers=bearer(client, "employee")),
                   409, "family_grant.wrong_state")
    assert grant(client, "employee", world.person.id, spouse.id, "spouse").status_code == 201  # granted anew


def test_grants_the_policy_or_the_facts_refuse(ctx, admin, client, world):
    sibling = add_person(ctx, admin, name="张强", username="sibling")
    refused = assert_problem(grant(client, "employee", world.person.id, sibling.id, "sibling"), 422,
                             "family.relation_not_allowed")
    assert refused["rules"][0]["rule_id"] == "national.family.base" and "兄弟姐妹不在范围内" in refused["message_zh"]
    assert_problem(grant(client, "employee", world.person.id, world.person.id, "spouse"), 422, "family_grant.invalid")
    unverified = add_person(ctx, admin, name="刘芳", username="unverified", card=False)
    problem = assert_problem(grant(client, "employee", world.person.id, unverified.id, "child"), 422,
                             "family_grant.invalid")
    assert problem["unverified"] == [unverified.id]
    resident = add_person(ctx, admin, name="周红", username="resident")
    enrolment.enroll(ctx, actor=admin, person_id=resident.id, scheme="resident", start_date=dt.date(2024, 1, 1))
    no_account = assert_problem(grant(client, "resident", resident.id, sibling.id, "child"), 422,
                                "family.relation_not_allowed")
    assert no_account["rules"][0]["rule_id"] == "national.family.resident"
    assert_problem(grant(client, "stranger", world.person.id, sibling.id, "child"), 403, "auth.forbidden")
    assert count(ctx, family_grants) == 0


def test_the_database_keeps_one_filing_in_force_per_person_and_one_grant_per_pair(ctx, admin, client, world):
    assert file(client, "employee", world.person.id, type="temporary", reason="other").status_code == 201
    spouse = add_person(ctx, admin, name="王静", username="spouse")
    made = grant(client, "employee", world.person.id, spouse.id, "spouse").json()
    assert accept(client, "spouse", made["grant_id"]).json()["status"] == "active"
    for table, key in ((filings, "fil_second"), (family_grants, "fgr_second")):
        with ctx.engine.connect() as conn:
            row = dict(conn.execute(sa.select(table)).one()._mapping)
        with pytest.raises(sa.exc.IntegrityError), ctx.engine.begin() as conn:
            conn.execute(table.insert().values({**row, "id": key}))  # a second one in force
        with ctx.engine.begin() as conn:  # one no longer in force may stand beside it
            conn.execute(table.insert().values({**row, "id": key, "status": "cancelled" if table is filings
                                                else "revoked"}))
