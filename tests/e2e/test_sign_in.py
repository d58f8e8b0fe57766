"""Sign-in you can trust: a password cannot be guessed without limit (per user and per address, 429
`auth.too_many_attempts`), every failure is audited without the password, signing out revokes the token, and a
person changes their password and their card's PIN with the old one; a PIN that locks tells its holder."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.support import API, PASSWORD, PIN, assert_problem, bearer, build_world, count, rows
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import cards
from yibao.store.tables import audit_records, auth_tokens, notices, users

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
GUESS = "Guess-0000-secret"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(NOW)
    return build_world(ctx, admin)


def sign_in(client, username: str, password: str):
    return client.post(f"{API}/auth/token", data={"username": username, "password": password})


def failures(ctx) -> list:
    return [r for r in rows(ctx, audit_records) if r.action == "auth.sign_in_failed"]


def stored_text(ctx) -> str:
    """Everything the audit trail holds, as text: what an operator (or a thief of the database) could read."""
    return json.dumps([{**r._asdict(), "at": str(r.at)} for r in rows(ctx, audit_records)], ensure_ascii=False)


def test_fifty_wrong_passwords_then_the_right_one_is_refused_and_every_failure_is_audited(ctx, admin, client,
                                                                                      world):
    tokens = count(ctx, auth_tokens)
    answers = [sign_in(client, "employee", f"{GUESS}-{i}") for i in range(50)]
    allowed = ctx.settings.sign_in_max_failures
    assert [r.status_code for r in answers] == [401] * allowed + [429] * (50 - allowed)
    assert_problem(answers[0], 401, "auth.bad_credentials")
    locked = assert_problem(answers[-1], 429, "auth.too_many_attempts")
    assert 0 < locked["retry_after_seconds"] <= ctx.settings.sign_in_window_seconds
    assert answers[-1].headers["Retry-After"] == str(locked["retry_after_seconds"])

    right = sign_in(client, "employee", PASSWORD)  # the lock means nothing if the right password got through
    assert_problem(right, 429, "auth.too_many_attempts")
    assert count(ctx, auth_tokens) == tokens

    recorded = failures(ctx)
    assert len(recorded) == 51
    employee_user = {r.entity_id for r in recorded}
    assert len(employee_user) == 1 and next(iter(employee_user)).startswith("usr_")
    assert [r.details["reason"] for r in recorded] == ["wrong_password"] * allowed + ["too_many_attempts"] * 46
    assert {r.details["address"] for r in recorded} == {"testclient"}
    text = stored_text(ctx)
    assert GUESS not in text and PASSWORD not in text

    other = sign_in(client, "stranger", PASSWORD)  # another user from the same address is not locked out
    assert other.status_code == 200, other.text


def test_unknown_names_are_throttled_and_audited_by_digest_only(ctx, admin, client, world):
    typed = "hunter2-typed-in-the-name-field"
    for _ in range(ctx.settings.sign_in_max_failures):
        assert_problem(sign_in(client, typed, GUESS), 401, "auth.bad_credentials")
    assert_problem(sign_in(client, typed, GUESS), 429, "auth.too_many_attempts")
    recorded = failures(ctx)
    assert {r.entity for r in recorded} == {"sign_in"} and len(recorded) == ctx.settings.sign_in_max_failures + 1
    assert {r.details["reason"] for r in recorded} == {"unknown_user", "too_many_attempts"}
    text = stored_text(ctx)
    assert typed not in text and GUESS not in text
    very_long = "名" * 5000  # bounded before it is looked up, counted or recorded
    assert_problem(sign_in(client, very_long, GUESS), 401, "auth.bad_credentials")


def test_one_users_good_sign_in_does_not_reset_another_users_count(ctx, admin, client, world):
    allowed = ctx.settings.sign_in_max_failures
    for _ in range(allowed - 1):
        assert sign_in(client, "employee", GUESS).status_code == 401
    assert sign_in(client, "stranger", PASSWORD).status_code == 200
    assert sign_in(client, "employee", GUESS).status_code == 401  # the last failure allowed
    assert_problem(sign_in(client, "employee", PASSWORD), 429, "auth.too_many_attempts")


def test_an_address_guessing_many_names_is_stopped_for_every_name(ctx, admin, client, app, world):
    per_address = ctx.settings.sign_in_max_failures_per_address
    guesser = TestClient(app, client=("203.0.113.9", 40000), raise_server_exceptions=False)
    for i in range(per_address):
        assert guesser.post(f"{API}/auth/token", data={"username": f"user-{i}", "password": GUESS}).status_code == 401
    refused = guesser.post(f"{API}/auth/token", data={"username": "employee", "password": PASSWORD})
    assert_problem(refused, 429, "auth.too_many_attempts")
    assert {r.details["address"] for r in failures(ctx)} == {"203.0.113.9"}
    assert sign_in(client, "employee", PASSWORD).status_code == 200  # the person from their own address


def test_after_the_window_the_right_password_signs_in_again(ctx, admin, client, world):
    ctx.settings.sign_in_max_failures, ctx.settings.sign_in_window_seconds = 2, 3
    ctx.extras.pop("sign_in_throttle", None)
    for _ in range(2):
        assert sign_in(client, "employee", GUESS).status_code == 401
    locked = assert_problem(sign_in(client, "employee", PASSWORD), 429, "auth.too_many_attempts")
    time.sleep(locked["retry_after_seconds"] + 0.2)
    assert sign_in(client, "employee", PASSWORD).status_code == 200


def test_signing_out_revokes_the_token(ctx, admin, client, world):
    headers = bearer(client, "employee")
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    r = client.post(f"{API}/auth/logout", headers=headers)
    assert r.status_code == 204, r.text
    assert_problem(client.get(f"{API}/me", headers=headers), 401, "auth.token_invalid")
    assert_problem(client.post(f"{API}/auth/logout", headers=headers), 401, "auth.token_invalid")
    assert_problem(client.post(f"{API}/auth/logout"), 401, "auth.required")
    assert [r.action for r in rows(ctx, audit_records) if r.action == "auth.sign_out"] == ["auth.sign_out"]


def test_a_person_changes_their_password_with_the_current_one_and_other_sessions_end(ctx, admin, client, world):
    here, elsewhere = bearer(client, "employee"), bearer(client, "employee")
    url = f"{API}/auth/password"
    wrong = client.post(url, headers=here, json={"current_password": GUESS, "new_password": "new-horse-77"})
    assert_problem(wrong, 403, "auth.password_wrong")
    weak = client.post(url, headers=here, json={"current_password": PASSWORD, "new_password": "short"})
    assert_problem(weak, 422, "user.password_weak")
    assert sign_in(client, "employee", PASSWORD).status_code == 200  # nothing changed

    r = client.post(url, headers=here, json={"current_password": PASSWORD, "new_password": "new-horse-77"})
    assert r.status_code == 200, r.text
    assert r.json()["other_sessions_ended"] == 2  # the other tab and the check just above
    assert client.get(f"{API}/me", headers=here).status_code == 200
    assert_problem(client.get(f"{API}/me", headers=elsewhere), 401, "auth.token_invalid")
    assert_problem(sign_in(client, "employee", PASSWORD), 401, "auth.bad_credentials")
    assert sign_in(client, "employee", "new-horse-77").status_code == 200
    text = stored_text(ctx)
    assert "new-horse-77" not in text and GUESS not in text


def test_guessing_the_current_password_with_a_stolen_session_is_throttled_too(ctx, admin, client, world):
    stolen = bearer(client, "employee")
    for _ in range(ctx.settings.sign_in_max_failures):
        r = client.post(f"{API}/auth/password", headers=stolen,
                        json={"current_password": GUESS, "new_password": "new-horse-77"})
        assert_problem(r, 403, "auth.password_wrong")
    r = client.post(f"{API}/auth/password", headers=stolen,
                    json={"current_password": PASSWORD, "new_password": "new-horse-77"})
    assert_problem(r, 429, "auth.too_many_attempts")
    assert sign_in(client, "employee", "new-horse-77").status_code in (401, 429)


def test_the_holder_changes_the_pin_with_the_old_one(ctx, admin, client, world):
    me = bearer(client, "employee")
    card_no = world.person.card_no
    url = f"{API}/cards/{card_no}/change-pin"
    assert_problem(client.post(url, headers=bearer(client, "stranger"), json={"old_pin": PIN, "new_pin": "472951"}),
                   403, "auth.forbidden")
    assert_problem(client.post(url, headers=bearer(client, "counter-user"),
                               json={"old_pin": PIN, "new_pin": "472951"}), 403, "auth.forbidden")
    assert_problem(client.post(url, headers=me, json={"old_pin": PIN, "new_pin": "123456"}), 422, "card.pin_trivial")
    wrong = client.post(url, headers=me, json={"old_pin": "135790", "new_pin": "472951"})
    assert assert_problem(wrong, 422, "card.pin_wrong")["tries_left"] == 4
    r = client.post(url, headers=me, json={"old_pin": PIN, "new_pin": "472951"})
    assert r.status_code == 200 and r.json()["pin_locked"] is False, r.text
    institution = bearer(client, "terminal-user")  # the self-service terminal, the holder in front of it
    check = f"{API}/cards/{card_no}/verify-pin"
    assert client.post(check, headers=institution, json={"pin": "472951"}).status_code == 200
    assert_problem(client.post(check, headers=institution, json={"pin": PIN}), 422, "card.pin_wrong")
    assert "472951" not in stored_text(ctx)


def test_a_pin_that_locks_tells_its_holder(ctx, admin, client, world):
    me = bearer(client, "employee")
    card_no = world.person.card_no
    url = f"{API}/cards/{card_no}/change-pin"
    told_before = count(ctx, notices)  # the world's bank account was linked: the holder was told
    for tries_left in (4, 3, 2, 1):
        r = client.post(url, headers=me, json={"old_pin": "135790", "new_pin": "472951"})
        assert assert_problem(r, 422, "card.pin_wrong")["tries_left"] == tries_left
    assert count(ctx, notices) == told_before
    assert_problem(client.post(url, headers=me, json={"old_pin": "135790", "new_pin": "472951"}), 403,
                   "card.pin_locked")
    assert_problem(client.post(url, headers=me, json={"old_pin": PIN, "new_pin": "472951"}), 403, "card.pin_locked")
    assert count(ctx, notices) == told_before + 1
    [notice] = [n for n in client.get(f"{API}/persons/{world.person.id}/notices", headers=me).json()
                if n["kind"] != "bank_account"]
    assert notice["title_zh"] == "医保卡密码已锁定" and card_no[-4:] in notice["body_zh"]
    assert "locked" in notice["body_en"] and card_no not in notice["body_zh"]

    cards.unlock_pin(ctx, actor=admin, card_no=card_no,  # the agency lifts the lock with the person there
                     id_number=world.person.id_number)
    terminal = bearer(client, "terminal-user")
    for _ in range(5):  # a lock at a self-service terminal is told the same way, once
        client.post(f"{API}/cards/{card_no}/verify-pin", headers=terminal, json={"pin": "135790"})
    with ctx.engine.connect() as conn:
        told = conn.execute(sa.select(sa.func.count()).select_from(notices).where(
            notices.c.person_id == world.person.id, notices.c.kind != "bank_account")).scalar()
    assert told == 2


def test_an_admin_sets_a_forgotten_password_from_the_command_line_and_the_sessions_end(ctx, admin, client, world,
                                                                                     env):
    from tests.support import yibao

    headers = bearer(client, "employee")
    done = yibao(env, "users", "set-password", "employee", "--password-stdin", stdin="fresh-horse-31\n")
    assert done.returncode == 0, done.stderr
    assert "1 session(s) ended" in done.stdout and "fresh-horse-31" not in done.stdout
    assert_problem(client.get(f"{API}/me", headers=headers), 401, "auth.token_invalid")
    assert sign_in(client, "employee", "fresh-horse-31").status_code == 200
    short = yibao(env, "users", "set-password", "employee", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "user.password_weak" in short.stderr
    unknown = yibao(env, "users", "set-password", "nobody", "--password-stdin", stdin="fresh-horse-32\n")
    assert unknown.returncode == 1 and "user.not_found" in unknown.stderr


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(ctx, admin, client, world):
    audits = count(ctx, audit_records)
    huge = "x" * (ctx.settings.request_max_bytes + 1)
    declared = client.post(f"{API}/auth/token", data={"username": "employee", "password": huge})
    assert assert_problem(declared, 413, "request.too_large")["limit_bytes"] == ctx.settings.request_max_bytes

    def chunks():  # sent without a Content-Length
        for _ in range(12):
            yield b"y" * (1024 * 1024)

    streamed = client.post(f"{API}/auth/token", content=chunks(),
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert_problem(streamed, 413, "request.too_large")
    assert count(ctx, audit_records) == audits
    small = client.post(f"{API}/auth/token", content=iter([b"username=employee&", f"password={PASSWORD}".encode()]),
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert small.status_code == 200, small.text


def test_parallel_guesses_get_no_more_tries_than_one_after_another(ctx, admin, client, world):
    from concurrent.futures import ThreadPoolExecutor

    allowed = ctx.settings.sign_in_max_failures
    for name in ("employee", "no-such-user"):
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda i, name=name: sign_in(client, name, f"{GUESS}-{i}").status_code,
                                    range(24)))
        assert sorted(answers) == [401] * allowed + [429] * (24 - allowed)
    assert len(failures(ctx)) == 48  # every one audited, none lost to the race for the chain's next place


@pytest.mark.parametrize("role", ["counter", "terminal", "collector"])
def test_an_admin_adds_counter_terminal_and_collector_users_over_the_api(ctx, client, world, role):
    """Every role the platform knows can be given over the API, not only from the command line."""
    admin = bearer(client, "admin-user")
    r = client.post(f"{API}/users", headers=admin, json={"username": f"new-{role}", "password": PASSWORD,
                                                        "role": role})
    assert r.status_code == 201, r.text
    me = client.get(f"{API}/me", headers=bearer(client, f"new-{role}")).json()
    assert me["role"] == role


def test_a_role_the_platform_does_not_know_is_refused_and_adds_no_one(ctx, client, world):
    admin = bearer(client, "admin-user")
    before = count(ctx, users)
    r = client.post(f"{API}/users", headers=admin, json={"username": "new-boss", "password": PASSWORD,
                                                        "role": "superuser"})
    assert_problem(r, 422, "request.invalid")
    assert count(ctx, users) == before
