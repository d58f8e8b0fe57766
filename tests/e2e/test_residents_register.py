"""Identity you can trust: the residents register (人口库) decides who exists. Stories of the attacks that were
open (someone else's ID number under any name, the duplicate oracle, a fraudster's pending registration
blocking the real person, an e-voucher before approval), each refused and writing nothing, beside the legal
paths that still work; the register's feed through the admin endpoint and the `yibao` command."""

from __future__ import annotations

import csv
import datetime as dt

import sqlalchemy as sa

from tests.support import (
    API,
    PASSWORD,
    add_person,
    assert_problem,
    bearer,
    build_world,
    count,
    in_register,
    new_bank_no,
    new_id_number,
    new_phone,
    rows,
    yibao,
)
from yibao.domain.identity import with_ric_digit
from yibao.store import tables
from yibao.store.db import create_engine

MISMATCH = "registration.identity_mismatch"
WRITTEN = (tables.persons, tables.users, tables.enrollments, tables.audit_records, tables.master_data_versions,
           tables.bank_accounts, tables.evouchers)


def written(ctx) -> tuple[int, ...]:
    return tuple(count(ctx, t) for t in WRITTEN)


def register(client, number: str, name: str, *, phone: str | None = None, password: str = PASSWORD, **more):
    return client.post(f"{API}/register", json={"id_number": number, "name": name, "phone": phone or new_phone(),
                                                "region": "110000", "password": password, **more})


def person_row(ctx, person_id: str):
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(tables.persons).where(tables.persons.c.id == person_id)).one()


def audit_actions(ctx, entity_id: str) -> list[str]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(sa.select(tables.audit_records.c.action)
                                 .where(tables.audit_records.c.entity_id == entity_id)
                                 .order_by(tables.audit_records.c.seq)).scalars())


def evoucher(client, headers, person_id: str, number: str, name: str):
    return client.post(f"{API}/evouchers", headers=headers,
                       json={"person_id": person_id, "id_number": number, "name": name, "channel": "app"})


# --- the attacks --------------------------------------------------------------------


def test_someone_registering_anothers_number_under_any_name_is_refused_and_nothing_is_written(ctx, admin, client):
    build_world(ctx, admin)
    number = new_id_number(birth="19800211", male=False)
    in_register(ctx, admin, number, "王芳")
    before = written(ctx)

    for name in ("李四", "王 芳芳", "Wang Fang"):
        problem = assert_problem(register(client, number, name), 422, MISMATCH)
        assert number not in str(problem) and name not in str(problem)

    assert written(ctx) == before
    r = register(client, number, "王芳")  # the real person still can
    assert r.status_code == 201, r.text


def test_the_answer_is_the_same_whether_or_not_the_number_is_known_or_registered(ctx, admin, client):
    world = build_world(ctx, admin)
    staff = bearer(client, "counter-user")
    in_register_only = new_id_number(birth="19750505")
    in_register(ctx, admin, in_register_only, "刘洋")
    registered_here = world.person  # 张伟: registered by the agency, enrolled with the unit
    in_register(ctx, admin, registered_here.id_number, registered_here.name)
    dead = new_id_number(birth="19400101")
    in_register(ctx, admin, dead, "孙老汉", status="deceased", event_date="2025-03-01")
    counter_only = new_id_number(birth="19690909")  # registered at the counter, not in the register
    assert client.post(f"{API}/persons", headers=staff, json={"id_number": counter_only, "name": "周强",
                                                              "phone": new_phone(), "region": "110000"}
                       ).status_code == 201
    before = written(ctx)

    answers = [
        register(client, in_register_only, "冒名者"),  # known number, wrong name
        register(client, registered_here.id_number, "冒名者"),  # known and registered here, wrong name
        register(client, registered_here.id_number, registered_here.name),  # already registered: no 409
        register(client, dead, "孙老汉"),  # the register says deceased
        register(client, counter_only, "冒名者"),  # registered here at the counter
        register(client, counter_only, "周强"),
    ]

    bodies = [assert_problem(r, 422, MISMATCH) for r in answers]
    assert all(body == bodies[0] for body in bodies), bodies
    assert all(r.headers["content-type"] == answers[0].headers["content-type"] for r in answers)
    assert written(ctx) == before


