"""Printed statements (R9): a Chinese PDF whose verification code confirms what it states."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.support import API, assert_problem, bearer, build_world
from yibao.domain.clock import SHANGHAI
from yibao.services.accounts import contributions
from yibao.services.accounts.statement_pdf import yuan

YIBAO = str(Path(sys.executable).parent / "yibao")


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def paid_in(ctx, admin):
    world = build_world(ctx, admin)
    for month, day in (("2026-01", 5), ("2026-02", 5), ("2026-03", 6)):
        ctx.clock.set(dt.datetime(2026, int(month[-2:]) + 1, day, 10, tzinfo=SHANGHAI))
        contributions.credit(ctx, actor=admin, person_id=world.person.id, period=month, base_fen=1_234_500,
                             employer_id=world.employer_id)  # 24,690 fen a month
    return world


def test_money_reads_the_chinese_way():
    assert yuan(123_450) == "¥1,234.50"
    assert yuan(-5) == "-¥0.05"


def test_the_owner_prints_a_statement_that_reads_in_chinese_and_verifies(client, paid_in):
    r = client.get(f"{API}/accounts/{paid_in.person.id}/statement.pdf", headers=bearer(client, "employee"),
                   params={"from": "2026-03-01", "to": "2026-04-30"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    code = r.headers["x-voucher-code"]
    text = text_of(r.content)
    assert "医疗保险个人账户对账单" in text and "缴费划入" in text
    assert paid_in.person.name in text and paid_in.person.id_number not in text
    assert "¥246.90" in text  # opening: January's credit, booked on 5 February
    assert "¥493.80" in text and "¥740.70" in text  # February's (booked in March) and March's (in April)
    assert code in text

    check = client.get(f"{API}/vouchers/{code}")  # no sign-in: whoever holds the paper
    assert check.status_code == 200, check.text
    body = check.json()
    assert body["kind"] == "statement" and body["sha256"] == hashlib.sha256(r.content).hexdigest()
    assert body["subject"]["closing_balance_fen"] == 74_070 and body["subject"]["entries"] == 2
    assert body["holder_name"] == "张*" and paid_in.person.id_number not in check.text
    assert client.get(f"{API}/vouchers/{code.lower().replace('-', '')}").status_code == 200  # as typed back in


def test_the_pdf_embeds_a_cjk_font(client, paid_in):
    r = client.get(f"{API}/accounts/{paid_in.person.id}/statement.pdf", headers=bearer(client, "employee"))
    fonts = {str(font.get("/BaseFont")) for page in PdfReader(io.BytesIO(r.content)).pages
             for font in page["/Resources"]["/Font"].values()}
    assert any("WenQuanYi" in f or "CJK" in f or "Han" in f for f in fonts), fonts


def test_a_reprint_gets_its_own_code_and_both_verify(client, paid_in):
    codes = [client.get(f"{API}/accounts/{paid_in.person.id}/statement.pdf",
                        headers=bearer(client, "employee")).headers["x-voucher-code"] for _ in range(2)]
    assert codes[0] != codes[1]
    assert all(client.get(f"{API}/vouchers/{c}").status_code == 200 for c in codes)


def test_an_unknown_code_is_not_confirmed(client, paid_in):
    assert_problem(client.get(f"{API}/vouchers/ABCD-EFGH-JKMN-PQRS"), 404, "voucher.not_found")


def test_nobody_else_prints_someone_s_statement(client, paid_in):
    r = client.get(f"{API}/accounts/{paid_in.person.id}/statement.pdf", headers=bearer(client, "stranger"))
    assert_problem(r, 403, "auth.forbidden")


def test_the_command_writes_the_pdf(database_url, tmp_path, paid_in):
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    target = tmp_path / "statement.pdf"
    run = subprocess.run([YIBAO, "account", "statement", paid_in.person.id, "--pdf", str(target)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "医疗保险个人账户对账单" in text_of(target.read_bytes())
    table = subprocess.run([YIBAO, "account", "statement", paid_in.person.id], env=env, capture_output=True,
                           text=True, timeout=120)
    assert table.returncode == 0 and "¥740.70" in table.stdout
