"""Life events (死亡、出国（境）定居登记): a death or emigration recorded by the agency stops every card and
e-voucher of the person from its date, ends their grants and filings and later months' contributions; a
settlement made before a late record is listed for review, never rewritten; bad input writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.support import API, PIN, add_person, assert_problem, bearer, build_world, code_credential, count, fund, rows
from yibao.domain.clock import SHANGHAI
from yibao.jobs.credit import credit_file
from yibao.services.accounts import contributions
from yibao.services.applications import documents
from yibao.services.credentials import cards, evouchers
from yibao.services.crossregion import family, filings
from yibao.services.registry import enrolment, life_events
from yibao.store import tables
from yibao.store.tables import audit_records, family_grants, idempotency_keys, ledger_postings, settlements

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PHARMACY = "P11000000001"
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    fund(ctx, admin, world.person.id, months=4, employer_id=world.employer_id)  # ¥2,000 in the account
    ctx.clock.set(MORNING)
    _, world.token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                                   id_number=world.person.id_number, name=world.person.name,
                                                   channel="app")
    world.code = code_credential(ctx, world.token)  # shown on the app before anything is recorded
    return world


def insured(ctx, admin, **person):
    """A flexible-employment person with January credited."""
    fixture = add_person(ctx, admin, **person)
    enrolment.enroll(ctx, actor=admin, person_id=fixture.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, admin, fixture.id, months=4)
    return fixture


def pay(client, world, amount: int, credential: dict, *, owner: str | None = None, key: str | None = None):
    pay.n += 1
    body = {"idempotency_key": key or f"life-{pay.n}", "institution_code": PHARMACY, "credential": credential,
            "items": [{"category": "drug", "amount_fen": amount}]}
    if owner:
        body["account_owner_id"] = owner
    return client.post(f"{API}/settlements", headers=bearer(client, "institution-user"), json=body)


pay.n = 0


def card(person) -> dict:
    return {"type": "card", "card_no": person.card_no, "pin": PIN}


def record(client, person_id: str, username: str = "counter-user", **body):
    return client.post(f"{API}/persons/{person_id}/life-events", headers=bearer(client, username), json=body)


def written(ctx) -> tuple[int, int, int]:
    return count(ctx, settlements), count(ctx, ledger_postings), count(ctx, idempotency_keys)


def test_a_dead_person_pays_with_neither_card_nor_evoucher_and_nothing_is_written(ctx, admin, client, world):
    issued = cards.issue_card(ctx, actor=admin, person_id=world.person.id)  # a spare card, not yet activated

    r = record(client, world.person.id, kind="death", date="2026-03-01")

    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "death" and r.json()["late_settlements"] == []
    before = written(ctx)
    for credential in (card(world.person), world.code):
        problem = assert_problem(pay(client, world, 1_000, credential), 409, "person.deceased")
        assert "死亡" in problem["message_zh"]
    assert written(ctx) == before
    owner = bearer(client, "employee")
    assert_problem(client.post(f"{API}/cards/{world.person.card_no}/verify-pin",
                               headers=bearer(client, "counter-user"), json={"pin": PIN}), 409, "person.deceased")
    assert_problem(client.post(f"{API}/cards/{issued.card_no}/activate", headers=owner,
                               json={"id_number": world.person.id_number, "pin": "472951"}), 409, "person.deceased")
    assert_problem(client.post(f"{API}/cards/{world.person.card_no}/replace", headers=owner), 409, "person.deceased")
    assert_problem(client.post(f"{API}/evouchers", headers=owner, json={
        "person_id": world.person.id, "id_number": world.person.id_number, "name": world.person.name,
        "channel": "miniprogram"}), 409, "person.deceased")
    assert_problem(client.post(f"{API}/cards", headers=bearer(client, "counter-user"),
                               json={"person_id": world.person.id}), 409, "person.deceased")
    assert written(ctx) == before
    # the account is kept for the heirs: its balance stays
    account = client.get(f"{API}/accounts/{world.person.id}", headers=bearer(client, "reviewer-user")).json()
    assert account["balance_fen"] == 200_000


def test_an_emigrated_person_is_refused_with_its_own_code_and_others_still_pay(ctx, admin, client, world):
    r = record(client, world.person.id, "reviewer-user", kind="emigration", date="2026-03-02")
    assert r.status_code == 201, r.text
    assert_problem(pay(client, world, 500, card(world.person)), 409, "person.emigrated")
    assert_problem(pay(client, world, 500, world.code), 409, "person.emigrated")
    assert_problem(client.post(f"{API}/evouchers/codes", json={"token": world.token}), 409, "person.emigrated")
    neighbour = insured(ctx, admin, name="刘洋")  # a living person's card is untouched
    assert pay(client, world, 500, card(neighbour)).status_code == 201


def test_grants_to_and_from_the_dead_end_and_their_filing_ends(ctx, admin, client, world):
    mother = add_person(ctx, admin, name="王秀兰", username="mother", birth="19580101")
    son = insured(ctx, admin, name="张小明", username="son", birth="20100601")
    to_mother, _ = family.grant(ctx, actor=admin, owner_id=world.person.id, grantee_id=mother.id, relation="parent")
    from_son, _ = family.grant(ctx, actor=admin, owner_id=son.id, grantee_id=world.person.id, relation="parent")
    filing, _ = filings.file(ctx, actor=admin, person_id=world.person.id, type="temporary", reason="referral",
                             destination_region="310000")
    assert pay(client, world, 2_000, card(mother), owner=world.person.id).status_code == 201

    assert record(client, world.person.id, kind="death", date="2026-03-02").status_code == 201

    with ctx.engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(family_grants.c.id, family_grants.c.status)).all())
        filing_status = conn.execute(sa.select(tables.filings.c.status)
                                     .where(tables.filings.c.id == filing.id)).scalar_one()
    assert statuses == {to_mother.id: "revoked", from_son.id: "revoked"} and filing_status == "cancelled"
    ended = {(r.action, r.entity_id) for r in rows(ctx, audit_records)
             if r.action == "filing.end" or str((r.details or {}).get("reason", "")).startswith("life_event:")}
    assert ended == {("family_grant.revoke", to_mother.id), ("family_grant.revoke", from_son.id),
                     ("filing.end", filing.id)}
    before = written(ctx)
    # the mother's own card still pays her own account, never the dead son's
    assert_problem(pay(client, world, 2_000, card(mother), owner=world.person.id), 409, "person.deceased")
    assert_problem(pay(client, world, 2_000, card(world.person), owner=son.id), 409, "person.deceased")
    assert written(ctx) == before


def test_a_death_recorded_late_lists_the_settlements_after_it_for_review_and_never_rewrites_them(
        ctx, admin, client, world):
    first = pay(client, world, 3_000, world.code).json()
    second = pay(client, world, 4_000, card(world.person)).json()
    balance = client.get(f"{API}/accounts/{world.person.id}", headers=bearer(client, "reviewer-user")).json()

    r = record(client, world.person.id, kind="death", date="2026-02-27")  # died before those payments

    assert r.status_code == 201, r.text
    assert r.json()["late_settlements"] == [first["settlement_id"], second["settlement_id"]]
    shown = client.get(f"{API}/persons/{world.person.id}/life-events", headers=bearer(client, "reviewer-user"))
    assert shown.status_code == 200, shown.text
    [event] = shown.json()
    assert event["event_id"] == r.json()["event_id"] and event["date"] == "2026-02-27"
    assert [(s["settlement_id"], s["account_paid_fen"], s["credential_type"]) for s in event["settlements_since"]] == [
        (first["settlement_id"], 3_000, "evoucher"), (second["settlement_id"], 4_000, "card")]
    for sale in (first, second):  # untouched
        now = client.get(f"{API}/settlements/{sale['settlement_id']}", headers=bearer(client, "reviewer-user")).json()
        assert (now["status"], now["account_paid_fen"], now["refunded_fen"]) == ("settled", sale["account_paid_fen"], 0)
    after = client.get(f"{API}/accounts/{world.person.id}", headers=bearer(client, "reviewer-user")).json()
    assert after["balance_fen"] == balance["balance_fen"]


def test_contributions_for_months_after_the_death_are_refused_on_both_paths(ctx, admin, client, world, tmp_path):
    ctx.clock.set(dt.datetime(2026, 4, 10, 9, 0, tzinfo=SHANGHAI))
    assert record(client, world.person.id, kind="death", date="2026-02-15").status_code == 201
    february = contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2026-02",
                                    base_fen=2_500_000, employer_id=world.employer_id)
    assert february["credited_fen"] > 0  # the month of the death is still paid
    before = written(ctx)
    r = client.post(f"{API}/contributions", headers=bearer(client, "admin-user"), json={
        "person_id": world.person.id, "period": "2026-03", "base_fen": 2_500_000, "employer_id": world.employer_id})
    problem = assert_problem(r, 422, "contribution.after_life_event")
    assert problem["event_date"] == "2026-02-15" and "2026-03" in problem["message_en"]
    assert written(ctx) == before

    neighbour = insured(ctx, admin, name="刘洋")
    rows_file = tmp_path / "march.csv"
    rows_file.write_text(f"id_number,base_fen\n{world.person.id_number},2500000\n"
                         f"{neighbour.id_number},2500000\n", encoding="utf-8")
    summary = credit_file(ctx, actor=admin, path=rows_file, period="2026-03")
    assert (summary.credited, summary.rejected) == (1, 1)
    assert summary.reasons == {"contribution.after_life_event": 1}
    rejected = summary.rejected_path.read_text(encoding="utf-8")
    assert "contribution.after_life_event" in rejected and neighbour.id_number not in rejected


def test_the_settlement_answer_and_the_12333_answer_say_why(ctx, admin, client, world):
    life_events.record_event(ctx, actor=admin, person_id=world.person.id, kind="death", date=dt.date(2026, 3, 1))
    answer = client.post(f"{API}/policy/explain", headers=bearer(client, "reviewer-user"), json={
        "person_id": world.person.id, "action": "settle", "institution_code": PHARMACY, "amount_fen": 100}).json()
    assert (answer["allowed"], answer["code"]) == (False, "person.deceased")
    assert "死亡" in answer["answer_zh"]


def test_bad_life_events_are_refused_and_write_nothing(ctx, admin, client, world):
    paper = documents.upload(ctx, actor=admin, person_id=world.person.id, type="death_certificate", content=PDF)
    someone_elses = documents.upload(ctx, actor=admin, person_id=world.other.id, type="death_certificate",
                                     content=PDF)
    person_id = world.person.id
    before = count(ctx, audit_records)
    for body, status, code in [
        ({"kind": "divorce", "date": "2026-03-01"}, 422, "life_event.invalid"),
        ({"kind": "death", "date": "2026-03-03"}, 422, "life_event.invalid"),  # tomorrow
        ({"kind": "death", "date": "1985-03-11"}, 422, "life_event.invalid"),  # before the birth
        ({"kind": "death", "date": "2026-02-30"}, 422, "request.invalid"),
        ({"kind": "death", "date": "2026-03-01", "document_ids": [someone_elses.id]}, 422, "life_event.invalid"),
        ({"kind": "death", "date": "2026-03-01", "document_ids": ["doc_nothere"]}, 404, "document.not_found"),
    ]:
        problem = assert_problem(record(client, person_id, **body), status, code)
        assert world.person.id_number not in problem["detail"]
    assert_problem(record(client, "per_nobody", kind="death", date="2026-03-01"), 404, "person.not_found")
    assert_problem(record(client, person_id, "employee", kind="death", date="2026-03-01"), 403, "auth.forbidden")
    assert_problem(record(client, person_id, "auditor-user", kind="death", date="2026-03-01"), 403, "auth.forbidden")
    assert count(ctx, tables.life_events) == 0 and count(ctx, audit_records) == before

    first = record(client, person_id, kind="death", date="2026-03-01", document_ids=[paper.id])
    again = record(client, person_id, kind="death", date="2026-03-01", document_ids=[paper.id])
    assert first.status_code == again.status_code == 201
    assert again.json()["event_id"] == first.json()["event_id"] and again.json()["document_ids"] == [paper.id]
    recorded = [r for r in rows(ctx, audit_records) if r.action == "life_event.record"]
    assert len(recorded) == 1 and count(ctx, tables.life_events) == 1
    other = assert_problem(record(client, person_id, kind="emigration", date="2026-03-01"), 409,
                           "life_event.conflict")
    assert other["event_date"] == "2026-03-01" and "死亡" in other["message_zh"]
    assert_problem(record(client, person_id, kind="death", date="2026-02-01"), 409, "life_event.conflict")
    assert count(ctx, tables.life_events) == 1
