"""Collection (征缴到账): money enters an account only once the collector confirms it, within the base's bounds.

A flexible worker or a unit declares (202, pending, nothing credited); the collector confirms through the API
or a return file, and only then is the month credited, by the period's rule, once. A base outside the region's
floor and ceiling for the year is refused on every path and writes nothing; what is never collected is arrears.
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from tests.support import API, assert_problem, bearer, build_world, count, new_phone, new_uscc
from yibao.domain.clock import SHANGHAI
from yibao.jobs.credit import credit_file
from yibao.services.accounts import balances
from yibao.services.credentials import auth
from yibao.services.registry import enrolment, life_events
from yibao.store.tables import audit_records, contribution_declarations, idempotency_keys, ledger_entries

FEBRUARY = dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI)
BEIJING_2025 = {"min_fen": 716_200, "max_fen": 3_581_100}  # the base year from July 2025


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(FEBRUARY)
    world = build_world(ctx, admin)
    enrolment.enroll(ctx, actor=admin, person_id=world.other.id, scheme="employee", flexible=True,
                     start_date=dt.date(2025, 1, 1))  # the "stranger" works flexibly and pays for themselves
    return world


def post(client, who: str, body: dict):
    return client.post(f"{API}/contributions", headers=bearer(client, who), json=body)


def own_payment(world, period: str, base_fen: int) -> dict:
    return {"person_id": world.other.id, "period": period, "base_fen": base_fen}


def unit_declaration(world, period: str, base_fen: int) -> dict:
    return {"person_id": world.person.id, "period": period, "base_fen": base_fen, "employer_id": world.employer_id}


def confirm(client, declaration_id: str, who: str = "collector-user"):
    return client.post(f"{API}/contributions/{declaration_id}/confirm", headers=bearer(client, who))


def balance(ctx, admin, person_id: str) -> int:
    return balances.get_account(ctx, actor=admin, person_id=person_id).balance_fen


def written(ctx) -> tuple[int, ...]:
    return tuple(count(ctx, t) for t in (ledger_entries, idempotency_keys, contribution_declarations, audit_records))


def test_a_flexible_worker_paying_themselves_for_a_past_month_only_declares(ctx, admin, client, world):
    entries, keys = count(ctx, ledger_entries), count(ctx, idempotency_keys)
    r = post(client, "stranger", own_payment(world, "2025-08", 3_000_000))
    assert r.status_code == 202, r.text
    body = r.json()
    assert (body["status"], body["credited_fen"], body["contribution_id"], body["declared_by_role"]) == (
        "pending", 0, None, "person")
    assert balance(ctx, admin, world.other.id) == 0
    assert (count(ctx, ledger_entries), count(ctx, idempotency_keys)) == (entries, keys)
    again = post(client, "stranger", own_payment(world, "2025-08", 3_000_000))  # sent twice: the same declaration
    assert again.status_code == 202 and again.json()["declaration_id"] == body["declaration_id"]
    other_base = post(client, "stranger", own_payment(world, "2025-08", 2_000_000))
    assert_problem(other_base, 409, "contribution.declaration_conflict")


def test_a_hundred_million_base_is_refused_on_every_path_and_writes_nothing(ctx, admin, client, world, tmp_path):
    before = written(ctx)
    attack = post(client, "stranger", own_payment(world, "2025-08", 10_000_000_000))
    problem = assert_problem(attack, 422, "contribution.base_out_of_range")
    assert {k: problem[k] for k in BEIJING_2025} == BEIJING_2025
    assert "10000000000" not in problem["message_zh"] + problem["message_en"] + problem["title"]
    too_low = post(client, "unit-user", unit_declaration(world, "2026-01", 500_000))  # ¥5,000: under the floor
    assert {k: assert_problem(too_low, 422, "contribution.base_out_of_range")[k] for k in BEIJING_2025} == BEIJING_2025
    direct = post(client, "collector-user", unit_declaration(world, "2026-01", 10_000_000_000))
    assert_problem(direct, 422, "contribution.base_out_of_range")
    assert written(ctx) == before and balance(ctx, admin, world.other.id) == 0

    rows = tmp_path / "2026-01.csv"
    rows.write_text(f"id_number,base_fen\n{world.other.id_number},10000000000\n{world.other.id_number},3000000\n",
                    encoding="utf-8")
    summary = credit_file(ctx, actor=admin, path=rows, period="2026-01")
    assert (summary.rows, summary.credited, summary.rejected) == (2, 1, 1)
    assert summary.reasons == {"contribution.base_out_of_range": 1}
    [refused] = list(csv.DictReader(summary.rejected_path.open(encoding="utf-8")))
    assert (refused["line"], refused["code"]) == ("2", "contribution.base_out_of_range")
    assert balance(ctx, admin, world.other.id) == 60_000  # only the row within the bounds


def test_the_bounds_are_those_of_the_base_year(ctx, admin, client, world):
    # ¥35,000 is above the ceiling of the year from July 2023 (¥33,891) and within that from July 2025 (¥35,811)
    early = post(client, "collector-user", unit_declaration(world, "2024-03", 3_500_000))
    problem = assert_problem(early, 422, "contribution.base_out_of_range")
    assert (problem["min_fen"], problem["max_fen"]) == (632_600, 3_389_100)
    later = post(client, "collector-user", unit_declaration(world, "2025-08", 3_500_000))
    assert later.status_code == 201, later.text
    assert later.json()["credited_fen"] == 70_000


def test_a_unit_declares_the_collector_confirms_and_the_month_credits_once(ctx, admin, client, world):
    declared = post(client, "unit-user", unit_declaration(world, "2026-01", 1_234_567))
    assert declared.status_code == 202, declared.text
    declaration_id = declared.json()["declaration_id"]
    assert balance(ctx, admin, world.person.id) == 0

    before = written(ctx)
    assert_problem(confirm(client, declaration_id, who="unit-user"), 403, "auth.forbidden")  # not its own money
    assert_problem(confirm(client, declaration_id, who="reviewer-user"), 403, "auth.forbidden")
    assert written(ctx) == before

    first = confirm(client, declaration_id)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["status"], body["declaration_id"], body["credited_fen"], body["balance_fen"]) == (
        "collected", declaration_id, 24_691, 24_691)  # 2 % of ¥12,345.67, rounded down to the fen
    assert body["rule"]["rule_id"] == "national.contribution.employee" and body["contribution_id"]
    entries = count(ctx, ledger_entries)
    second = confirm(client, declaration_id)
    assert second.status_code == 200 and second.json() == body
    assert count(ctx, ledger_entries) == entries and balance(ctx, admin, world.person.id) == 24_691
    # the unit sending the same declaration again changes nothing: it is collected
    again = post(client, "unit-user", unit_declaration(world, "2026-01", 1_234_567))
    assert again.status_code == 202 and again.json()["status"] == "collected"
    assert balance(ctx, admin, world.person.id) == 24_691
    assert_problem(confirm(client, "dcl_0000000000000000"), 404, "contribution.declaration_not_found")


def test_a_unit_declares_only_for_its_own_employees(ctx, admin, client, world):
    before = written(ctx)
    r = post(client, "unit-user", {"person_id": world.other.id, "period": "2026-01", "base_fen": 1_000_000})
    assert_problem(r, 403, "auth.forbidden")
    r = post(client, "stranger", unit_declaration(world, "2026-01", 1_000_000))  # nobody pays for another
    assert_problem(r, 403, "auth.forbidden")
    assert written(ctx) == before


def test_future_months_and_months_after_a_death_stay_refused_when_declared(ctx, admin, client, world):
    before = written(ctx)
    assert_problem(post(client, "unit-user", unit_declaration(world, "2026-03", 1_000_000)), 422,
                   "contribution.invalid")
    life_events.record_event(ctx, actor=admin, person_id=world.other.id, kind="death", date=dt.date(2025, 12, 20))
    before = written(ctx)
    after_death = post(client, "collector-user", own_payment(world, "2026-01", 1_000_000))
    assert_problem(after_death, 422, "contribution.after_life_event")
    assert written(ctx) == before


def test_what_is_never_collected_is_arrears_for_the_unit_the_person_and_the_agency(ctx, admin, client, world):
    other_unit = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="另一单位", region="110000",
                                             contact_name="孙力", contact_phone=new_phone())
    auth.add_user(ctx, actor=admin, username="other-unit", password="correct-horse-9", role="unit",
                  employer_id=other_unit.id)
    for period in ("2025-12", "2026-01", "2026-02"):  # February is this month: not overdue yet
        assert post(client, "unit-user", unit_declaration(world, period, 1_000_000)).status_code == 202
    own = post(client, "stranger", own_payment(world, "2025-11", 800_000))
    assert own.status_code == 202

    def arrears(who: str, **query) -> list[tuple]:
        r = client.get(f"{API}/contributions/arrears", headers=bearer(client, who), params=query)
        assert r.status_code == 200, r.text
        return [(x["person_id"], x["period"], x["months_overdue"]) for x in r.json()["items"]]

    employee, worker = world.person.id, world.other.id
    assert arrears("unit-user") == [(employee, "2025-12", 2), (employee, "2026-01", 1)]
    assert arrears("other-unit") == []
    assert arrears("employee") == [(employee, "2025-12", 2), (employee, "2026-01", 1)]
    assert arrears("stranger") == [(worker, "2025-11", 3)]
    assert arrears("counter-user") == [(worker, "2025-11", 3), (employee, "2025-12", 2), (employee, "2026-01", 1)]
    assert arrears("collector-user", employer_id=world.employer_id) == arrears("unit-user")
    page = client.get(f"{API}/contributions/arrears", headers=bearer(client, "unit-user")).json()
    assert page["total_base_fen"] == 2_000_000
    for who, query in [("other-unit", {"employer_id": world.employer_id}), ("stranger", {"person_id": employee}),
                       ("institution-user", {})]:
        r = client.get(f"{API}/contributions/arrears", headers=bearer(client, who), params=query)
        assert_problem(r, 403, "auth.forbidden")

    december = next(x for x in page["items"] if x["period"] == "2025-12")
    assert confirm(client, december["declaration_id"]).status_code == 200
    assert arrears("unit-user") == [(employee, "2026-01", 1)]


def test_the_collectors_return_file_confirms_declarations(ctx, admin, client, world, tmp_path):
    january = post(client, "unit-user", unit_declaration(world, "2026-01", 1_000_000)).json()
    own = post(client, "stranger", own_payment(world, "2026-01", 800_000)).json()
    returned = tmp_path / "return-2026-01.csv"
    returned.write_text("id_number,base_fen,employer_uscc,declaration_id\n"
                        f"{world.person.id_number},1000000,,{january['declaration_id']}\n"
                        f"{world.other.id_number},900000,,{own['declaration_id']}\n"  # not the base declared
                        f"{world.other.id_number},800000,,dcl_0000000000000000\n"  # no such declaration
                        f"{world.person.id_number},1000000,,{own['declaration_id']}\n",  # someone else's
                        encoding="utf-8")
    summary = credit_file(ctx, actor=admin, path=returned, period="2026-01")
    assert (summary.rows, summary.credited, summary.repeated, summary.rejected) == (4, 1, 0, 3)
    assert summary.reasons == {"contribution.declaration_conflict": 1, "contribution.declaration_not_found": 2}
    assert balance(ctx, admin, world.person.id) == 20_000 and balance(ctx, admin, world.other.id) == 0

    again = credit_file(ctx, actor=admin, path=returned, period="2026-01")  # a re-run credits nothing twice
    assert (again.credited, again.repeated, again.credited_fen) == (0, 1, 0)
    assert balance(ctx, admin, world.person.id) == 20_000

    # a file in the crediting format (no declaration_id) names the person and the month: it collects them too
    plain = tmp_path / "2026-01.csv"
    plain.write_text(f"id_number,base_fen\n{world.other.id_number},800000\n", encoding="utf-8")
    assert credit_file(ctx, actor=admin, path=plain, period="2026-01").credited == 1
    assert balance(ctx, admin, world.other.id) == 16_000
    r = client.get(f"{API}/contributions/arrears", headers=bearer(client, "counter-user"))
    assert r.json()["items"] == []
    collected = confirm(client, own["declaration_id"])  # confirming after the file credits nothing more
    assert collected.status_code == 200 and collected.json()["status"] == "collected"
    assert balance(ctx, admin, world.other.id) == 16_000


def test_only_the_collector_or_an_admin_runs_the_crediting_job(ctx, admin, world, tmp_path):
    from yibao.domain import errors
    from yibao.domain.users import Actor, Role

    rows = tmp_path / "2026-01.csv"
    rows.write_text(f"id_number,base_fen\n{world.other.id_number},800000\n", encoding="utf-8")
    with pytest.raises(errors.AccessForbidden):
        credit_file(ctx, actor=Actor(username="r", role=Role.REVIEWER), path=rows, period="2026-01")
    collector = Actor(username="tax-office", role=Role.COLLECTOR)
    assert credit_file(ctx, actor=collector, path=rows, period="2026-01").credited == 1
