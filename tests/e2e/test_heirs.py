"""Heirs (继承人支取): a death-case withdrawal needs the death on record; the heir applies with their own ID
number, name, relation and proof of inheritance; the whole balance is paid once, to the heir's own bank
account, and the account then closes."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import API, PDF, add_person, assert_problem, bank_return, bearer, count, fund, new_bank_no
from yibao.domain.clock import SHANGHAI
from yibao.services.applications import disbursement
from yibao.services.credentials import evouchers
from yibao.services.registry import enrolment, life_events
from yibao.store.tables import applications, audit_records, holds, notices

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
DALIAN_DEATH = ("death_certificate", "heir_proof", "id_card", "id_card_copy", "insurance_card", "bank_card")


def insured(ctx, admin, *, name: str, region: str = "210200", bank: bool = True, username: str | None = None,
            birth: str = "19850312"):
    person = add_person(ctx, admin, name=name, region=region, card=False, username=username, birth=birth)
    enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, admin, person.id, months=4)
    if bank:
        evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=new_bank_no(),
                                      bank_name="中国工商银行", holder_name=name)
    return person


@pytest.fixture
def family(ctx, admin, client):
    """孙建国 (Dalian, no bank account of his own) and his daughter 孙丽, with agency staff."""
    from yibao.services.credentials import auth

    ctx.clock.set(NOW)
    for username, role in (("counter-1", "counter"), ("reviewer-1", "reviewer"), ("admin-1", "admin")):
        auth.add_user(ctx, actor=admin, username=username, password="correct-horse-9", role=role)
    father = insured(ctx, admin, name="孙建国", bank=False, birth="19560708")
    daughter = insured(ctx, admin, name="孙丽")
    return father, daughter


def upload(client, headers, person_id: str, *types: str) -> list[str]:
    ids = []
    for type in types:
        r = client.post(f"{API}/documents", headers=headers, data={"type": type, "person_id": person_id},
                        files={"file": ("scan.pdf", PDF, "application/pdf")})
        assert r.status_code == 201, r.text
        ids.append(r.json()["document_id"])
    return ids


def apply(client, headers, deceased, applicant, *, docs: list[str], **body):
    payload = {"person_id": deceased.id, "applicant_id": applicant.id, "kind": "withdrawal", "reason": "death",
               "document_ids": docs,  # channel and presence: the session's
               "heir": {"id_number": applicant.id_number, "name": applicant.name, "relation": "child"}}
    return client.post(f"{API}/applications", headers=headers, json={**payload, **body})


def account(client, person_id: str) -> dict:
    return client.get(f"{API}/accounts/{person_id}", headers=bearer(client, "reviewer-1")).json()


def test_a_death_case_for_a_living_person_is_refused_and_writes_nothing(ctx, admin, client, family):
    father, daughter = family
    me = bearer(client, daughter.username)
    docs = upload(client, me, daughter.id, *DALIAN_DEATH)
    before = (count(ctx, applications), count(ctx, audit_records), count(ctx, notices))
    for headers in (me, bearer(client, "counter-1")):
        problem = assert_problem(apply(client, headers, father, daughter, docs=docs), 422,
                                 "application.person_not_deceased")
        assert "死亡" in problem["message_zh"] and father.id_number not in problem["detail"]
    not_a_death_case = apply(client, me, daughter, daughter, docs=docs, reason="emigration", amount_fen=100)
    assert_problem(not_a_death_case, 422, "application.invalid")  # an heir goes with a death case only
    assert (count(ctx, applications), count(ctx, audit_records), count(ctx, notices)) == before
    told = client.post(f"{API}/policy/explain", headers=bearer(client, "counter-1"), json={
        "person_id": father.id, "action": "withdraw", "reason": "death"}).json()
    assert (told["allowed"], told["code"]) == (False, "application.person_not_deceased")


def test_the_heir_is_paid_the_whole_balance_once_to_her_own_account_and_the_account_closes(
        ctx, admin, client, family):
    father, daughter = family
    owed = account(client, father.id)["balance_fen"]
    hers = account(client, daughter.id)["balance_fen"]
    died = client.post(f"{API}/persons/{father.id}/life-events", headers=bearer(client, "counter-1"),
                       json={"kind": "death", "date": "2026-02-20"})
    assert died.status_code == 201, died.text
    me = bearer(client, daughter.username)
    docs = upload(client, me, daughter.id, *DALIAN_DEATH)
    online = apply(client, me, father, daughter, docs=docs)  # Dalian takes a death case at the counter only
    assert_problem(online, 422, "application.channel_not_allowed")
    desk = bearer(client, "counter-1")

    r = apply(client, desk, father, daughter, docs=docs)  # the heir at the counter; no amount: the whole balance

    assert r.status_code == 201, r.text
    app = r.json()
    assert (app["status"], app["amount_fen"], app["applicant_id"], app["event_date"]) == (
        "submitted", owed, daughter.id, "2026-02-20")
    again = apply(client, desk, father, daughter, docs=docs)
    assert assert_problem(again, 409, "application.death_case_exists")["application_id"] == app["application_id"]
    approved = client.post(f"{API}/applications/{app['application_id']}/review", headers=bearer(client, "reviewer-1"),
                           json={"action": "approve", "note": "材料齐全"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_fen"] == owed

    [batch], _ = disbursement.make_batches(ctx, actor=admin)
    [line] = batch.lines
    [bank] = evouchers.list_bank_accounts(ctx, actor=admin, person_id=daughter.id)
    assert (line["payee_name"], line["account_no"], line["amount_fen"]) == ("孙丽", bank.account_no, owed)
    disbursement.apply_returns(ctx, actor=admin, batch_id=batch.batch_id, content=bank_return(ctx, batch.file_id))

    assert account(client, father.id)["balance_fen"] == 0
    assert account(client, daughter.id)["balance_fen"] == hers  # paid to her bank, not into her account
    [event] = client.get(f"{API}/persons/{father.id}/life-events", headers=bearer(client, "reviewer-1")).json()
    assert event["account_closed_at"] is not None and event["closing_application_id"] == app["application_id"]
    closed = assert_problem(apply(client, desk, father, daughter, docs=docs), 409, "account.closed")
    assert "注销" in closed["message_zh"]
    assert_problem(client.post(f"{API}/contributions", headers=bearer(client, "admin-1"), json={
        "person_id": father.id, "period": "2026-02", "base_fen": 2_500_000}), 409, "account.closed")
    assert count(ctx, holds) == 1  # the payout's hold, captured; nothing since


def test_the_heir_must_be_who_she_says_with_her_own_proof(ctx, admin, client, family):
    father, daughter = family
    life_events.record_event(ctx, actor=admin, person_id=father.id, kind="death", date=dt.date(2026, 2, 20))
    desk = bearer(client, "counter-1")
    docs = upload(client, desk, daughter.id, *DALIAN_DEATH)
    stranger = insured(ctx, admin, name="李娜")
    before = count(ctx, applications)
    cases = [
        ({"heir": {"id_number": stranger.id_number, "name": daughter.name, "relation": "child"}},
         "application.heir_mismatch"),
        ({"heir": {"id_number": daughter.id_number, "name": "孙莉", "relation": "child"}}, "application.heir_mismatch"),
        ({"heir": {"id_number": daughter.id_number, "name": daughter.name, "relation": "friend"}},
         "application.invalid"),
        ({"heir": None}, "application.heir_required"),
        ({"applicant_id": father.id}, "application.heir_required"),
        ({"amount_fen": 100}, "application.invalid"),  # a death case pays the whole balance, not part of it
    ]
    for body, code in cases:
        problem = assert_problem(apply(client, desk, father, daughter, docs=docs, **body), 422, code)
        assert daughter.id_number not in problem["detail"] and stranger.id_number not in problem["detail"]
    # the proof of inheritance must be the heir's: the father's own does not count
    his = upload(client, desk, father.id, "heir_proof")
    theirs = [d for d, t in zip(docs, DALIAN_DEATH, strict=True) if t != "heir_proof"] + his
    missing = assert_problem(apply(client, desk, father, daughter, docs=theirs), 422, "application.documents_missing")
    assert missing["missing"] == ["heir_proof"]
    assert count(ctx, applications) == before


def test_henan_wants_the_heir_in_person_not_the_deceased(ctx, admin, client, family):
    father = insured(ctx, admin, name="王建军", region="410000", bank=False, birth="19520411")
    son = insured(ctx, admin, name="王磊", region="410000")
    life_events.record_event(ctx, actor=admin, person_id=father.id, kind="death", date=dt.date(2026, 2, 1))
    docs = upload(client, bearer(client, "counter-1"), son.id, "death_certificate", "heir_proof", "id_card",
                  "id_card_copy", "bank_card")
    # a proxy stands at the counter for the heir, who is absent
    r = apply(client, bearer(client, "counter-1"), father, son, docs=docs, in_person=False, by_proxy=True,
              heir={"id_number": son.id_number, "name": son.name, "relation": "child"})
    problem = assert_problem(r, 422, "application.in_person_required")
    assert "继承人本人" in problem["message_zh"] and "heir must apply in person" in problem["message_en"]
    told = client.post(f"{API}/policy/explain", headers=bearer(client, "counter-1"), json={
        "person_id": father.id, "action": "withdraw", "reason": "death"}).json()
    assert told["allowed"] is True and "须由继承人本人办理，不可代办" in told["answer_zh"]
    ok = apply(client, bearer(client, "counter-1"), father, son, docs=docs,
               heir={"id_number": son.id_number, "name": son.name, "relation": "child"})
    assert ok.status_code == 201, ok.text


def test_whoever_recorded_the_death_does_not_approve_its_payout(ctx, admin, client, family):
    father, daughter = family
    recorder = bearer(client, "reviewer-1")
    assert client.post(f"{API}/persons/{father.id}/life-events", headers=recorder,
                       json={"kind": "death", "date": "2026-02-20"}).status_code == 201
    desk = bearer(client, "counter-1")
    app = apply(client, desk, father, daughter, docs=upload(client, desk, daughter.id, *DALIAN_DEATH)).json()
    review = f"{API}/applications/{app['application_id']}/review"

    assert_problem(client.post(review, headers=recorder, json={"action": "approve", "note": "材料齐全"}), 409,
                   "application.same_hands")
    assert client.get(f"{API}/applications/{app['application_id']}", headers=recorder).json()["status"] == "submitted"
    approved = client.post(review, headers=bearer(client, "admin-1"), json={"action": "approve", "note": "材料齐全"})
    assert approved.status_code == 200, approved.text


def test_a_stated_relation_the_records_contradict_is_refused(ctx, admin, client, family):
    father, daughter = family
    life_events.record_event(ctx, actor=admin, person_id=father.id, kind="death", date=dt.date(2026, 2, 20))
    desk = bearer(client, "counter-1")
    docs = upload(client, desk, daughter.id, *DALIAN_DEATH)
    before = count(ctx, applications)
    as_parent = {"heir": {"id_number": daughter.id_number, "name": daughter.name, "relation": "parent"}}

    problem = assert_problem(apply(client, desk, father, daughter, docs=docs, **as_parent), 422,
                             "application.heir_relation_implausible")  # born 29 years after him, not before

    assert daughter.id_number not in problem["detail"] and count(ctx, applications) == before
    assert apply(client, desk, father, daughter, docs=docs).status_code == 201  # as his child
