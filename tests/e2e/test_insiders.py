"""Insiders cannot cheat: four eyes on intake and approval, the person told of every bank-account change and an
approved payout reviewed again when its account changes, no bare reversal of an entry a record owns, a second
admin for any other, lapsed holds not counted, and a demo with staff enough for every four-eyes path."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import (
    API,
    PASSWORD,
    PDF,
    PIN,
    assert_problem,
    bank_return,
    bearer,
    build_world,
    fund,
    ledger_capture,
    ledger_hold,
    new_bank_no,
    row_counts,
)
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases, cash_vouchers
from yibao.services.credentials import auth
from yibao.services.settlement import payments

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
CLAIM_DOCUMENTS = ("medical_invoice", "expense_list", "diagnosis", "id_card", "bank_card")
_numbers = iter(range(1, 10_000))


@pytest.fixture
def world(ctx, admin, client):
    ctx.clock.set(NOW)
    world = build_world(ctx, admin)
    fund(ctx, admin, world.person.id, months=2)
    for username, role in (("reviewer-2", "reviewer"), ("admin-2", "admin")):
        auth.add_user(ctx, actor=admin, username=username, password=PASSWORD, role=role)
    return world


def upload(client, headers, person_id: str, type: str) -> str:
    r = client.post(f"{API}/documents", headers=headers, data={"type": type, "person_id": person_id},
                    files={"file": ("scan.pdf", PDF, "application/octet-stream")})
    assert r.status_code == 201, r.text
    return r.json()["document_id"]


def claim(client, headers, world, document_ids: list[str], **more):
    day = (NOW.date() - dt.timedelta(days=10)).isoformat()
    invoice = {"number": f"INS-{next(_numbers)}", "issuer": world.institution_code, "date": day,
               "items": [{"category": "drug", "amount_fen": 3_000}]}
    return client.post(f"{API}/applications", headers=headers, json={
        "person_id": world.person.id, "kind": "reimbursement", "reason": "cross_region", "amount_fen": 3_000,
        "event_date": day, "invoices": [invoice], "document_ids": document_ids, **more})


def review(client, headers, application_id: str, action: str = "approve", **more):
    return client.post(f"{API}/applications/{application_id}/review", headers=headers,
                       json={"action": action, **more})


def link(client, headers, person_id: str, *, primary: bool | None = None):
    body = {"person_id": person_id, "account_no": new_bank_no(), "bank_name": "中国建设银行", "holder_name": "张伟"}
    if primary is not None:
        body["primary"] = primary
    r = client.post(f"{API}/bank-accounts", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def status_of(client, headers, application_id: str) -> dict:
    r = client.get(f"{API}/applications/{application_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def notices(client, headers, person_id: str, kind: str) -> list[dict]:
    r = client.get(f"{API}/persons/{person_id}/notices", headers=headers)
    assert r.status_code == 200, r.text
    return [n for n in r.json() if n["kind"] == kind]


# --- intake vs approval ---------------------------------------------------------------------------------------


def test_a_reviewer_who_took_the_papers_and_chose_the_account_cannot_approve_a_second_reviewer_can(
        ctx, client, world):
    dishonest = bearer(client, "reviewer-user")
    person = world.person.id
    papers = [upload(client, dishonest, person, t) for t in CLAIM_DOCUMENTS]
    mine = link(client, dishonest, person, primary=True)  # an account "he controls", in the person's name
    r = claim(client, dishonest, world, papers)
    assert r.status_code == 201, r.text
    application_id = r.json()["application_id"]
    before = row_counts(ctx)

    assert_problem(review(client, dishonest, application_id), 409, "application.same_hands")
    assert row_counts(ctx) == before

    second = bearer(client, "reviewer-2")
    approved = review(client, second, application_id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    owner = bearer(client, "employee")
    told = notices(client, owner, person, "bank_account")
    assert any(n["data"]["bank_account_id"] == mine["bank_account_id"] and n["data"]["by"] == "reviewer-user"
               for n in told), told


def test_uploading_the_papers_alone_or_choosing_the_account_alone_keeps_a_reviewer_off_the_case(
        ctx, client, world):
    person, counter = world.person.id, bearer(client, "counter-user")
    uploader, chooser = bearer(client, "reviewer-user"), bearer(client, "reviewer-2")
    papers = [upload(client, counter, person, t) for t in CLAIM_DOCUMENTS[:-1]]
    papers.append(upload(client, uploader, person, CLAIM_DOCUMENTS[-1]))  # one paper is enough
    link(client, chooser, person, primary=True)
    application_id = claim(client, counter, world, papers).json()["application_id"]
    before = row_counts(ctx)

    assert_problem(review(client, uploader, application_id), 409, "application.same_hands")
    assert_problem(review(client, chooser, application_id), 409, "application.same_hands")
    assert row_counts(ctx) == before
    assert review(client, bearer(client, "admin-user"), application_id).json()["status"] == "approved"


# --- bank-account changes --------------------------------------------------------------------------------------


def _approved(client, world) -> str:
    counter = bearer(client, "counter-user")
    papers = [upload(client, counter, world.person.id, t) for t in CLAIM_DOCUMENTS]
    application_id = claim(client, counter, world, papers).json()["application_id"]
    assert review(client, bearer(client, "reviewer-user"), application_id).json()["status"] == "approved"
    return application_id


def test_every_bank_account_change_is_told_to_the_person_with_who_made_it(ctx, client, world):
    person, owner, counter = world.person.id, bearer(client, "employee"), bearer(client, "counter-user")
    first = notices(client, owner, person, "bank_account")
    second = link(client, owner, person)  # not primary: the first one stays
    r = client.post(f"{API}/bank-accounts/{second['bank_account_id']}/primary", headers=counter)
    assert r.status_code == 200, r.text
    again = client.post(f"{API}/bank-accounts/{second['bank_account_id']}/primary", headers=counter)
    assert again.status_code == 200  # already primary: nothing changes, nobody is told twice
    r = client.delete(f"{API}/bank-accounts/{second['bank_account_id']}", headers=owner)
    assert r.status_code == 200, r.text

    told = notices(client, owner, person, "bank_account")[: -len(first) or None]
    changes = sorted((n["data"]["change"], n["data"]["by"]) for n in told)
    assert changes == [("link", "employee"), ("primary", "counter-user"), ("unlink", "employee")]
    tail = second["account_no"][-4:]
    assert all(n["data"]["account_tail"] == tail for n in told)
    made_primary = next(n for n in told if n["data"]["change"] == "primary")
    assert "counter-user" in made_primary["body_en"] and tail in made_primary["body_zh"]
    assert second["account_no"] not in str(told)  # the number is never shown in full


def test_a_primary_account_switched_after_approval_sends_the_case_back_to_review(ctx, client, world):
    application_id = _approved(client, world)
    switcher = bearer(client, "reviewer-2")
    new = link(client, switcher, world.person.id, primary=True)

    view = status_of(client, bearer(client, "admin-user"), application_id)
    assert view["status"] == "under_review"
    step = view["history"][-1]
    assert (step["action"], step["actor"], step["from_status"], step["to_status"]) == (
        "reopen", "reviewer-2", "approved", "under_review")
    assert step["note"]
    owner = bearer(client, "employee")
    [told] = [n for n in notices(client, owner, world.person.id, "bank_account")
              if n["data"]["bank_account_id"] == new["bank_account_id"]]
    assert told["data"]["reopened"] == [application_id]
    # whoever switched the account does not approve it again; another reviewer does
    assert_problem(review(client, switcher, application_id), 409, "application.same_hands")
    assert review(client, bearer(client, "reviewer-user"), application_id).json()["status"] == "approved"


def test_a_change_that_leaves_the_primary_account_alone_leaves_the_approval_alone(ctx, client, world):
    application_id = _approved(client, world)
    owner = bearer(client, "employee")
    other = link(client, owner, world.person.id)  # a second account, not primary
    client.delete(f"{API}/bank-accounts/{other['bank_account_id']}", headers=owner)
    assert status_of(client, owner, application_id)["status"] == "approved"


def test_unlinking_the_primary_account_of_an_approved_payout_reopens_it(ctx, client, world):
    application_id = _approved(client, world)
    owner = bearer(client, "employee")
    link(client, owner, world.person.id)  # where the money would go once the first is gone
    [primary] = [a for a in client.get(f"{API}/persons/{world.person.id}/bank-accounts", headers=owner).json()
                 if a["primary"]]
    assert client.delete(f"{API}/bank-accounts/{primary['bank_account_id']}", headers=owner).status_code == 200
    assert status_of(client, owner, application_id)["status"] == "under_review"


# --- corrections ----------------------------------------------------------------------------------------------


def reverse(client, headers, entry_id: str, reason: str = "录入错误"):
    return client.post(f"{API}/entries/{entry_id}/reverse", headers=headers, json={"reason": reason})


def _sale(ctx, world, amount_fen: int = 5_000, key: str = "ins-sale") -> dict:
    return payments.settle(ctx, actor=Actor(username="institution-user", role=Role.INSTITUTION,
                                              institution_code=world.institution_code),
                             idempotency_key=key, institution_code=world.institution_code,
                             credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                             items=[{"category": "drug", "amount_fen": amount_fen}])


def _entry_of(client, headers, person_id: str, kind: str) -> str:
    lines = client.get(f"{API}/accounts/{person_id}/entries", headers=headers).json()["entries"]
    return [line["entry_id"] for line in lines if line["kind"] == kind][-1]


def test_a_settlements_entry_is_not_reversed_a_refund_corrects_it_once(ctx, client, world):
    admin = bearer(client, "admin-user")
    sale = _sale(ctx, world)
    balance = client.get(f"{API}/accounts/{world.person.id}", headers=admin).json()["balance_fen"]
    entry_id = _entry_of(client, admin, world.person.id, "settlement")
    before = row_counts(ctx)

    problem = assert_problem(reverse(client, admin, entry_id), 409, "entry.owned_by_record")
    assert (problem["record_kind"], problem["record_id"]) == ("settlement", sale["settlement_id"])
    assert row_counts(ctx) == before

    pharmacy = bearer(client, "institution-user")
    refund = client.post(f"{API}/settlements/{sale['settlement_id']}/refund", headers=pharmacy,
                         json={"idempotency_key": "ins-refund", "amount_fen": sale["account_paid_fen"]})
    assert refund.status_code == 200, refund.text
    after = client.get(f"{API}/accounts/{world.person.id}", headers=admin).json()["balance_fen"]
    assert after == balance + sale["account_paid_fen"]  # credited once: the reversal did not credit it first
    refund_entry = _entry_of(client, admin, world.person.id, "refund")
    problem = assert_problem(reverse(client, admin, refund_entry), 409, "entry.owned_by_record")
    assert (problem["record_kind"], problem["record_id"]) == ("refund", refund.json()["refund_id"])


def test_a_contributions_entry_is_not_reversed(ctx, client, world):
    admin = bearer(client, "admin-user")
    entry_id = _entry_of(client, admin, world.person.id, "contribution")
    before = row_counts(ctx)
    problem = assert_problem(reverse(client, admin, entry_id), 409, "entry.owned_by_record")
    assert (problem["record_kind"], problem["record_id"]) == ("contribution", entry_id)
    assert row_counts(ctx) == before


def test_a_paid_payouts_entry_is_not_reversed(ctx, admin, client, world):
    counter = bearer(client, "counter-user")
    papers = [upload(client, counter, world.person.id, t) for t in CLAIM_DOCUMENTS]
    r = claim(client, counter, world, papers, payout="cash_voucher", institution_code=world.institution_code)
    application_id = r.json()["application_id"]
    approved = review(client, bearer(client, "reviewer-user"), application_id).json()
    assert approved["status"] == "disbursing"  # a cash voucher is issued, and its amount held, at once
    code = cases.get(ctx, actor=admin, application_id=application_id).cash_voucher.code
    cash_vouchers.redeem(ctx, actor=Actor(username="institution-user", role=Role.INSTITUTION,
                                          institution_code=world.institution_code), code=code,
                         institution_code=world.institution_code,
                         credential={"type": "card", "card_no": world.person.card_no, "pin": PIN})
    staff = bearer(client, "admin-user")
    assert status_of(client, staff, application_id)["status"] == "paid"
    entry_id = _entry_of(client, staff, world.person.id, "hold_capture")
    before = row_counts(ctx)

    problem = assert_problem(reverse(client, staff, entry_id), 409, "entry.owned_by_record")
    assert (problem["record_kind"], problem["record_id"]) == ("payout", application_id)
    assert row_counts(ctx) == before
    assert status_of(client, staff, application_id)["status"] == "paid"


def test_any_other_reversal_needs_a_second_admin(ctx, client, world):
    person = world.person.id
    hold = ledger_hold(ctx, person, 1_234, purpose="manual")  # a free-form debit of old days: no record owns it
    entry = ledger_capture(ctx, hold.id)
    first, second = bearer(client, "admin-user"), bearer(client, "admin-2")
    balance = client.get(f"{API}/accounts/{person}", headers=first).json()["balance_fen"]
    assert_problem(reverse(client, bearer(client, "reviewer-user"), entry.id), 403, "auth.forbidden")

    asked = reverse(client, first, entry.id, "误扣款")
    assert asked.status_code == 202, asked.text
    pending = asked.json()
    assert pending == {"reversal_id": pending["reversal_id"], "status": "pending", "entry_id": entry.id}
    again = reverse(client, first, entry.id, "误扣款")
    assert again.status_code == 202 and again.json()["reversal_id"] == pending["reversal_id"]
    assert client.get(f"{API}/accounts/{person}", headers=first).json()["balance_fen"] == balance
    queue = client.get(f"{API}/reversals", headers=bearer(client, "auditor-user")).json()
    assert [(q["reversal_id"], q["requested_by"]) for q in queue] == [(pending["reversal_id"], "admin-user")]

    before = row_counts(ctx)
    approve = f"{API}/reversals/{pending['reversal_id']}/approve"
    assert_problem(client.post(approve, headers=first, json={}), 409, "reversal.same_hands")
    assert row_counts(ctx) == before

    r = client.post(approve, headers=second, json={"note": "核实为误扣"})
    assert r.status_code == 201, r.text
    assert r.json()["reverses_id"] == entry.id and r.json()["kind"] == "reversal"
    assert client.get(f"{API}/accounts/{person}", headers=first).json()["balance_fen"] == balance + 1_234
    assert_problem(client.post(approve, headers=second, json={}), 409, "reversal.already_decided")
    assert_problem(reverse(client, first, entry.id), 409, "entry.already_reversed")
    [done] = client.get(f"{API}/reversals", headers=first, params={"status": "approved"}).json()
    assert (done["requested_by"], done["decided_by"], done["reversal_entry_id"]) == (
        "admin-user", "admin-2", r.json()["entry_id"])


def test_a_second_admin_may_reject_a_reversal_saying_why(ctx, client, world):
    hold = ledger_hold(ctx, world.person.id, 500, purpose="manual")
    entry = ledger_capture(ctx, hold.id)
    first, second = bearer(client, "admin-user"), bearer(client, "admin-2")
    pending = reverse(client, first, entry.id).json()
    reject = f"{API}/reversals/{pending['reversal_id']}/reject"
    assert_problem(client.post(reject, headers=second, json={"note": ""}), 422, "application.note_required")
    assert_problem(client.post(reject, headers=first, json={"note": "撤回"}), 409, "reversal.same_hands")
    r = client.post(reject, headers=second, json={"note": "扣款有据"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"], r.json()["note"]) == ("rejected", "admin-2", "扣款有据")
    again = reverse(client, first, entry.id)  # asked again later: a new request, pending
    assert again.status_code == 202 and again.json()["reversal_id"] != pending["reversal_id"]


# --- lapsed holds ---------------------------------------------------------------------------------------------


def test_a_lapsed_hold_keeps_nothing_back_from_a_settlement(ctx, client, world):
    person = world.person.id
    staff = bearer(client, "admin-user")
    balance = client.get(f"{API}/accounts/{person}", headers=staff).json()["balance_fen"]
    ledger_hold(ctx, person, balance - 100, minutes=5, purpose="manual")
    ctx.clock.set(NOW + dt.timedelta(minutes=10))  # the hold's time is up; no job has released it yet

    sale = _sale(ctx, world, amount_fen=5_000, key="ins-lapsed")
    assert sale["account_paid_fen"] == 5_000  # not the 100 a counted lapsed hold would have left
    view = client.get(f"{API}/accounts/{person}", headers=staff).json()
    assert (view["balance_fen"], view["held_fen"]) == (balance - 5_000, 0)


def test_a_live_hold_still_keeps_its_amount_back(ctx, client, world):
    person = world.person.id
    staff = bearer(client, "admin-user")
    balance = client.get(f"{API}/accounts/{person}", headers=staff).json()["balance_fen"]
    ledger_hold(ctx, person, balance - 100, minutes=60, purpose="manual")
    sale = _sale(ctx, world, amount_fen=5_000, key="ins-live")
    assert sale["account_paid_fen"] == 100


# --- the demo ------------------------------------------------------------------------------------------------


def test_the_demo_ships_staff_for_every_four_eyes_path(ctx):
    from yibao.services import demo

    summary = demo.load(ctx)
    roles = [role for _, role, _ in summary.users]
    assert roles.count("reviewer") >= 2 and roles.count("admin") >= 2 and roles.count("counter") >= 1
    assert {"reviewer2", "admin2"} <= {u for u, _, _ in summary.users}


def test_the_demo_is_living_money_in_payments_made_and_a_claim_for_the_next_hand(ctx, client):
    """The demo's accounts hold a history of collected months; one claim waits for review, another, taken in at
    the counter and approved by a reviewer, waits for a second reviewer's bank file, which the bank pays."""
    from yibao.services import demo

    demo.load(ctx)
    zhangwei = bearer(client, "zhangwei", demo.DEMO_PASSWORD)
    person_id = client.get(f"{API}/me", headers=zhangwei).json()["person_id"]
    statement = client.get(f"{API}/accounts/{person_id}/entries", headers=zhangwei).json()
    kinds = [line["kind"] for line in statement["entries"]]
    assert kinds.count("contribution") >= 12 and kinds.count("settlement") == 4  # one by his mother, on his account
    assert statement["closing_balance_fen"] > 0
    reviewer2 = bearer(client, "reviewer2", demo.DEMO_PASSWORD)
    waiting = client.get(f"{API}/applications", headers=reviewer2).json()
    assert [a["status"] for a in waiting] == ["submitted"]
    made = client.post(f"{API}/disbursements/batches", headers=reviewer2)
    assert made.status_code == 201, made.text
    paid = client.post(f"{API}/disbursements/batches/{made.json()['batch_id']}/returns", headers=reviewer2,
                       content=bank_return(ctx, made.json()["file_id"]))
    assert paid.status_code == 200, paid.text
    assert [line["status"] for line in paid.json()["lines"]] == ["paid"]
    assert demo.load(ctx).created == {}  # loading again changes nothing
