"""The `yibao` command line and a real `yibao serve` process, as an operator would use them."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.pg_cluster import free_port
from tests.support import YIBAO, new_id_number, yibao
from yibao.services.demo import DEMO_PASSWORD
from yibao.store.db import create_engine
from yibao.store.tables import metadata


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in metadata.sorted_tables}
    engine.dispose()
    return counts


def test_demo_load_twice_changes_nothing(env, database_url):
    assert yibao(env, "db", "upgrade").returncode == 0
    first = yibao(env, "demo", "load", "--url", "http://127.0.0.1:8000")
    assert first.returncode == 0, first.stderr
    assert "reviewer" in first.stdout and DEMO_PASSWORD in first.stdout
    assert "http://127.0.0.1:8000/login" in first.stdout and "http://127.0.0.1:8000/me" in first.stdout
    for console in ("/unit", "/institution", "/counter", "/review", "/audit", "/admin"):  # each role's start page
        assert f"http://127.0.0.1:8000{console}" in first.stdout, console
    after_first = row_counts(database_url)
    assert after_first["persons"] >= 7 and after_first["institutions"] >= 9 and after_first["users"] >= 6
    second = yibao(env, "demo", "load")
    assert second.returncode == 0, second.stderr
    assert "nothing new" in second.stdout
    assert row_counts(database_url) == after_first


def test_users_add_reads_the_password_from_stdin(env, database_url):
    made = yibao(env, "users", "add", "wang.reviewer", "--role", "reviewer", "--password-stdin",
                 stdin="a-long-passphrase\n")
    assert made.returncode == 0, made.stderr
    again = yibao(env, "users", "add", "wang.reviewer", "--role", "reviewer", "--password-stdin",
                  stdin="a-long-passphrase\n")
    assert again.returncode == 1
    assert "已被使用" in again.stderr and "already taken" in again.stderr
    no_stdin = yibao(env, "users", "add", "li", "--role", "admin")
    assert no_stdin.returncode == 2
    assert row_counts(database_url)["users"] == 1


def test_bad_input_prints_both_languages_and_writes_nothing(env, database_url):
    valid = new_id_number()
    wrong_check_digit = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    bad = yibao(env, "persons", "add", "--id-number", wrong_check_digit, "--name", "张伟",
                "--phone", "13900000000", "--region", "110000")
    assert bad.returncode == 1
    assert "身份证号码无效" in bad.stderr and "resident ID number is not valid" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown_role = yibao(env, "users", "add", "x", "--role", "boss", "--password-stdin", stdin="long-enough-pw\n")
    assert unknown_role.returncode == 1 and "Traceback" not in unknown_role.stderr
    assert row_counts(database_url)["persons"] == 0


def test_serve_answers_the_api_and_the_pages(env):
    assert yibao(env, "demo", "load").returncode == 0
    port = free_port()
    server = subprocess.Popen([YIBAO, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not come up")
        token = httpx.post(f"{base}/api/v1/auth/token",
                           data={"username": "zhangwei", "password": DEMO_PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{base}/api/v1/me", headers=headers).json()
        assert me["role"] == "person"
        person = httpx.get(f"{base}/api/v1/persons/{me['person_id']}", headers=headers).json()
        assert person["name"] == "张伟" and person["region_name"] == "北京市"
        agency = httpx.get(f"{base}/api/v1/agencies", params={"region": "110105"}, headers=headers).json()
        assert agency[0]["region"] == "110000" and agency[0]["phone"]
        home = httpx.get(f"{base}/")
        assert home.status_code == 200 and "医保个人账户服务" in home.text
        assert "/api/v1/persons/{person_id}" in httpx.get(f"{base}/openapi.json").json()["paths"]
        # The clock can be set only in test mode; here the endpoint does not exist.
        assert httpx.post(f"{base}/api/v1/admin/clock", json={"now": "2026-03-01T09:00:00+08:00"},
                          headers=headers).status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=10)
