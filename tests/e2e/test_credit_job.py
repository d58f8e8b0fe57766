"""`yibao jobs credit`: a month's contribution file, streamed, restartable, nothing silently dropped (R3)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import StoppedClock, add_person, build_world, new_id_number, new_uscc
from yibao.domain.clock import SHANGHAI
from yibao.jobs.credit import CreditSummary, credit_file
from yibao.services.accounts import balances
from yibao.services.registry import enrolment
from yibao.store.tables import idempotency_keys, ledger_accounts, ledger_entries, ledger_postings

YIBAO = str(Path(sys.executable).parent / "yibao")


class Crash(Exception):
    pass


@pytest.fixture
def payroll(ctx, admin, tmp_path):
    """A unit with five employees, a file of their January contributions, and four bad rows."""
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    uscc = enrolment.get_employer(ctx, actor=admin, employer_id=world.employer_id).uscc
    staff = [world.person]
    for n in range(4):
        person = add_person(ctx, admin, name="王李赵孙"[n] + "明", card=False, username=f"staff{n}")
        enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", employer_id=world.employer_id,
                         start_date=dt.date(2025, 1, 1))
        staff.append(person)
    good = [(p.id_number, 800_000 + 100_000 * n, uscc) for n, p in enumerate(staff)]
    bad = [
        ("110105198503120000", "600000", uscc),  # checksum wrong
        (new_id_number(), "600000", uscc),  # nobody registered with this number
        (staff[1].id_number, "6000.00", uscc),  # money in yuan, not fen
        (world.other.id_number, "600000", uscc),  # not employed by this unit
    ]
    path = tmp_path / "2026-01.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id_number", "base_fen", "employer_uscc"])
        writer.writerows(good[:3] + bad + good[3:])
    return world, staff, path


def balance(ctx, admin, person_id) -> int:
    return balances.get_account(ctx, actor=admin, person_id=person_id).balance_fen


def postings_sum(ctx) -> int:
    with ctx.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(ledger_postings.c.amount_fen), 0)))


def test_a_file_is_credited_and_every_refused_row_is_written_with_its_reason(ctx, admin, payroll):
    world, staff, path = payroll
    summary = credit_file(ctx, actor=admin, path=path, period="2026-01", batch=3)
    assert (summary.rows, summary.credited, summary.repeated, summary.rejected) == (9, 5, 0, 4)
    assert summary.credited_fen == sum(2 * (8_000 + 1_000 * n) for n in range(5))  # 2% of each base
    assert [balance(ctx, admin, p.id) for p in staff] == [16_000, 18_000, 20_000, 22_000, 24_000]
    with summary.rejected_path.open(encoding="utf-8") as f:
        rejected = list(csv.DictReader(f))
    assert [(r["line"], r["code"]) for r in rejected] == [
        ("5", "person.id_number_invalid"), ("6", "person.not_found"), ("7", "contribution.invalid"),
        ("8", "contribution.not_enrolled")]
    assert all(r["message_zh"] and r["message_en"] for r in rejected)
    assert postings_sum(ctx) == 0


def test_rerunning_after_a_crash_credits_every_row_exactly_once(ctx, admin, payroll):
    _, staff, path = payroll

    def crash_after_first_batch(summary):
        raise Crash

    with pytest.raises(Crash):
        credit_file(ctx, actor=admin, path=path, period="2026-01", batch=2, after_batch=crash_after_first_batch)
    assert [balance(ctx, admin, p.id) for p in staff] == [16_000, 18_000, 0, 0, 0]  # the first batch is in

    summary = credit_file(ctx, actor=admin, path=path, period="2026-01", batch=2)
    assert (summary.credited, summary.repeated, summary.rejected) == (3, 2, 4)
    assert [balance(ctx, admin, p.id) for p in staff] == [16_000, 18_000, 20_000, 22_000, 24_000]

    again = credit_file(ctx, actor=admin, path=path, period="2026-01")
    assert (again.credited, again.repeated, again.credited_fen) == (0, 5, 0)
    assert postings_sum(ctx) == 0


def test_a_changed_base_for_a_month_already_credited_is_refused(ctx, admin, payroll, tmp_path):
    world, staff, path = payroll
    credit_file(ctx, actor=admin, path=path, period="2026-01")
    uscc = enrolment.get_employer(ctx, actor=admin, employer_id=world.employer_id).uscc
    fix = tmp_path / "fix.csv"
    fix.write_text(f"id_number,base_fen,employer_uscc\n{staff[0].id_number},999999,{uscc}\n", encoding="utf-8")
    summary = credit_file(ctx, actor=admin, path=fix, period="2026-01")
    assert summary.reasons == {"idempotency.conflict": 1}
    assert balance(ctx, admin, staff[0].id) == 16_000


def test_the_command_reports_a_bad_header_in_both_languages(database_url, tmp_path):
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    bad = tmp_path / "bad.csv"
    bad.write_text("身份证号,金额\n110105198503120000,1\n", encoding="utf-8")
    run = subprocess.run([YIBAO, "jobs", "credit", str(bad), "--period", "2026-01"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "job.file_invalid" in run.stderr and "表头" in run.stderr and "header" in run.stderr


def test_the_command_writes_refused_rows_and_a_summary(ctx, admin, database_url, tmp_path):
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    person = add_person(ctx, admin, card=False, username="cli-person")
    path = tmp_path / "cli.csv"
    path.write_text("id_number,base_fen,employer_uscc\n"
                    f"{person.id_number},500000,\n"  # no enrolment
                    f"{new_id_number()},500000,{new_uscc()}\n", encoding="utf-8")
    run = subprocess.run([YIBAO, "jobs", "credit", str(path), "--period", "2026-01"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "rejected 2" in run.stdout
    rejected = list(csv.DictReader((tmp_path / "cli.rejected.csv").open(encoding="utf-8")))
    assert [r["code"] for r in rejected] == ["contribution.not_enrolled", "person.not_found"]
    assert balance(ctx, admin, person.id) == 0


def everything_written(ctx) -> dict[str, list]:
    with ctx.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(t).order_by(*t.primary_key.columns)).all()
                for t in (ledger_accounts, ledger_entries, ledger_postings, idempotency_keys)}


@contextmanager
def each_run_from_here(ctx):
    """Start each run from the ledger as it is now: emptied and renumbered on PostgreSQL (with what refers
    to it), the database file as it is now restored on SQLite (its ledger rows cannot be deleted)."""
    if ctx.engine.dialect.name == "postgresql":
        def restore():
            with ctx.engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE idempotency_keys, holds, ledger_postings, ledger_entries, "
                                     "ledger_accounts RESTART IDENTITY CASCADE"))
        yield restore
        return
    saved = sqlite3.connect(":memory:")
    with ctx.engine.connect() as conn:
        conn.connection.driver_connection.backup(saved)

    def restore():
        ctx.engine.dispose()
        with ctx.engine.connect() as conn:
            saved.backup(conn.connection.driver_connection)
    try:
        yield restore
    finally:
        saved.close()


def test_the_set_based_path_writes_what_the_row_by_row_path_writes(ctx, admin, payroll, tmp_path, monkeypatch):
    world, staff, path = payroll
    uscc = enrolment.get_employer(ctx, actor=admin, employer_id=world.employer_id).uscc
    flexible = add_person(ctx, admin, card=False, username="flexible")
    enrolment.enroll(ctx, actor=admin, person_id=flexible.id, scheme="employee", flexible=True,
                     start_date=dt.date(2025, 1, 1))
    resident = add_person(ctx, admin, card=False, username="resident")
    enrolment.enroll(ctx, actor=admin, person_id=resident.id, scheme="resident", start_date=dt.date(2025, 1, 1))
    with path.open("a", encoding="utf-8") as f:
        f.write(f"{flexible.id_number},800000,\n"  # pays for itself
                f"{resident.id_number},300000,\n"  # enrolled in a scheme without a personal account
                f"{staff[0].id_number},800000,{uscc}\n"  # the same row again: already credited
                f"{staff[2].id_number},999999,{uscc}\n"  # the same key, another base: a conflict
                f"{staff[1].id_number},10000000000,{uscc}\n"  # above Beijing's ceiling for the year
                f"{staff[3].id_number},500000,91110105MA0000000X\n"  # a credit code with a bad check digit
                f"{staff[3].id_number},500000,{new_uscc()}\n"  # no such unit
                f"{new_id_number()},500000,not-a-code\n"  # nobody: reported before the bad code
                f"{flexible.id_number},abc,\n")
    ctx.clock = StoppedClock(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    runs = {}
    with each_run_from_here(ctx) as restore:
        for set_based in (False, True):
            runs[set_based] = credit_twice(ctx, admin, path, set_based, restore, monkeypatch)
    assert runs[True][0] == runs[False][0]
    assert runs[True][0][0][:4] == (18, 7, 1, 10)
    assert runs[True][1] == runs[False][1]
    for table, rows in runs[False][2].items():
        assert runs[True][2][table] == rows, table


def credit_twice(ctx, admin, path, set_based, restore, monkeypatch):
    """The file credited twice by one path from the same start: the summaries, the refused rows, what was written."""
    counter = iter(range(1, 10_000))
    monkeypatch.setattr("yibao.services.accounts.books.new_id", lambda prefix, n=counter: f"{prefix}_{next(n):016x}")
    restore()
    first = credit_file(ctx, actor=admin, path=path, period="2026-01", batch=4, set_based=set_based)
    rejected = first.rejected_path.read_text(encoding="utf-8")
    again = credit_file(ctx, actor=admin, path=path, period="2026-01", batch=4, set_based=set_based)
    return ([(s.rows, s.credited, s.repeated, s.rejected, s.credited_fen, s.reasons) for s in (first, again)],
            rejected, everything_written(ctx))


@pytest.mark.postgresql_only
def test_a_batch_credited_in_lanes_credits_what_one_transaction_credits(ctx, admin, payroll, monkeypatch):
    from yibao.services.audit.verify import verify

    _, staff, path = payroll
    with path.open("a", encoding="utf-8") as f:
        f.write(path.read_text(encoding="utf-8").splitlines()[1] + "\n")  # the first row again, in the same batch
    monkeypatch.setattr("yibao.jobs.credit.LANE_MIN", 1)
    summary = credit_file(ctx, actor=admin, path=path, period="2026-01", batch=20)
    assert (summary.rows, summary.credited, summary.repeated, summary.rejected) == (10, 5, 1, 4)
    assert [balance(ctx, admin, p.id) for p in staff] == [16_000, 18_000, 20_000, 22_000, 24_000]
    with summary.rejected_path.open(encoding="utf-8") as f:
        assert [r["line"] for r in csv.DictReader(f)] == ["5", "6", "7", "8"]  # in file order

    again = credit_file(ctx, actor=admin, path=path, period="2026-01", batch=20)
    assert (again.credited, again.repeated, again.rejected) == (0, 6, 4)
    assert postings_sum(ctx) == 0
    assert verify(ctx).ok


@pytest.mark.postgresql_only
def test_two_runs_of_one_file_at_once_credit_every_row_once(ctx, admin, payroll, tmp_path):
    from tests.integration.test_ledger_concurrency import all_at_once

    _, staff, path = payroll
    summaries = all_at_once(2, lambda i: credit_file(ctx, actor=admin, path=path, period="2026-01", batch=2,
                                                     rejected_path=tmp_path / f"run{i}.rejected.csv"))
    assert all(isinstance(s, CreditSummary) for s in summaries), summaries
    assert (sum(s.credited for s in summaries), sum(s.repeated for s in summaries)) == (5, 5)  # once each
    assert [balance(ctx, admin, p.id) for p in staff] == [16_000, 18_000, 20_000, 22_000, 24_000]
    assert postings_sum(ctx) == 0