def test_a_fraudsters_pending_registration_does_not_block_the_real_person_at_the_counter(ctx, admin, client):
    build_world(ctx, admin)
    number = new_id_number(birth="19720315")  # from another region: the register does not know it
    fraud_phone = new_phone()
    r = register(client, number, "假名字", phone=fraud_phone, password="fraudster-pass-1")
    assert r.status_code == 201, r.text
    person_id = r.json()["person_id"]
    fraudster = bearer(client, fraud_phone, "fraudster-pass-1")
    bank_no = new_bank_no()
    assert client.post(f"{API}/bank-accounts", headers=fraudster, json={
        "person_id": person_id, "account_no": bank_no, "bank_name": "某银行", "holder_name": "假名字"}
    ).status_code == 201
    card_no = client.post(f"{API}/cards", headers=bearer(client, "counter-user"),
                          json={"person_id": person_id}).json()["card_no"]
    assert client.post(f"{API}/cards/{card_no}/activate", headers=fraudster,
                       json={"id_number": number, "pin": "472951"}).status_code == 200
    assert_problem(client.post(f"{API}/enrollments/{r.json()['enrollment_id']}/approve",
                               headers=bearer(client, "reviewer-user")), 409, "enrollment.person_unverified")

    real_phone = new_phone()
    r = client.post(f"{API}/persons", headers=bearer(client, "counter-user"),
                    json={"id_number": number, "name": "陈建国", "phone": real_phone, "region": "110000"})

    assert r.status_code == 201, r.text
    assert r.json()["person_id"] == person_id  # the record is the real person's now
    row = person_row(ctx, person_id)
    assert (row.name, row.phone, row.verified_how, row.verified_by) == ("陈建国", real_phone, "counter",
                                                                       "counter-user")
    assert client.post(f"{API}/auth/token", data={"username": fraud_phone, "password": "fraudster-pass-1"}
                       ).status_code == 401
    assert client.get(f"{API}/me", headers=fraudster).status_code == 401  # the session ended too
    assert [b.account_no for b in rows(ctx, tables.bank_accounts) if b.person_id == person_id and b.status == "linked"] == []
    assert [c.status for c in rows(ctx, tables.cards) if c.card_no == card_no] == ["lost"]  # its PIN is theirs
    statuses = [e.status for e in rows(ctx, tables.enrollments) if e.person_id == person_id]
    assert statuses == ["superseded"]
    assert "person.registration_superseded" in audit_actions(ctx, person_id)
    # the legal path goes on: enrolled at the counter, the real person's e-voucher works
    h = bearer(client, "admin-user")
    assert client.post(f"{API}/enrollments", headers=h, json={"person_id": person_id, "scheme": "resident",
                                                              "start_date": "2026-01-01"}).status_code == 201
    r = client.post(f"{API}/users", headers=h, json={"username": "chenjianguo", "password": PASSWORD,
                                                     "role": "person", "person_id": person_id})
    assert r.status_code == 201, r.text
    assert evoucher(client, bearer(client, "chenjianguo"), person_id, number, "陈建国").status_code == 201
    # and the fraudster cannot come back
    before = written(ctx)
    assert_problem(register(client, number, "假名字", phone=fraud_phone), 422, MISMATCH)
    assert written(ctx) == before


