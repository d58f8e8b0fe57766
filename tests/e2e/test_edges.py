"""Limits on the edges: request bodies capped before they are read (documents with their own larger limit), a
database out of reach answered 503 with Retry-After, and no problem or log line repeating a value of the
request (an ID number or a phone in the query, the path or the body)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.pg_cluster import Cluster, find_bindir
from tests.support import API, PASSWORD, PIN, assert_problem, bearer, build_world, count, new_id_number, new_phone
from yibao.api.app import create_app
from yibao.bootstrap import bootstrap
from yibao.config import Settings
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor
from yibao.services.accounts import contributions
from yibao.services.credentials import auth
from yibao.store.db import create_engine
from yibao.store.migrate import upgrade
from yibao.store.tables import audit_records, documents, persons, users

PDF = b"%PDF-1.4\n%%EOF\n"
ID_NUMBER = new_id_number(birth="19770707")  # nobody's: a value typed where it does not belong
PHONE = new_phone()
SECRETS = (ID_NUMBER, PHONE)


def small_limits(ctx, *, request: int = 64 * 1024, document: int = 256 * 1024) -> TestClient:
    ctx.settings.request_max_bytes, ctx.settings.document_max_bytes = request, document
    return TestClient(create_app(ctx), raise_server_exceptions=False)


def chunks(total: int, size: int = 16 * 1024):
    """A body sent without a Content-Length, in pieces."""
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def written(ctx) -> tuple[int, ...]:
    return tuple(count(ctx, t) for t in (persons, users, documents, audit_records))


# --- request bodies ----------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_unread_with_or_without_a_token_however_it_is_sent(ctx, admin):
    build_world(ctx, admin)
    client = small_limits(ctx)
    limit = ctx.settings.request_max_bytes
    staff = bearer(client, "reviewer-user")
    json_type = {"content-type": "application/json"}
    before = written(ctx)
    for headers in ({}, staff):
        declared = client.post(f"{API}/persons", headers={**headers, **json_type}, content=b"{" * (limit + 1))
        assert assert_problem(declared, 413, "request.too_large")["limit_bytes"] == limit
        streamed = client.post(f"{API}/register", headers={**headers, **json_type}, content=chunks(limit * 4))
        assert assert_problem(streamed, 413, "request.too_large")["limit_bytes"] == limit
        lying = client.post(f"{API}/persons", headers={**headers, **json_type, "content-length": "20"},
                            content=b" " * (limit * 2))
        assert_problem(lying, 413, "request.too_large")
    form = client.post(f"{API}/auth/token", content=chunks(limit + 1),
                       headers={"content-type": "application/x-www-form-urlencoded"})  # signing in too
    assert_problem(form, 413, "request.too_large")
    assert written(ctx) == before
    fits = client.post(f"{API}/persons", headers=staff, json={
        "id_number": new_id_number(birth="19900101"), "name": "赵磊", "phone": new_phone(), "region": "110000"})
    assert fits.status_code == 201, fits.text
    streamed_fits = client.post(f"{API}/persons/lookup", headers={**staff, **json_type}, content=iter(
        [b'{"id_number": ', f'"{new_id_number(birth="19900102")}"'.encode(), b"}"]))
    assert_problem(streamed_fits, 404, "person.not_found")


def test_documents_have_their_own_larger_limit(ctx, admin):
    world = build_world(ctx, admin)
    client = small_limits(ctx)
    request_limit, document_limit = ctx.settings.request_max_bytes, ctx.settings.document_max_bytes
    owner = bearer(client, "employee")
    form = {"type": "medical_invoice", "person_id": world.person.id}
    big = PDF + b"0" * (request_limit * 2)  # larger than any other body may be
    r = client.post(f"{API}/documents", headers=owner, data=form, files={"file": ("invoice.pdf", big, "application/pdf")})
    assert r.status_code == 201, r.text
    assert r.json()["size"] == len(big)
    before = written(ctx)
    just_over = PDF + b"0" * (document_limit - len(PDF) + 1)  # the form fits, the file does not
    r = client.post(f"{API}/documents", headers=owner, data=form,
                    files={"file": ("invoice.pdf", just_over, "application/pdf")})
    assert_problem(r, 422, "document.too_large")
    far_over = PDF + b"0" * (document_limit * 2)
    r = client.post(f"{API}/documents", headers=owner, data=form,
                    files={"file": ("invoice.pdf", far_over, "application/pdf")})
    assert assert_problem(r, 413, "request.too_large")["limit_bytes"] > document_limit
    unsigned = client.post(f"{API}/documents", content=chunks(document_limit * 2),
                           headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert_problem(unsigned, 413, "request.too_large")
    elsewhere = client.post(f"{API}/persons/lookup", headers={**owner, "content-type": "application/json"},
                            content=b" " * (request_limit * 2))
    assert assert_problem(elsewhere, 413, "request.too_large")["limit_bytes"] == request_limit
    assert written(ctx) == before


# --- a database out of reach ---------------------------------------------------------------------


@pytest.fixture
def doomed(backend, tmp_path):
    """A service on a database of its own, and how to take that database away for real: on SQLite its
    directory is removed, on PostgreSQL its cluster is stopped."""
    cluster = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'yibao.db'}"
    else:
        bindir = find_bindir()
        if bindir is None:
            pytest.skip("PostgreSQL server binaries not found")
        cluster = Cluster(bindir).start()
        url = cluster.create_database("doomed")
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    ctx = bootstrap(Settings(env="test", database_url=url, data_dir=tmp_path / "data", argon2_profile="light",
                             secret_key="test-secret-key"))

    def take_away() -> None:
        if cluster is not None:
            cluster.stop()
        else:
            ctx.engine.dispose()
            shutil.rmtree(tmp_path / "db")

    yield ctx, take_away
    ctx.engine.dispose()
    if cluster is not None:
        cluster.stop()


def test_a_database_out_of_reach_answers_503_with_retry_after(doomed, every_log_record):
    ctx, take_away = doomed
    admin = Actor.system("test-admin")
    ctx.clock.set(dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2026-01", base_fen=1_000_000,
                         employer_id=world.employer_id)
    client = TestClient(create_app(ctx), raise_server_exceptions=False)
    staff, shop = bearer(client, "reviewer-user"), bearer(client, "institution-user")
    assert client.get(f"{API}/persons/{world.person.id}", headers=staff).status_code == 200
    take_away()
    calls = [("GET", f"/persons/{world.person.id}", staff, {}),
             ("POST", "/settlements", shop, {"json": {
                 "idempotency_key": "outage-1", "institution_code": world.institution_code,
                 "credential": {"type": "card", "card_no": world.person.card_no, "pin": PIN},
                 "items": [{"category": "drug", "amount_fen": 1_000}]}}),
             ("POST", "/auth/token", {}, {"data": {"username": "employee", "password": PASSWORD}}),
             ("POST", "/register", {}, {"json": {"id_number": ID_NUMBER, "name": "陈静", "phone": PHONE,
                                                 "region": "110000", "password": PASSWORD}}),
             ("GET", f"/agencies?region={ID_NUMBER}", staff, {})]
    for method, path, headers, kwargs in calls:
        r = client.request(method, API + path, headers=headers, **kwargs)
        body = assert_problem(r, 503, "service.unavailable")
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["Retry-After"] == str(ctx.settings.outage_retry_after_seconds) == \
            str(body["retry_after_seconds"])
        assert not any(s in r.text for s in SECRETS)
    assert client.get(f"{API}/health").status_code == 200  # the process itself is alive
    logged = [log_text(r) for r in every_log_record.records if not r.name.startswith("httpx")]
    assert any("database unavailable" in line for line in logged)
    assert not [line for line in logged if any(s in line for s in SECRETS)]


# --- no value of the request repeated ------------------------------------------------------------


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def log_text(record: logging.LogRecord) -> str:
    """What a handler could write: the message, the traceback and any extra fields."""
    text = [record.getMessage(), record.stack_info or ""]
    if record.exc_info:
        text.append(logging.Formatter().formatException(record.exc_info))
    text += [f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD]
    return "\n".join(text)


def _echo_cases(world) -> dict:
    """name -> (user, method, path, request arguments) of requests with an ID number or a phone where it does
    not belong."""
    p, n, ph = world.person, ID_NUMBER, PHONE
    card = {"type": "card", "card_no": p.card_no, "pin": PIN}
    return {
        "region in the query": ("employee", "GET", f"/agencies?region={n}", {}),
        "date in the query": ("employee", "GET", f"/policies/110000?date={n}", {}),
        "period in the query": ("employee", "GET", f"/accounts/{p.id}/entries?from={ph}", {}),
        "region in the path": ("employee", "GET", f"/policies/{n}", {}),
        "person in the path": ("reviewer-user", "GET", f"/persons/{n}", {}),
        "account in the path": ("reviewer-user", "GET", f"/accounts/{n}", {}),
        "institution in the path": ("reviewer-user", "GET", f"/institutions/{n}/settlements", {}),
        "settlement in the path": ("reviewer-user", "GET", f"/settlements/{n}", {}),
        "card in the path": ("employee", "POST", f"/cards/{n}/activate", {"json": {"id_number": n, "pin": "472951"}}),
        "voucher code in the path, signed out": (None, "GET", f"/vouchers/{n}", {}),
        "route that does not exist": ("employee", "GET", f"/no-such/{n}?q={ph}", {}),
        "region in the body": ("reviewer-user", "POST", "/persons",
                               {"json": {"id_number": new_id_number(birth="19900303"), "name": "赵磊", "phone": ph,
                                         "region": n}}),
        "destination in the body": ("employee", "POST", "/filings",
                                    {"json": {"person_id": p.id, "type": "temporary", "reason": "referral",
                                              "destination_region": n, "start_date": "2026-03-02"}}),
        "institution in the body": ("admin-user", "POST", "/settlements",
                                    {"json": {"idempotency_key": "echo-1", "institution_code": n, "credential": card,
                                              "items": [{"category": "drug", "amount_fen": 100}]}}),
        "credential of an unknown type": ("admin-user", "POST", "/settlements",
                                          {"json": {"idempotency_key": "echo-2", "institution_code": "P11000000001",
                                                    "credential": {"type": n, "card_no": ph},
                                                    "items": [{"category": "drug", "amount_fen": 100}]}}),
        "institution asked about": ("employee", "POST", "/policy/explain",
                                    {"json": {"person_id": p.id, "action": "settle", "institution_code": n}}),
        "a key that is no field": ("reviewer-user", "POST", "/persons/lookup", {"json": {"id_number": n, n: ph}}),
        "a phone where a number goes": ("reviewer-user", "POST", "/contributions",
                                        {"json": {"person_id": p.id, "period": ph, "base_fen": ph}}),
        "a document type": ("employee", "POST", "/documents",
                            {"data": {"type": ph, "person_id": p.id}, "files": {"file": ("a.pdf", PDF, "application/pdf")}}),
        "an e-voucher channel": ("employee", "POST", "/evouchers",
                                 {"json": {"person_id": p.id, "id_number": p.id_number, "name": p.name, "channel": ph}}),
        "a username taken": ("admin-user", "POST", "/users",
                             {"json": {"username": ph, "password": PASSWORD, "role": "reviewer"}}),
        "a signed-out registration": (None, "POST", "/register",
                                      {"json": {"id_number": n, "name": "陈静", "phone": ph, "region": n,
                                                "password": PASSWORD}}),
    }


ECHO_CASES = sorted(_echo_cases(type("W", (), {"person": type("P", (), {
    "id": "", "card_no": "", "id_number": "", "name": "", "phone": ""})})()))


@pytest.mark.parametrize("case", ECHO_CASES)
def test_bad_input_is_never_repeated_in_a_problem_or_a_log_line(ctx, admin, client, every_log_record, case):
    world = build_world(ctx, admin)
    auth.add_user(ctx, actor=admin, username=PHONE, password=PASSWORD, role="auditor")  # a phone as a user name
    username, method, path, kwargs = _echo_cases(world)[case]
    headers = bearer(client, username) if username else {}
    every_log_record.clear()
    r = client.request(method, API + path, headers=headers, **kwargs)
    assert 400 <= r.status_code < 500, r.text
    body = assert_problem(r, r.status_code)
    shown = [f"{k}={v!r}" for k, v in body.items()]
    assert not [line for line in shown if any(s in line for s in SECRETS)], r.text
    ours = [log_text(x) for x in every_log_record.records if not x.name.startswith("httpx")]  # not the client's
    assert not [line for line in ours if any(s in line for s in SECRETS)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_servers_access_log_shows_routes_not_the_values_in_paths_and_queries(env, tmp_path):
    port = _free_port()
    out = open(tmp_path / "serve.log", "w+")
    server = subprocess.Popen([str(os.path.join(os.path.dirname(sys.executable), "yibao")), "serve", "--port",
                               str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}{API}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        asked = [httpx.get(f"{base}{API}/agencies", params={"region": ID_NUMBER, "phone": PHONE}),
                 httpx.get(f"{base}{API}/persons/{ID_NUMBER}"),
                 httpx.get(f"{base}{API}/no-such/{PHONE}"),
                 httpx.post(f"{base}{API}/auth/token", data={"username": PHONE, "password": ID_NUMBER})]
        assert [r.status_code for r in asked] == [401, 401, 404, 401]
        assert not [r for r in asked if any(s in r.text for s in SECRETS)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    out.seek(0)
    log = out.read()
    assert f'"GET {API}/agencies HTTP/1.1" 401' in log, log
    assert f'"GET {API}/persons/{{person_id}} HTTP/1.1" 401' in log
    assert f'"GET {API}/no-such/… HTTP/1.1" 404' in log
    assert not [s for s in SECRETS if s in log], log
