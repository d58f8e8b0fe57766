"""Channels from the session: where a case is brought, whether the person is there and whether someone acts for
them are the session's facts, not the body's. A person's own online session cannot pass a counter-only rule by
saying "counter, in person"; the counter, the person before it, can. A terminal acts for the person who proves
themselves on it with card and PIN. Whoever took a case in does not decide it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import API, PASSWORD, PIN, add_person, assert_problem, bearer, build_world, count, fund, new_bank_no
from yibao.domain.clock import SHANGHAI
from yibao.services.applications import documents
from yibao.services.credentials import auth, cards, evouchers
from yibao.services.registry import enrolment
from yibao.store.tables import application_steps, applications, audit_records

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
PDF = b"%PDF-1.4\n%%EOF\n"
EMIGRATION_PAPERS = ("emigration_proof", "id_card", "id_card_copy", "insurance_card", "bank_card")
HENAN_PAPERS = ("emigration_proof", "id_card", "id_card_copy", "bank_card")


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(NOW)
    made = build_world(ctx, admin)
    auth.add_user(ctx, actor=admin, username="reviewer-2", password=PASSWORD, role="reviewer")
    return made


def insured(ctx, admin, *, region: str, name: str):
    """A flexible-employment employee of the region with a card, a contribution credited and a bank account."""
    person = add_person(ctx, admin, name=name, region=region)
    enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, admin, person.id, months=4)
    evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=new_bank_no(),
                                  bank_name="中国工商银行", holder_name=name)
    return person


def papers(ctx, admin, person_id: str, types=EMIGRATION_PAPERS) -> list[str]:
    return [documents.upload(ctx, actor=admin, person_id=person_id, type=t, content=PDF).id for t in types]


def apply(client, headers, person_id: str, **body):
    return client.post(f"{API}/applications", headers=headers, json={"person_id": person_id, **body})


def emigration(person_id: str, document_ids: list[str], **more) -> dict:
    return {"kind": "withdrawal", "reason": "emigration", "amount_fen": 10_000, "document_ids": document_ids,
            **more}


def nothing_written(ctx, before: tuple[int, int]) -> bool:
    return (count(ctx, applications), count(ctx, application_steps)) == before


def test_a_persons_own_session_claiming_counter_in_person_is_refused_and_the_counter_takes_it(ctx, admin, client,
                                                                                            world):
    person = insured(ctx, admin, region="210200", name="赵磊")  # Dalian: emigration only at the counter or terminal
    me = bearer(client, person.username)
    docs = papers(ctx, admin, person.id)
    audits = count(ctx, audit_records)
    for claim in ({"channel": "counter", "in_person": True}, {"channel": "counter"}, {"in_person": True},
                  {"channel": "terminal"}, {"channel": "app"}):  # no app e-voucher: app is not this session's
        r = apply(client, me, person.id, **emigration(person.id, docs, **claim))
        body = assert_problem(r, 422, "application.channel_mismatch")
        assert body["field"] in claim and person.id_number not in r.text
    assert nothing_written(ctx, (0, 0)) and count(ctx, audit_records) == audits

    left_out = apply(client, me, person.id, **emigration(person.id, docs))  # the session's own channel: online
    refused = assert_problem(left_out, 422, "application.channel_not_allowed")
    assert refused["rules"][0]["rule_id"] == "dl.withdrawal.emigration" and "网上服务平台" in refused["message_zh"]
    assert nothing_written(ctx, (0, 0))

    counter = bearer(client, "counter-user")  # the legal path: the person in person at the agency's counter
    r = apply(client, counter, person.id, **emigration(person.id, docs))
    assert r.status_code == 201, r.text
    taken = r.json()
    assert (taken["status"], taken["channel"], taken["in_person"], taken["by_proxy"]) == (
        "submitted", "counter", True, False)
    assert taken["rule_id"] == "dl.withdrawal.emigration" and taken["history"][0]["actor"] == "counter-user"
    # an older client naming the same facts the session has is accepted
    again = apply(client, counter, person.id, **emigration(person.id, docs, channel="counter", in_person=True,
                                                          by_proxy=False))
    assert again.status_code == 201, again.text


def test_an_e_voucher_channel_is_the_persons_only_when_they_hold_such_an_e_voucher(ctx, admin, client, world):
    person = insured(ctx, admin, region="410000", name="王芳")  # Henan: counter, app or mini-program, no proxy
    me = bearer(client, person.username)
    docs = papers(ctx, admin, person.id, HENAN_PAPERS)
    case = emigration(person.id, docs, event_date="2026-01-15")
    assert_problem(apply(client, me, person.id, **case, channel="app"), 422, "application.channel_mismatch")
    assert_problem(apply(client, me, person.id, **case), 422, "application.channel_not_allowed")  # online
    assert nothing_written(ctx, (0, 0))

    evouchers.activate_evoucher(ctx, actor=admin, person_id=person.id, id_number=person.id_number,
                                  name=person.name, channel="app")
    assert_problem(apply(client, me, person.id, **case, channel="miniprogram"), 422, "application.channel_mismatch")
    assert_problem(apply(client, me, person.id, **case, channel="app", by_proxy=True), 422,
                   "application.channel_mismatch")  # their own session acts for themselves
    r = apply(client, me, person.id, **case, channel="app")
    assert r.status_code == 201, r.text
    assert (r.json()["channel"], r.json()["in_person"], r.json()["by_proxy"]) == ("app", False, False)


def test_staff_say_when_a_proxy_stands_at_the_counter_and_cannot_claim_another_channel(ctx, admin, client, world):
    person = insured(ctx, admin, region="410000", name="李强")
    docs = papers(ctx, admin, person.id, HENAN_PAPERS)
    counter = bearer(client, "counter-user")
    case = emigration(person.id, docs, event_date="2026-01-15")
    proxy = apply(client, counter, person.id, **case, by_proxy=True)  # 代办: the person is absent
    body = assert_problem(proxy, 422, "application.in_person_required")
    assert body["rules"][0]["rule_id"] == "hn.withdrawal.emigration"
    assert_problem(apply(client, counter, person.id, **case, in_person=False), 422, "application.in_person_required")
    for claim in ({"channel": "online"}, {"channel": "app"}, {"in_person": True, "by_proxy": True},
                  {"in_person": False, "by_proxy": False}):
        assert_problem(apply(client, counter, person.id, **case, **claim), 422, "application.channel_mismatch")
    for role in ("unit-user", "institution-user", "collector-user", "auditor-user"):
        assert_problem(apply(client, bearer(client, role), person.id, **case), 403, "auth.forbidden")
    assert nothing_written(ctx, (0, 0))
    r = apply(client, counter, person.id, **case)
    assert r.status_code == 201 and r.json()["in_person"] is True, r.text


def test_a_terminal_acts_for_the_person_who_proves_themselves_with_card_and_pin(ctx, admin, client, world):
    person = insured(ctx, admin, region="210200", name="孙丽")
    other = insured(ctx, admin, region="210200", name="钱多")
    docs = papers(ctx, admin, person.id)
    terminal = bearer(client, "terminal-user")
    card = {"type": "card", "card_no": person.card_no, "pin": PIN}

    assert_problem(apply(client, terminal, person.id, **emigration(person.id, docs)), 403, "auth.forbidden")
    wrong = apply(client, terminal, person.id, **emigration(person.id, docs, credential={**card, "pin": "135790"}))
    assert assert_problem(wrong, 422, "card.pin_wrong")["tries_left"] >= 1 and "135790" not in wrong.text
    assert_problem(apply(client, terminal, other.id, **emigration(other.id, docs, credential=card)), 403,
                   "auth.forbidden")  # one person's card does not apply for another's account
    assert_problem(apply(client, terminal, person.id, **emigration(person.id, docs, credential=card,
                                                                 applicant_id=other.id)),
                   422, "application.channel_mismatch")
    assert_problem(apply(client, terminal, person.id, **emigration(person.id, docs, credential=card,
                                                                 channel="counter")),
                   422, "application.channel_mismatch")
    assert nothing_written(ctx, (0, 0))

    r = apply(client, terminal, person.id, **emigration(person.id, docs, credential=card))
    assert r.status_code == 201, r.text
    filed = r.json()
    assert (filed["channel"], filed["in_person"], filed["by_proxy"], filed["applicant_id"]) == (
        "terminal", True, False, person.id)
    assert filed["rule_id"] == "dl.withdrawal.emigration"
    # the machine shows its receipt once; afterwards the person reads their case in their own session
    assert_problem(client.get(f"{API}/applications/{filed['application_id']}", headers=terminal), 403)
    mine = client.get(f"{API}/applications/{filed['application_id']}", headers=bearer(client, person.username))
    assert mine.json()["status"] == "submitted"
    [found] = cards.list_cards(ctx, actor=admin, person_id=person.id)
    assert found.pin_failures == 0  # the right PIN cleared the wrong one


def test_a_draft_is_decided_by_the_channel_of_the_session_that_submits_it(ctx, admin, client, world):
    person = insured(ctx, admin, region="210200", name="周到")
    me = bearer(client, person.username)
    docs = papers(ctx, admin, person.id)
    draft = apply(client, me, person.id, **emigration(person.id, docs, draft=True))
    assert draft.status_code == 201 and draft.json()["channel"] == "online", draft.text
    draft_id = draft.json()["application_id"]
    online = client.post(f"{API}/applications/{draft_id}/submit", headers=me)
    assert_problem(online, 422, "application.channel_not_allowed")
    r = client.post(f"{API}/applications/{draft_id}/submit", headers=bearer(client, "counter-user"))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["channel"], r.json()["in_person"]) == ("submitted", "counter", True)


def test_a_reviewer_does_not_decide_a_case_they_took_in_another_reviewer_does(ctx, admin, client, world):
    person = insured(ctx, admin, region="210200", name="郑重")
    docs = papers(ctx, admin, person.id)
    reviewer = bearer(client, "reviewer-user")
    r = apply(client, reviewer, person.id, **emigration(person.id, docs))  # at the counter, the person there
    assert r.status_code == 201 and r.json()["channel"] == "counter", r.text
    app_id = r.json()["application_id"]
    steps, audits = count(ctx, application_steps), count(ctx, audit_records)
    for action in ({"action": "approve"}, {"action": "reject", "note": "材料不符"},
                   {"action": "request_supplement", "note": "补照片", "missing": ["photo"]}):
        same = client.post(f"{API}/applications/{app_id}/review", headers=reviewer, json=action)
        assert_problem(same, 409, "application.same_hands")
    assert (count(ctx, application_steps), count(ctx, audit_records)) == (steps, audits)
    assert client.get(f"{API}/applications/{app_id}", headers=reviewer).json()["status"] == "submitted"

    other = client.post(f"{API}/applications/{app_id}/review", headers=bearer(client, "reviewer-2"),
                        json={"action": "approve", "note": "材料齐全"})
    assert other.status_code == 200, other.text
    assert other.json()["status"] == "approved"
    actors = [(h["action"], h["actor"]) for h in other.json()["history"]]
    assert actors == [("submit", "reviewer-user"), ("start_review", "reviewer-2"), ("approve", "reviewer-2")]


def test_a_counter_clerk_takes_cases_in_but_does_not_decide_them(ctx, admin, client, world):
    person = insured(ctx, admin, region="210200", name="冯静")
    docs = papers(ctx, admin, person.id)
    counter = bearer(client, "counter-user")
    app_id = apply(client, counter, person.id, **emigration(person.id, docs)).json()["application_id"]
    assert_problem(client.post(f"{API}/applications/{app_id}/review", headers=counter, json={"action": "approve"}),
                   403, "auth.forbidden")
    r = client.post(f"{API}/applications/{app_id}/review", headers=bearer(client, "reviewer-user"),
                    json={"action": "approve"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