def test_the_real_persons_confirmed_registration_supersedes_a_fraudsters_pending_one(ctx, admin, client):
    build_world(ctx, admin)
    number = new_id_number(birth="19880601", male=False)
    in_register(ctx, admin, number, "赵敏")
    r = register(client, number, "赵敏", phone="13600000001", password="fraudster-pass-1")  # knows her name
    assert r.status_code == 201, r.text
    person_id, stale_enrollment = r.json()["person_id"], r.json()["enrollment_id"]

    r = register(client, number, "赵敏", phone="13600000002", password="my-own-pass-1")

    assert r.status_code == 201, r.text
    assert r.json()["person_id"] == person_id and r.json()["enrollment_id"] != stale_enrollment
    assert client.post(f"{API}/auth/token", data={"username": "13600000001", "password": "fraudster-pass-1"}
                       ).status_code == 401
    me = bearer(client, "13600000002", "my-own-pass-1")
    assert client.get(f"{API}/persons/{person_id}", headers=me).json()["phone"] == "13600000002"
    approved = client.post(f"{API}/enrollments/{r.json()['enrollment_id']}/approve",
                           headers=bearer(client, "reviewer-user"))
    assert approved.status_code == 200, approved.text
    assert evoucher(client, me, person_id, number, "赵敏").status_code == 201
    # once approved, nobody's registration replaces hers
    before = written(ctx)
    assert_problem(register(client, number, "赵敏", phone="13600000001"), 422, MISMATCH)
    assert written(ctx) == before


def test_no_evoucher_before_the_enrolment_is_approved(ctx, admin, client):
    build_world(ctx, admin)
    number, phone = new_id_number(birth="19910101"), new_phone()
    in_register(ctx, admin, number, "吴昊")
    reg = register(client, number, "吴昊", phone=phone).json()
    me = bearer(client, phone)
    before = written(ctx)

    problem = assert_problem(evoucher(client, me, reg["person_id"], number, "吴昊"), 409,
                             "evoucher.enrolment_pending")

    assert "审核" in problem["message_zh"] and "approval" in problem["message_en"]
    assert written(ctx) == before
    assert client.post(f"{API}/enrollments/{reg['enrollment_id']}/approve",
                       headers=bearer(client, "reviewer-user")).status_code == 200
    r = evoucher(client, me, reg["person_id"], number, "吴昊")
    assert r.status_code == 201, r.text
    assert r.json()["token"]


# --- the legal paths -----------------------------------------------------------------


def test_a_number_the_register_does_not_know_stays_pending_until_verified_at_a_counter(ctx, admin, client):
    build_world(ctx, admin)
    number, phone = new_id_number(place="210202", birth="19580612"), new_phone()
    r = register(client, number, "郑大连", phone=phone)
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["enrollment_status"] == "requested"
    assert "verify_at_counter" in [s["step"] for s in reg["next_steps"]]
    reviewer, counter = bearer(client, "reviewer-user"), bearer(client, "counter-user")
    assert_problem(client.post(f"{API}/enrollments/{reg['enrollment_id']}/approve", headers=reviewer),
                   409, "enrollment.person_unverified")
    before = written(ctx)
    for wrong in ({"phone": new_phone()}, {"name": "郑小连"}, {"id_number": new_id_number()}):
        body = {"id_number": number, "name": "郑大连", "phone": phone, **wrong}
        assert_problem(client.post(f"{API}/persons/{reg['person_id']}/verify", headers=counter, json=body),
                       422, MISMATCH)
    assert written(ctx) == before

    r = client.post(f"{API}/persons/{reg['person_id']}/verify", headers=counter,
                    json={"id_number": number, "name": "郑大连", "phone": phone})

    assert r.status_code == 200, r.text
    assert r.json()["id_number"] != number  # masked for staff
    row = person_row(ctx, reg["person_id"])
    assert (row.verified_how, row.verified_by) == ("counter", "counter-user")
    again = written(ctx)
    assert client.post(f"{API}/persons/{reg['person_id']}/verify", headers=counter,
                       json={"id_number": number, "name": "郑大连", "phone": phone}).status_code == 200
    assert written(ctx) == again  # verifying twice changes nothing
    assert client.post(f"{API}/enrollments/{reg['enrollment_id']}/approve", headers=reviewer).status_code == 200
    assert evoucher(client, bearer(client, phone), reg["person_id"], number, "郑大连").status_code == 201


