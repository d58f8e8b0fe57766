"""Family grants need the relative's consent and a relation the persons' records bear out (亲情账户): a grant made
online pays nothing until the grantee accepts from their own session; staff at the counter, both present, make
it in force at once; a parent born after the child, a second spouse or one grantee too many is refused; and the
owner is told of every payment a grantee makes from the account."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.integration.test_ledger_concurrency import all_at_once
from tests.support import (
    API,
    PASSWORD,
    PIN,
    PersonFixture,
    assert_problem,
    bearer,
    build_world,
    count,
    fund,
    new_id_number,
    new_phone,
    rows,
)
from yibao.bootstrap import bootstrap
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor, Role
from yibao.services.credentials import auth, cards
from yibao.services.crossregion import family
from yibao.services.registry import enrolment
from yibao.store.tables import audit_records, family_grants, ledger_accounts, ledger_postings, notices, settlements

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
PHARMACY = "P11000000001"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)  # the employee 张伟 was born on 1985-03-12
    fund(ctx, admin, world.person.id, months=4, employer_id=world.employer_id)  # ¥2,000 in the account
    ctx.clock.set(NOW)
    return world


def relative(ctx, admin, username: str, *, birth: str, male: bool = True, name: str = "王秀兰",
             employee_of: str | None = None) -> PersonFixture:
    """A verified person (an activated card) of the given birth date and sex, with a user of their own."""
    number = new_id_number(birth=birth, male=male)
    person = enrolment.register_person(ctx, actor=admin, id_number=number, name=name, phone=new_phone(),
                                       region="110000")
    auth.add_user(ctx, actor=admin, username=username, password=PASSWORD, role="person", person_id=person.id)
    card = cards.issue_card(ctx, actor=admin, person_id=person.id)
    cards.activate(ctx, actor=admin, card_no=card.card_no, id_number=number, pin=PIN)
    if employee_of:
        enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", employer_id=employee_of,
                         start_date=dt.date(2024, 1, 1))
    return PersonFixture(person.id, number, name, person.phone, username, card.card_no)


def grant(client, username: str, owner_id: str, grantee_id: str, relation: str):
    return client.post(f"{API}/family-grants", headers=bearer(client, username),
                       json={"owner_id": owner_id, "grantee_id": grantee_id, "relation": relation})


def act(client, username: str, grant_id: str, step: str):
    return client.post(f"{API}/family-grants/{grant_id}/{step}", headers=bearer(client, username))


def pay_for(client, payer: PersonFixture, owner_id: str, amount: int, key: str):
    return client.post(f"{API}/settlements", headers=bearer(client, "institution-user"), json={
        "idempotency_key": key, "institution_code": PHARMACY, "account_owner_id": owner_id,
        "credential": {"type": "card", "card_no": payer.card_no, "pin": PIN},
        "items": [{"category": "drug", "amount_fen": amount}]})


def inbox(client, username: str, person_id: str) -> list[dict]:
    r = client.get(f"{API}/persons/{person_id}/notices", headers=bearer(client, username))
    assert r.status_code == 200, r.text
    return r.json()


def money_rows(ctx) -> tuple[int, ...]:
    return tuple(count(ctx, t) for t in (settlements, ledger_postings, ledger_accounts, notices))


def test_a_grant_made_online_pays_only_once_the_grantee_accepts_and_the_owner_hears_of_each_payment(
        ctx, admin, client, world):
    mother = relative(ctx, admin, "mother", birth="19580307", male=False)
    r = grant(client, "employee", world.person.id, mother.id, "parent")
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["status"], made["accepted_at"]) == ("pending", None)
    [invite] = [n for n in inbox(client, "mother", mother.id) if n["kind"] == "family_grant.invite"]
    assert invite["data"]["grant_id"] == made["grant_id"] and "确认后生效" in invite["body_zh"]

    before = money_rows(ctx)  # the attack: the grantee pays before consenting
    assert_problem(pay_for(client, mother, world.person.id, 3_000, "early"), 422, "family.grant_required")
    assert money_rows(ctx) == before

    for username in ("employee", "stranger", "counter-user", "reviewer-user", "admin-user"):
        assert_problem(act(client, username, made["grant_id"], "accept"), 403, "auth.forbidden")
    assert rows(ctx, family_grants)[0].status == "pending"

    accepted = act(client, "mother", made["grant_id"], "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "active" and accepted.json()["accepted_at"] is not None
    assert accepted.json()["rules"][0]["rule_id"] == "national.family.close_relatives"
    again = act(client, "mother", made["grant_id"], "accept")  # accepting twice is harmless
    assert again.status_code == 200 and again.json()["status"] == "active"
    with ctx.engine.connect() as conn:
        accepts = conn.execute(sa.select(sa.func.count()).select_from(audit_records).where(
            audit_records.c.action == "family_grant.accept")).scalar_one()
    assert accepts == 1

    paid = pay_for(client, mother, world.person.id, 3_000, "after")
    assert paid.status_code == 201, paid.text
    body = paid.json()
    assert (body["payer_id"], body["account_owner_id"], body["account_paid_fen"]) == (mother.id, world.person.id,
                                                                                      3_000)
    [told] = [n for n in inbox(client, "employee", world.person.id) if n["kind"] == "family_grant.payment"]
    assert told["data"] == {"settlement_id": body["settlement_id"], "payer_id": mother.id, "relation": "parent",
                            "account_paid_fen": 3_000}
    assert "¥30.00" in told["body_zh"] and "示例大药房" in told["body_zh"] and "父母" in told["body_zh"]
    assert mother.name not in told["body_zh"] + told["body_en"]
    assert mother.id_number not in str(told)
    retried = pay_for(client, mother, world.person.id, 3_000, "after")  # the same key: the same answer, no new notice
    assert retried.json() == body
    assert len([n for n in inbox(client, "employee", world.person.id) if n["kind"] == "family_grant.payment"]) == 1
    own = client.post(f"{API}/settlements", headers=bearer(client, "institution-user"), json={
        "idempotency_key": "own", "institution_code": PHARMACY,
        "credential": {"type": "card", "card_no": world.person.card_no, "pin": PIN},
        "items": [{"category": "drug", "amount_fen": 1_000}]})
    assert own.status_code == 201  # the owner's own payment tells no one
    assert len([n for n in inbox(client, "employee", world.person.id) if n["kind"] == "family_grant.payment"]) == 1


def test_the_grantee_may_decline_and_the_owner_may_cancel_a_pending_grant(ctx, admin, client, world):
    mother = relative(ctx, admin, "mother", birth="19580307", male=False)
    first = grant(client, "employee", world.person.id, mother.id, "parent").json()
    assert_problem(act(client, "employee", first["grant_id"], "decline"), 403, "auth.forbidden")
    assert_problem(act(client, "stranger", first["grant_id"], "decline"), 403, "auth.forbidden")
    declined = act(client, "mother", first["grant_id"], "decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
    assert_problem(act(client, "mother", first["grant_id"], "accept"), 409, "family_grant.wrong_state")
    assert_problem(pay_for(client, mother, world.person.id, 1_000, "declined"), 422, "family.grant_required")

    second = grant(client, "employee", world.person.id, mother.id, "parent").json()  # asked again
    assert second["status"] == "pending"
    cancelled = client.delete(f"{API}/family-grants/{second['grant_id']}", headers=bearer(client, "employee"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(act(client, "mother", second["grant_id"], "accept"), 409, "family_grant.wrong_state")
    assert [g.status for g in sorted(rows(ctx, family_grants), key=lambda g: g.created_at)] == ["declined",
                                                                                                "cancelled"]


def test_staff_at_the_counter_with_both_present_make_a_grant_in_force_at_once(ctx, admin, client, world):
    mother = relative(ctx, admin, "mother", birth="19580307", male=False)
    r = grant(client, "counter-user", world.person.id, mother.id, "parent")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active" and r.json()["accepted_at"] is not None
    assert not [n for n in inbox(client, "mother", mother.id) if n["kind"] == "family_grant.invite"]
    paid = pay_for(client, mother, world.person.id, 2_000, "counter")
    assert paid.status_code == 201 and paid.json()["account_paid_fen"] == 2_000, paid.text
    [created] = [a for a in rows(ctx, audit_records) if a.action == "family_grant.create"]
    assert created.actor == "counter-user" and created.details["at_counter"] is True


@pytest.mark.parametrize("relation, birth, male, reason, facts", [
    # the employee was born on 1985-03-12
    ("parent", "19900101", True, "generation_gap", {"age_gap_years": -4, "min_gap_years": 14}),  # born after
    ("parent", "19750601", False, "generation_gap", {"age_gap_years": 9, "min_gap_years": 14}),  # 9 years older
    ("child", "19600101", True, "generation_gap", {"age_gap_years": -25, "min_gap_years": 14}),  # born before
    ("child", "19950101", True, "generation_gap", {"age_gap_years": 9, "min_gap_years": 14}),
    ("spouse", "20050101", True, "marriage_age", {"person": "grantee", "age_years": 21, "min_age_years": 22}),
])
def test_a_relation_the_persons_records_contradict_is_refused_and_writes_nothing(
        ctx, admin, client, world, relation, birth, male, reason, facts):
    other = relative(ctx, admin, "relative", birth=birth, male=male, name="赵敏")
    before = (count(ctx, family_grants), count(ctx, audit_records))
    problem = assert_problem(grant(client, "employee", world.person.id, other.id, relation), 422,
                             "family_grant.relation_implausible")
    assert problem["reason"] == reason and problem["relation"] == relation
    assert {k: problem[k] for k in facts} == facts
    for text in (problem["message_zh"], problem["message_en"], problem["detail"]):
        assert other.name not in text and other.id_number not in text and birth not in text
    assert (count(ctx, family_grants), count(ctx, audit_records)) == before
    assert_problem(grant(client, "counter-user", world.person.id, other.id, relation), 422,
                   "family_grant.relation_implausible")  # the counter is held to the same records


@pytest.mark.parametrize("relation, birth, male", [
    ("parent", "19710312", True),  # fourteen years older to the day
    ("child", "19990312", False),
    ("spouse", "20050101", False),  # a woman may marry at 20
    ("spouse", "20040301", True),  # a man at 22
])
def test_a_relation_the_records_bear_out_is_granted(ctx, admin, client, world, relation, birth, male):
    other = relative(ctx, admin, "relative", birth=birth, male=male, name="赵敏")
    r = grant(client, "employee", world.person.id, other.id, relation)
    assert r.status_code == 201, r.text
    assert act(client, "relative", r.json()["grant_id"], "accept").json()["status"] == "active"


def test_one_spouse_each_and_a_grant_back_names_the_inverse_relation(ctx, admin, client, world):
    wife = relative(ctx, admin, "wife", birth="19870101", male=False, name="王静", employee_of=world.employer_id)
    other = relative(ctx, admin, "other-woman", birth="19880101", male=False, name="刘芳",
                     employee_of=world.employer_id)
    third = relative(ctx, admin, "third", birth="19860101", male=True, name="陈刚", employee_of=world.employer_id)
    pending = grant(client, "employee", world.person.id, wife.id, "spouse").json()
    assert pending["status"] == "pending"
    second = assert_problem(grant(client, "employee", world.person.id, other.id, "spouse"), 422,
                            "family_grant.relation_implausible")  # a second spouse while one awaits consent
    assert (second["reason"], second["person"]) == ("second_spouse", "owner")
    assert_problem(grant(client, "counter-user", world.person.id, other.id, "spouse"), 422,
                   "family_grant.relation_implausible")
    from_the_other_side = assert_problem(grant(client, "third", third.id, wife.id, "spouse"), 422,
                                         "family_grant.relation_implausible")  # the wife is already a spouse
    assert (from_the_other_side["reason"], from_the_other_side["person"]) == ("second_spouse", "grantee")
    mother = relative(ctx, admin, "mother", birth="19580307", male=False, employee_of=world.employer_id)
    assert grant(client, "employee", world.person.id, mother.id, "parent").status_code == 201
    wrong_way_back = assert_problem(grant(client, "mother", mother.id, world.person.id, "spouse"), 422,
                                    "family_grant.relation_implausible")
    assert (wrong_way_back["reason"], wrong_way_back["recorded_relation"]) == ("contradicts_reverse", "parent")
    assert grant(client, "mother", mother.id, world.person.id, "child").status_code == 201  # the inverse
    back = grant(client, "wife", wife.id, world.person.id, "spouse")  # the couple grant each other
    assert back.status_code == 201, back.text
    assert act(client, "wife", pending["grant_id"], "accept").json()["status"] == "active"
    assert act(client, "employee", back.json()["grant_id"], "accept").json()["status"] == "active"
    client.delete(f"{API}/family-grants/{pending['grant_id']}", headers=bearer(client, "employee"))
    client.delete(f"{API}/family-grants/{back.json()['grant_id']}", headers=bearer(client, "wife"))
    assert grant(client, "employee", world.person.id, other.id, "spouse").status_code == 201  # once both ended


def test_an_owner_grants_at_most_the_policy_number_of_relatives(ctx, admin, client, world):
    family_members = [relative(ctx, admin, "father", birth="19560101"),
                      relative(ctx, admin, "mother", birth="19580307", male=False),
                      *[relative(ctx, admin, f"child-{n}", birth=f"201{n}0601", male=n % 2 == 0) for n in range(3)]]
    made = [grant(client, "employee", world.person.id, p.id, "parent" if p.username in ("father", "mother")
                  else "child") for p in family_members]
    assert [r.status_code for r in made] == [201] * 5
    sixth = relative(ctx, admin, "child-4", birth="20180601")
    before = count(ctx, family_grants)
    problem = assert_problem(grant(client, "employee", world.person.id, sixth.id, "child"), 422,
                             "family_grant.too_many_grantees")
    assert (problem["open_grants"], problem["max_grantees"]) == (5, 5)
    assert count(ctx, family_grants) == before
    client.delete(f"{API}/family-grants/{made[0].json()['grant_id']}", headers=bearer(client, "employee"))
    assert grant(client, "employee", world.person.id, sixth.id, "child").status_code == 201  # a place freed


def test_the_database_keeps_one_grant_per_pair_pending_or_in_force(ctx, admin, client, world):
    mother = relative(ctx, admin, "mother", birth="19580307", male=False)
    assert grant(client, "employee", world.person.id, mother.id, "parent").status_code == 201
    with ctx.engine.connect() as conn:
        row = dict(conn.execute(sa.select(family_grants)).one()._mapping)
    for status in ("pending", "active"):
        with pytest.raises(sa.exc.IntegrityError), ctx.engine.begin() as conn:
            conn.execute(family_grants.insert().values({**row, "id": f"fgr_{status}", "status": status}))
    with pytest.raises(sa.exc.IntegrityError), ctx.engine.begin() as conn:
        conn.execute(family_grants.insert().values({**row, "id": "fgr_odd", "status": "maybe"}))


@pytest.mark.postgresql_only
def test_two_spouse_grants_at_once_cannot_both_be_made(ctx, admin, settings, world, backend):
    women = [relative(ctx, admin, f"woman-{n}", birth=f"198{n}0101", male=False, name="王静") for n in range(4)]
    contexts = [bootstrap(settings) for _ in women]
    for c in contexts:
        c.clock.set(NOW)
    clerk = Actor(username="counter-user", role=Role.COUNTER)
    try:
        outcomes = all_at_once(len(women), lambda i: family.grant(
            contexts[i], actor=clerk, owner_id=world.person.id, grantee_id=women[i].id, relation="spouse"))
    finally:
        for c in contexts:
            c.engine.dispose()
    made = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(made) == 1, outcomes
    assert all(isinstance(e, errors.GrantRelationImplausible) for e in refused), refused
    assert [g.status for g in rows(ctx, family_grants)] == ["active"]


def test_a_life_event_ends_every_grant_to_and_from_the_person_pending_or_in_force(ctx, admin, client, world):
    mother = relative(ctx, admin, "mother", birth="19580307", male=False)
    father = relative(ctx, admin, "father", birth="19560101")
    active = grant(client, "counter-user", world.person.id, mother.id, "parent").json()
    pending = grant(client, "employee", world.person.id, father.id, "parent").json()
    with ctx.uow() as uow:  # what recording the owner's death does in its own unit of work
        ended = family.end_open_grants(ctx, uow, actor=admin, person_id=world.person.id, reason="death")
        uow.commit()
    assert sorted(ended) == sorted([active["grant_id"], pending["grant_id"]])
    statuses = {g.id: g.status for g in rows(ctx, family_grants)}
    assert statuses == {active["grant_id"]: "revoked", pending["grant_id"]: "cancelled"}
    assert_problem(pay_for(client, mother, world.person.id, 1_000, "ended"), 422, "family.grant_required")
    assert_problem(act(client, "father", pending["grant_id"], "accept"), 409, "family_grant.wrong_state")
    with ctx.uow() as uow:
        assert family.end_open_grants(ctx, uow, actor=admin, person_id=world.person.id, reason="death") == []
