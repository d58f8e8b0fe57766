"""Privacy: ID numbers, phones and bank numbers are masked in every output but the owner's own
detail view, never logged, and never echoed back in problem+json answers to bad input.
"""

from __future__ import annotations

import logging
import re

import pytest

from tests.support import (
    API,
    PASSWORD,
    PIN,
    assert_problem,
    bearer,
    build_world,
    in_register,
    new_bank_no,
    new_id_number,
    new_phone,
)
from yibao.domain.users import Actor, Role
from yibao.services.accounts import contributions
from yibao.services.applications import cases, disbursement, documents
from yibao.services.credentials import evouchers
from yibao.services.settlement import payments

NON_OWNERS = ("stranger", "unit-user", "institution-user", "counter-user", "terminal-user", "collector-user",
              "reviewer-user", "auditor-user", "admin-user")
READ_ALL = ("counter-user", "reviewer-user", "auditor-user", "admin-user")


def masked_id(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


def masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def get_routes(app) -> list[str]:
    """Every GET path under /api/v1 the app serves (included routers walked, hidden ones too)."""
    try:
        from fastapi.routing import iter_route_contexts
        routes = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = app.routes
    paths = {r.path for r in routes if "GET" in (getattr(r, "methods", None) or ())}
    paths |= {p for p, ops in app.openapi()["paths"].items() if "get" in ops}
    return sorted(p for p in paths if p.startswith(API + "/"))


@pytest.fixture
def people(ctx, admin, client):
    """The world's employee after a phone change (history holds both numbers), with a bank account,
    and a self-registered person whose user name is her phone number (the default)."""
    world = build_world(ctx, admin)
    employee = world.person
    old_phone, employee.phone = employee.phone, new_phone()
    r = client.patch(f"{API}/persons/{employee.id}", headers=bearer(client, "employee"), json={"phone": employee.phone})
    assert r.status_code == 200, r.text
    [account] = evouchers.list_bank_accounts(ctx, actor=admin, person_id=employee.id)
    self_registered = {"id_number": new_id_number(birth="19930303", male=False), "phone": new_phone()}
    r = client.post(f"{API}/register", json={**self_registered, "name": "陈静", "region": "110000",
                                             "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["username"] == self_registered["phone"]
    secrets = {"employee ID number": employee.id_number, "employee phone": employee.phone,
               "employee's old phone": old_phone, "bank account number": account.account_no,
               "self-registered ID number": self_registered["id_number"],
               "self-registered phone": self_registered["phone"]}
    return world, r.json()["person_id"], account, secrets


@pytest.mark.parametrize("username", NON_OWNERS)
def test_no_get_endpoint_shows_a_full_number_to_anyone_but_the_owner(ctx, admin, app, client, people, username):
    world, registered_id, account, secrets = people
    headers = bearer(client, username)
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2025-06", base_fen=1_000_000,
                         employer_id=world.employer_id)
    sale = payments.settle(ctx, actor=admin, idempotency_key="privacy-1", institution_code=world.institution_code,
                             credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                             items=[{"category": "drug", "amount_fen": 100}])
    clerk = Actor(username="test-counter", role=Role.COUNTER)  # takes the case in; a reviewer approves it
    papers = [documents.upload(ctx, actor=clerk, person_id=world.person.id, type=kind, content=b"%PDF-1.4\n%%EOF\n")
              for kind in ("bank_card", "medical_invoice", "expense_list", "diagnosis", "id_card")]
    document = papers[0]
    claim, _ = cases.submit(ctx, actor=clerk, person_id=world.person.id, kind="reimbursement",
                                   reason="cross_region", amount_fen=150,  # another purchase than the sale
                                   document_ids=[d.id for d in papers], event_date=ctx.today(),
                                   invoices=[{"number": "PRIVACY-1", "issuer": world.institution_code,
                                              "date": ctx.today().isoformat(),
                                              "items": [{"category": "drug", "amount_fen": 150}]}])
    reviewer = Actor(username="test-reviewer", role=Role.REVIEWER)  # the admin linked the bank account it pays
    cases.review(ctx, actor=reviewer, application_id=claim.id, action="approve")
    [batch], _ = disbursement.make_batches(ctx, actor=admin)  # the bank's file has the number; reading it later not
    finding = _finding_on(ctx, admin, world.person.id, sale["settlement_id"])
    values = {"employer_id": world.employer_id, "code": world.institution_code, "card_no": world.person.card_no,
              "region": "110000", "settlement_id": sale["settlement_id"], "application_id": claim.id,
              "document_id": document.id, "batch_id": batch.batch_id, "kind": "approval", "finding_id": finding}
    answered = {}
    for person_id in (world.person.id, registered_id):
        for path in get_routes(app):
            names = set(re.findall(r"{(\w+)}", path))
            assert names <= set(values) | {"person_id"}, f"{path}: give test values for {names}"
            r = client.get(path.format(**values, person_id=person_id), headers=headers,
                           params={"region": "110000", "from": "2018-01-01", "to": "2026-03-02"})
            leaked = [what for what, value in secrets.items() if value in r.text]
            assert not leaked, f"{username} GET {path} shows {leaked}: {r.text}"
            answered[(path, person_id)] = r

    person = answered[(f"{API}/persons/{{person_id}}", world.person.id)]
    history = answered[(f"{API}/persons/{{person_id}}/history", world.person.id)]
    banks = answered[(f"{API}/persons/{{person_id}}/bank-accounts", world.person.id)]
    if username == "unit-user":  # its employee's basics: the masked number and the name, nothing else
        assert person.status_code == 200 and history.status_code == 403
        assert person.json()["id_number"] == masked_id(world.person.id_number)
        assert person.json()["name"] == world.person.name
        assert {k for k, v in person.json().items() if v is not None} == {"person_id", "id_number", "name"}
    elif username in READ_ALL:  # they see the record, masked
        assert person.status_code == 200 and history.status_code == 200
        assert person.json()["id_number"] == masked_id(world.person.id_number)
        assert person.json()["phone"] == masked_phone(world.person.phone)
        assert person.json()["birth_date"] is None
        assert [v["data"]["phone"] for v in history.json()] == [masked_phone(secrets["employee's old phone"]),
                                                                masked_phone(world.person.phone)]
    else:
        assert person.status_code == 403 and history.status_code == 403
    if username in READ_ALL:
        assert banks.status_code == 200
        assert [a["account_no"] for a in banks.json()] == ["*" * (len(account.account_no) - 4)
                                                           + account.account_no[-4:]]
        registered = answered[(f"{API}/persons/{{person_id}}/history", registered_id)]
        [version] = registered.json()  # she registered herself: the actor is her user name, her phone
        assert version["actor"] == masked_phone(secrets["self-registered phone"])
        assert version["data"]["id_number"] == masked_id(secrets["self-registered ID number"])
    else:
        assert banks.status_code == 403


def test_the_owner_sees_their_own_numbers_in_full(client, people):
    world, registered_id, account, secrets = people
    owner = bearer(client, "employee")
    person = client.get(f"{API}/persons/{world.person.id}", headers=owner).json()
    assert (person["id_number"], person["phone"]) == (world.person.id_number, world.person.phone)
    assert person["birth_date"] == "1985-03-12"
    banks = client.get(f"{API}/persons/{world.person.id}/bank-accounts", headers=owner).json()
    assert [a["account_no"] for a in banks] == [account.account_no]

    herself = bearer(client, secrets["self-registered phone"])
    person = client.get(f"{API}/persons/{registered_id}", headers=herself).json()
    assert person["id_number"] == secrets["self-registered ID number"]
    assert person["phone"] == secrets["self-registered phone"]


def test_staff_write_answers_are_masked_too(client, people):
    world, _, _, _ = people
    staff = bearer(client, "reviewer-user")
    number, phone = new_bank_no(), new_phone()
    r = client.post(f"{API}/bank-accounts", headers=staff, json={"person_id": world.person.id, "account_no": number,
                                                                  "bank_name": "中国银行", "holder_name": "张伟"})
    assert r.status_code == 201, r.text
    assert r.json()["account_no"] == "*" * (len(number) - 4) + number[-4:]
    r = client.patch(f"{API}/persons/{world.person.id}", headers=staff, json={"phone": phone})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == masked_phone(phone)
    assert world.person.id_number not in r.text


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def log_text(record: logging.LogRecord) -> str:
    """What a handler could write: the message, the traceback, the stack and any extra fields."""
    text = [record.getMessage(), record.stack_info or ""]
    if record.exc_info:
        text.append(logging.Formatter().formatException(record.exc_info))
    text += [f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD]
    return "\n".join(text)


def test_a_whole_flow_logs_no_id_number_phone_or_bank_number(ctx, admin, client, every_log_record):
    build_world(ctx, admin)
    staff = bearer(client, "reviewer-user")
    number, phone, bank_no = new_id_number(birth="19880808", male=False), new_phone(), new_bank_no()
    wrong_number = new_id_number(birth="19880809", male=False)
    other_number = new_id_number(birth="19770707")
    bad_checksum = other_number[:-1] + ("0" if other_number[-1] != "0" else "1")
    refused_phone, new_pin = "13712345678", "472951"
    in_register(ctx, admin, number, "陈静")

    r = client.post(f"{API}/register", json={"id_number": number, "name": "陈静", "phone": phone,
                                             "region": "110000", "password": PASSWORD})
    assert r.status_code == 201, r.text
    person_id = r.json()["person_id"]
    r = client.post(f"{API}/enrollments/{r.json()['enrollment_id']}/approve", headers=staff)
    assert r.status_code == 200, r.text
    owner = bearer(client, phone)
    r = client.post(f"{API}/persons/lookup", headers=staff, json={"id_number": number})
    assert r.status_code == 200 and r.json()["person_id"] == person_id, r.text
    card_no = client.post(f"{API}/cards", headers=staff, json={"person_id": person_id}).json()["card_no"]
    r = client.post(f"{API}/cards/{card_no}/activate", headers=owner,
                    json={"id_number": wrong_number, "pin": new_pin})
    assert_problem(r, 422, "card.identity_mismatch")
    assert wrong_number not in r.text
    r = client.post(f"{API}/cards/{card_no}/activate", headers=owner, json={"id_number": number, "pin": new_pin})
    assert r.status_code == 200, r.text
    evoucher = {"person_id": person_id, "id_number": number, "channel": "app"}
    assert_problem(client.post(f"{API}/evouchers", headers=owner, json={**evoucher, "name": "王五"}),
                   422, "evoucher.identity_mismatch")
    assert client.post(f"{API}/evouchers", headers=owner, json={**evoucher, "name": "陈静"}).status_code == 201
    r = client.post(f"{API}/bank-accounts", headers=owner, json={"person_id": person_id, "account_no": bank_no,
                                                                  "bank_name": "中国工商银行", "holder_name": "陈静"})
    assert r.status_code == 201 and r.json()["account_no"] == bank_no, r.text
    r = client.post(f"{API}/cards/{card_no}/verify-pin", headers=bearer(client, "terminal-user"),
                    json={"pin": new_pin})
    assert r.status_code == 200, r.text
    # bad input holding an ID number: the body is refused and the number not echoed
    r = client.post(f"{API}/persons", headers=staff,
                    json={"id_number": other_number, "name": "赵磊", "phone": int(refused_phone), "region": "110000",
                          "id_card": other_number})
    body = assert_problem(r, 422, "request.invalid")
    assert other_number not in r.text and refused_phone not in r.text
    assert {e["field"] for e in body["errors"]} == {"phone", "id_card"}
    r = client.post(f"{API}/persons", headers=staff,
                    json={"id_number": bad_checksum, "name": "赵磊", "phone": refused_phone, "region": "110000"})
    assert_problem(r, 422, "person.id_number_invalid")
    assert bad_checksum not in r.text and refused_phone not in r.text

    records = every_log_record.records
    loggers = {r.name.split(".")[0] for r in records}
    assert "httpx" in loggers, f"capture is not working: {loggers}"  # one record per request
    assert "sqlalchemy" in loggers, f"SQL logging was not on, so parameters were not exposed: {loggers}"
    secrets = {"ID number": number, "wrong ID number": wrong_number, "refused ID number": other_number,
               "ID number with a bad checksum": bad_checksum, "phone": phone, "refused phone": refused_phone,
               "bank account number": bank_no, "PIN": new_pin, "password": PASSWORD}
    for record in records:
        text = log_text(record)
        leaked = [what for what, value in secrets.items() if value in text]
        assert not leaked, f"{record.name} logged {leaked}: {record.getMessage()}"


def _bad_requests(world) -> dict:
    """name -> (user, method, path, request arguments, expected code) of requests with bad input."""
    p = world.person
    return {
        "body is not JSON": ("reviewer-user", "POST", "/persons",
                             {"content": b'{"id_number": ', "headers": {"content-type": "application/json"}},
                             "request.invalid"),
        "field missing": ("reviewer-user", "POST", "/persons",
                          {"json": {"name": "赵磊", "phone": "13900001111", "region": "110000"}}, "request.invalid"),
        "unknown field": ("reviewer-user", "POST", "/persons/lookup",
                          {"json": {"id_number": p.id_number, "phone": p.phone}}, "request.invalid"),
        "wrong type": ("reviewer-user", "POST", "/cards", {"json": {"person_id": ["x"]}}, "request.invalid"),
        "bad date": ("reviewer-user", "POST", "/enrollments",
                     {"json": {"person_id": p.id, "scheme": "resident", "start_date": "2025-13-45"}},
                     "request.invalid"),
        "query parameter missing": ("employee", "GET", "/agencies", {}, "request.invalid"),
        "ID number checksum": ("reviewer-user", "POST", "/persons/lookup",
                               {"json": {"id_number": p.id_number[:-1] + ("1" if p.id_number[-1] == "0" else "0")}},
                               "person.id_number_invalid"),
        "phone": ("employee", "PATCH", f"/persons/{p.id}", {"json": {"phone": "0571-1234"}}, "person.phone_invalid"),
        "PIN format": ("terminal-user", "POST", f"/cards/{p.card_no}/verify-pin", {"json": {"pin": 123456}},
                       "request.invalid"),
        "e-voucher channel": ("employee", "POST", "/evouchers",
                              {"json": {"person_id": p.id, "id_number": p.id_number, "name": p.name, "channel": "fax"}},
                              "evoucher.channel_invalid"),
        "bank account number": ("employee", "POST", "/bank-accounts",
                                {"json": {"person_id": p.id, "account_no": "6222020000000001",
                                          "bank_name": "中国银行", "holder_name": p.name}}, "bank_account.invalid"),
    }


BAD_REQUEST_NAMES = ["body is not JSON", "field missing", "unknown field", "wrong type", "bad date",
                     "query parameter missing", "ID number checksum", "phone", "PIN format", "e-voucher channel",
                     "bank account number"]


@pytest.mark.parametrize("case", BAD_REQUEST_NAMES)
def test_bad_input_is_answered_with_a_complete_problem(ctx, admin, client, case):
    world = build_world(ctx, admin)
    username, method, path, kwargs, code = _bad_requests(world)[case]
    r = client.request(method, API + path, headers={**bearer(client, username), **kwargs.pop("headers", {})},
                       **kwargs)
    body = assert_problem(r, 422, code)
    assert body["type"].startswith("urn:yibao:problem:") and body["type"].endswith(code)
    assert world.person.id_number not in r.text and world.person.phone not in r.text


@pytest.mark.parametrize("username", NON_OWNERS)
def test_the_counters_cash_voucher_look_up_shows_the_holder_masked(ctx, admin, client, people, username):
    world, _, _, secrets = people
    clerk = Actor(username="test-counter", role=Role.COUNTER)  # uploads the papers and takes the case in
    papers = [documents.upload(ctx, actor=clerk, person_id=world.person.id, type=kind, content=b"%PDF-1.4\n%%EOF\n")
              for kind in ("bank_card", "medical_invoice", "expense_list", "diagnosis", "id_card")]
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2025-06", base_fen=1_000_000,
                         employer_id=world.employer_id)
    claim, _ = cases.submit(ctx, actor=clerk, person_id=world.person.id, kind="reimbursement",
                                   reason="cross_region", document_ids=[d.id for d in papers], payout="cash_voucher",
                                   institution_code=world.institution_code,
                                   invoices=[{"number": "PRIVACY-CASH", "issuer": world.institution_code,
                                              "date": ctx.today().isoformat(),
                                              "items": [{"category": "drug", "amount_fen": 100}]}])
    cases.review(ctx, actor=admin, application_id=claim.id, action="approve")
    code = cases.get(ctx, actor=admin, application_id=claim.id).cash_voucher.code
    r = client.get(f"{API}/cash-vouchers/{code}", headers=bearer(client, username))
    leaked = [what for what, value in secrets.items() if value in r.text]
    assert not leaked, f"{username} sees {leaked}: {r.text}"
    if username in ("counter-user", "reviewer-user", "admin-user", "institution-user"):
        assert r.status_code == 200, r.text
        assert r.json()["holder_id_number"] == masked_id(world.person.id_number)
        assert r.json()["holder_name"] == "张*" and world.person.name not in r.text
    else:
        assert_problem(r, 403, "auth.forbidden")


def _finding_on(ctx, admin, person_id: str, settlement_id: str) -> str:
    """A misuse finding on the person, as detection records it; its id."""
    import datetime as dt

    from yibao.domain.findings import Detected, Pattern, SubjectKind
    from yibao.services.misuse import findings

    day = ctx.today()
    findings.record(ctx, actor=admin, detected=[Detected(
        Pattern.AFTER_DEATH, "misuse.after_death@2026-01-01", 1.0, SubjectKind.PERSON, person_id,
        day - dt.timedelta(days=30), day, {"settlement_ids": [settlement_id]}, {"died_on": day.isoformat()})])
    return findings.list_findings(ctx, actor=admin, pattern="after_death")[0].id