def test_the_counter_registers_a_person_not_in_the_register_as_verified(ctx, admin, client):
    build_world(ctx, admin)
    number = new_id_number(birth="19660606")

    r = client.post(f"{API}/persons", headers=bearer(client, "counter-user"),
                    json={"id_number": number, "name": "钱进", "phone": new_phone(), "region": "110000"})

    assert r.status_code == 201, r.text
    row = person_row(ctx, r.json()["person_id"])
    assert row.verified_how == "counter" and row.verified_by == "counter-user" and row.verified_at is not None
    assert_problem(client.post(f"{API}/persons", headers=bearer(client, "admin-user"), json={
        "id_number": number, "name": "钱进", "phone": new_phone(), "region": "110000"}), 409, "person.duplicate")


def test_persons_registered_by_staff_and_enrolled_activate_their_evoucher_as_before(ctx, admin, client):
    world = build_world(ctx, admin)
    p = world.person

    r = evoucher(client, bearer(client, p.username), p.id, p.id_number, p.name)

    assert r.status_code == 201, r.text
    assert person_row(ctx, p.id).verified_how == "counter"


# --- ID numbers through the API ----------------------------------------------------------


def test_real_numbers_with_late_place_codes_register_and_never_existing_codes_are_a_422(ctx, admin, client):
    build_world(ctx, admin)
    staff = bearer(client, "counter-user")
    r = client.post(f"{API}/persons", headers=staff, json={"id_number": "210202195806121713", "name": "林海",
                                                           "phone": new_phone(), "region": "210200"})
    assert r.status_code == 201, r.text
    before = written(ctx)

    for code in ("110199", "210299", "990101"):
        number = with_ric_digit(f"{code}19850312001")
        problem = assert_problem(client.post(f"{API}/persons", headers=staff, json={
            "id_number": number, "name": "赵磊", "phone": new_phone(), "region": "110000"}),
            422, "person.id_number_invalid")
        assert "place code" in problem["message_en"] and number not in str(problem)
        assert_problem(register(client, number, "赵磊"), 422, "person.id_number_invalid")
        assert_problem(client.post(f"{API}/persons/lookup", headers=bearer(client, "reviewer-user"),
                                   json={"id_number": number}), 422, "person.id_number_invalid")

    assert written(ctx) == before


# --- the register's feed ----------------------------------------------------------------------


def test_admin_imports_register_rows_and_importing_them_again_changes_nothing(ctx, admin, client):
    build_world(ctx, admin)
    h = bearer(client, "admin-user")
    a, b = new_id_number(birth="19500101"), new_id_number(birth="19600101", male=False)
    good = [{"id_number": a, "name": "马国强", "status": "alive"},
            {"id_number": b, "name": "马秀兰", "status": "emigrated", "event_date": "2024-08-01"}]
    bad = [{"id_number": a[:-1] + ("0" if a[-1] != "0" else "1"), "name": "甲", "status": "alive"},
           {"id_number": new_id_number(), "name": "乙", "status": "missing"},
           {"id_number": new_id_number(), "name": "丙", "status": "deceased"},
           {"id_number": new_id_number(), "name": "丁", "status": "alive", "event_date": "2024-01-01"},
           {"id_number": new_id_number(birth="19700101"), "name": "戊", "status": "deceased",
            "event_date": "1969-12-31"},
           {"id_number": new_id_number(), "name": "己1", "status": "alive"}]

    r = client.post(f"{API}/registry/residents", headers=h, json={"rows": [*good, *bad], "source": "人口库2026-11"})

    assert r.status_code == 200, r.text
    summary = r.json()
    assert {k: summary[k] for k in ("rows", "accepted", "updated", "unchanged", "rejected", "life_events")} == {
        "rows": 8, "accepted": 2, "updated": 0, "unchanged": 0, "rejected": 6, "life_events": 0}
    assert [(x["line"], x["code"]) for x in summary["rejected_rows"]] == [
        (3, "person.id_number_invalid"), (4, "resident.status_invalid"), (5, "resident.event_date_invalid"),
        (6, "resident.event_date_invalid"), (7, "resident.event_date_invalid"), (8, "person.name_invalid")]
    assert all(x["message_zh"] and x["message_en"] for x in summary["rejected_rows"])
    assert a not in r.text and b not in r.text  # no ID number echoed
    assert count(ctx, tables.residents) == 2
    versions = count(ctx, tables.master_data_versions)

    again = client.post(f"{API}/registry/residents", headers=h, json={"rows": good}).json()

    assert (again["accepted"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 2, 0)
    assert count(ctx, tables.master_data_versions) == versions
    renamed = client.post(f"{API}/registry/residents", headers=h,
                          json={"rows": [{**good[0], "name": "马国庆"}]}).json()
    assert (renamed["accepted"], renamed["updated"]) == (0, 1)
    history = [v for v in rows(ctx, tables.master_data_versions) if v.entity == "resident"
               and v.data["id_number"] == a]
    assert [v.data["name"] for v in sorted(history, key=lambda v: v.valid_from)] == ["马国强", "马国庆"]
    assert_problem(client.post(f"{API}/registry/residents", headers=h, json={"rows": []}), 422, "request.invalid")
    assert_problem(client.post(f"{API}/registry/residents", headers=h,
                               json={"rows": [{**good[0], "id_card": a}]}), 422, "request.invalid")


def test_a_deceased_row_of_a_registered_person_records_the_life_event_once(ctx, admin, client):
    build_world(ctx, admin)
    p = add_person(ctx, admin, name="黄伯", birth="19380405", card=False)
    h = bearer(client, "admin-user")
    row = {"id_number": p.id_number, "name": "黄伯", "status": "deceased", "event_date": "2026-10-20"}

    first = client.post(f"{API}/registry/residents", headers=h, json={"rows": [row]}).json()
    again = client.post(f"{API}/registry/residents", headers=h, json={"rows": [row]}).json()

    assert (first["accepted"], first["life_events"]) == (1, 1)
    assert (again["unchanged"], again["life_events"]) == (1, 0)
    [event] = [e for e in rows(ctx, tables.life_events) if e.person_id == p.id]
    assert (event.kind, event.event_date, event.source) == ("death", dt.date(2026, 10, 20), "register")
    assert [r.action for r in rows(ctx, tables.audit_records)].count("life_event.record") == 1
    shown = client.get(f"{API}/persons/{p.id}/life-events", headers=h)
    assert [e["kind"] for e in shown.json()] == ["death"]


def test_import_residents_command_writes_rejected_rows_and_is_harmless_to_repeat(env, database_url, tmp_path):
    assert yibao(env, "db", "upgrade").returncode == 0
    a, b = new_id_number(birth="19450101"), new_id_number(birth="19520202", male=False)
    bad_checksum = a[:-1] + ("0" if a[-1] != "0" else "1")
    extract = tmp_path / "renkouku.csv"
    extract.write_text("id_number,name,status,event_date\n"
                       f"{a},高建华,alive,\n"
                       f"{bad_checksum},高二,alive,\n"
                       f"{b},高秀梅,deceased,2025-12-31\n"
                       f"{new_id_number()},高三,dead,2025-01-01\n"
                       f"{new_id_number()},高四,alive,,extra\n", encoding="utf-8")

    first = yibao(env, "registry", "import-residents", str(extract))

    assert first.returncode == 0, first.stderr
    assert "accepted 2" in first.stdout and "rejected 3" in first.stdout and "新增 2" in first.stdout
    rejected = tmp_path / "renkouku.rejected.csv"
    with rejected.open(encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert [(r["line"], r["code"]) for r in lines] == [("3", "person.id_number_invalid"),
                                                       ("5", "resident.status_invalid"), ("6", "request.invalid")]
    assert lines[0]["id_number"] == bad_checksum and lines[0]["message_en"]

    second = yibao(env, "registry", "import-residents", str(extract), "--rejected", str(tmp_path / "again.csv"))

    assert second.returncode == 0, second.stderr
    assert "accepted 0" in second.stdout and "unchanged 2" in second.stdout
    assert (tmp_path / "again.csv").is_file()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.residents)).scalar() == 2
    engine.dispose()


def test_import_residents_command_refuses_a_wrong_header_or_a_missing_file(env, database_url, tmp_path):
    assert yibao(env, "db", "upgrade").returncode == 0
    extract = tmp_path / "wrong.csv"
    extract.write_text(f"id_number,name,state\n{new_id_number()},高建华,alive\n", encoding="utf-8")

    for path in (extract, tmp_path / "missing.csv"):
        r = yibao(env, "registry", "import-residents", str(path))
        assert r.returncode == 1
        assert "人口库文件无法处理" in r.stderr and "residents register file cannot be processed" in r.stderr
        assert "Traceback" not in r.stderr

    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.residents)).scalar() == 0
    engine.dispose()


# --- demo data -----------------------------------------------------------------------------


def test_the_demo_ships_its_register_and_the_sample_extract_is_that_register(ctx, admin, client, tmp_path):
    from pathlib import Path

    from yibao.services import demo
    from yibao.services.registry import residents

    loaded = demo.load(ctx)
    assert loaded.created["residents"] == len(demo.PERSONS) + len(demo.RESIDENTS_ONLY)
    sample = Path(__file__).parents[2] / "docs" / "guide" / "residents-sample.csv"

    again = residents.import_file(ctx, actor=admin, path=sample, rejected_path=tmp_path / "r.csv")

    assert (again.rows, again.unchanged, again.rejected) == (count(ctx, tables.residents),) * 2 + (0,)
    # the one the register knows but yibao does not may register online; the deceased one may not
    sun = demo.id_number("110105", "19960815", "035")
    r = register(client, sun, "孙悦")
    assert r.status_code == 201, r.text
    assert client.post(f"{API}/enrollments/{r.json()['enrollment_id']}/approve",
                       headers=bearer(client, "reviewer", demo.DEMO_PASSWORD)).status_code == 200
    assert_problem(register(client, demo.id_number("110108", "19401120", "091"), "周德明"), 422, MISMATCH)


def test_a_unit_cannot_register_someone_elses_number_under_another_name(ctx, admin, client):
    build_world(ctx, admin)
    number = new_id_number(birth="19800808")
    in_register(ctx, admin, number, "刘洋")
    unit = bearer(client, "unit-user")
    before = written(ctx)

    forged = client.post(f"{API}/persons", headers=unit,
                         json={"id_number": number, "name": "冒名者", "phone": new_phone(), "region": "110000"})

    assert_problem(forged, 422, MISMATCH)
    assert written(ctx) == before
    real = client.post(f"{API}/persons", headers=unit,
                       json={"id_number": number, "name": "刘洋", "phone": new_phone(), "region": "110000"})
    assert real.status_code == 201, real.text
    assert person_row(ctx, real.json()["person_id"]).verified_how == "register"


def test_a_counter_registration_of_a_number_the_register_records_dead_carries_the_death(ctx, admin, client):
    build_world(ctx, admin)
    number = new_id_number(birth="19400202")
    in_register(ctx, admin, number, "吴老", status="deceased", event_date="2026-01-10")

    r = client.post(f"{API}/persons", headers=bearer(client, "counter-user"),
                    json={"id_number": number, "name": "吴老", "phone": new_phone(), "region": "110000"})

    assert r.status_code == 201, r.text
    person_id = r.json()["person_id"]
    [event] = client.get(f"{API}/persons/{person_id}/life-events", headers=bearer(client, "reviewer-user")).json()
    assert (event["kind"], event["date"]) == ("death", "2026-01-10")
    card = client.post(f"{API}/cards", headers=bearer(client, "counter-user"), json={"person_id": person_id})
    assert_problem(card, 409, "person.deceased")  # no credential for the dead
