"""Units cannot reach strangers: a look-up needs the number and the name and is throttled, enrolments and ends
are dated no further back than the policy allows and are told to the person, and a unit reads only its current
employees' masked basics."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.support import (
    API,
    add_person,
    assert_problem,
    bearer,
    build_world,
    in_register,
    new_id_number,
    new_phone,
    new_uscc,
    row_counts,
)
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import auth
from yibao.services.registry import enrolment
from yibao.store.tables import audit_records

UNIT_REGISTERED = dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)  # the unit and its employee, long before today
TODAY = dt.datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI)
EARLIEST = "2026-02-14"  # thirty days back (《社会保险法》第五十八条)
THIS_MONTH = "2026-03-01"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(UNIT_REGISTERED)
    built = build_world(ctx, admin)
    ctx.clock.set(TODAY)
    return built


def lookup(client, headers, **body):
    return client.post(f"{API}/persons/lookup", headers=headers, json=body)


def inbox(client, person) -> list[dict]:
    return [n for n in client.get(f"{API}/persons/{person.id}/notices", headers=bearer(client, person.username)).json()
            if n["kind"] == "enrollment"]


def newcomer(ctx, admin):
    """A registered person the unit has just taken on, whose name and number it has from their ID card."""
    return add_person(ctx, admin, name="赵磊", card=False)


# --- look-up ---------------------------------------------------------------------------------


def test_a_unit_cannot_look_a_stranger_up_by_number_alone(ctx, client, world):
    unit = bearer(client, "unit-user")
    before = row_counts(ctx)

    r = lookup(client, unit, id_number=world.other.id_number)

    body = assert_problem(r, 422, "request.invalid")
    assert "person_id" not in body and world.other.id not in r.text and world.other.id_number not in r.text
    assert row_counts(ctx) == before
    staff = lookup(client, bearer(client, "counter-user"), id_number=world.other.id_number)  # the contract's look-up
    assert staff.status_code == 200 and staff.json() == {"person_id": world.other.id}


def test_a_wrong_name_answers_exactly_like_an_unknown_number(ctx, admin, client, world):
    unit = bearer(client, "unit-user")
    before = row_counts(ctx)

    wrong_name = lookup(client, unit, id_number=world.other.id_number, name="王芳")
    unknown = lookup(client, unit, id_number=new_id_number(), name="王芳")

    for r in (wrong_name, unknown):
        assert_problem(r, 404, "person.not_found")
    strip = {"instance"}
    assert {k: v for k, v in wrong_name.json().items() if k not in strip} == \
        {k: v for k, v in unknown.json().items() if k not in strip}
    assert world.other.id not in wrong_name.text and "李娜" not in wrong_name.text
    assert row_counts(ctx) == before
    right = lookup(client, unit, id_number=world.other.id_number, name=" 李娜 ")
    assert right.status_code == 200 and right.json() == {"person_id": world.other.id}


def test_a_name_the_register_contradicts_finds_no_one(ctx, admin, client, world):
    moved = add_person(ctx, admin, name="孙丽", card=False)
    in_register(ctx, admin, moved.id_number, "孙丽", status="emigrated", event_date="2026-01-05")
    in_register(ctx, admin, world.other.id_number, "李娜")
    unit = bearer(client, "unit-user")

    assert_problem(lookup(client, unit, id_number=moved.id_number, name="孙丽"), 404, "person.not_found")
    found = lookup(client, unit, id_number=world.other.id_number, name="李娜")  # the register agrees
    assert found.status_code == 200 and found.json() == {"person_id": world.other.id}


def test_a_unit_guessing_numbers_is_throttled(ctx, admin, client, world):
    ctx.settings.unit_lookup_max_misses = 3
    unit = bearer(client, "unit-user")
    for _ in range(2):
        assert_problem(lookup(client, unit, id_number=new_id_number(), name="张伟"), 404, "person.not_found")
    for _ in range(4):  # look-ups that find their person do not count
        assert lookup(client, unit, id_number=world.other.id_number, name="李娜").status_code == 200
    assert_problem(lookup(client, unit, id_number=new_id_number(), name="张伟"), 404, "person.not_found")
    before = row_counts(ctx)

    r = lookup(client, unit, id_number=new_id_number(), name="张伟")

    body = assert_problem(r, 429, "person.too_many_lookups")
    assert 0 < body["retry_after_seconds"] <= ctx.settings.unit_lookup_window_seconds
    assert r.headers["Retry-After"] == str(body["retry_after_seconds"])
    assert_problem(lookup(client, unit, id_number=world.other.id_number, name="李娜"), 429,
                   "person.too_many_lookups")  # until the window ends, a right guess is refused too
    assert row_counts(ctx) == before
    auth.add_user(ctx, actor=admin, username="unit-clerk-2", password="correct-horse-9", role="unit",
                  employer_id=world.employer_id)  # counted per unit user; staff are not throttled
    assert lookup(client, bearer(client, "unit-clerk-2"), id_number=world.other.id_number,
                  name="李娜").status_code == 200
    for _ in range(5):
        assert_problem(lookup(client, bearer(client, "reviewer-user"), id_number=new_id_number()), 404,
                       "person.not_found")


def test_probing_numbers_by_registering_them_counts_against_the_same_throttle(ctx, admin, client, world):
    ctx.settings.unit_lookup_max_misses = 2
    unit = bearer(client, "unit-user")

    def register(number: str, name: str):
        return client.post(f"{API}/persons", headers=unit,
                           json={"id_number": number, "name": name, "phone": new_phone(), "region": "110000"})

    assert_problem(register(world.other.id_number, "王芳"), 409, "person.duplicate")
    new = register(new_id_number(birth="19900101"), "赵磊")  # a real new employee: registered, not counted
    assert new.status_code == 201, new.text
    assert_problem(register(world.person.id_number, "王芳"), 409, "person.duplicate")
    before = row_counts(ctx)

    r = register(new_id_number(birth="19910101"), "钱波")

    assert_problem(r, 429, "person.too_many_lookups")
    assert row_counts(ctx) == before
    assert_problem(lookup(client, unit, id_number=world.other.id_number, name="李娜"), 429,
                   "person.too_many_lookups")


# --- enrolment and its end -------------------------------------------------------------------


def enrol(client, headers, person_id: str, employer_id: str, start_date: str, **extra):
    return client.post(f"{API}/enrollments", headers=headers,
                       json={"person_id": person_id, "scheme": "employee", "employer_id": employer_id,
                             "start_date": start_date, **extra})


def test_a_unit_cannot_enrol_someone_back_to_2015(ctx, admin, client, world):
    unit = bearer(client, "unit-user")
    before = row_counts(ctx)

    r = enrol(client, unit, world.other.id, world.employer_id, "2015-01-01")

    body = assert_problem(r, 422, "enrollment.start_too_early")
    assert body["earliest_date"] == EARLIEST and body["limit_days"] == 30
    assert body["rule"]["rule_id"] == "national.enrollment.backdating" and "第五十八条" in body["rule"]["reference"]
    assert EARLIEST in body["message_zh"] and EARLIEST in body["message_en"]
    assert row_counts(ctx) == before
    assert_problem(client.get(f"{API}/persons/{world.other.id}", headers=unit), 403, "auth.forbidden")
    assert inbox(client, world.other) == []


def test_a_unit_enrols_its_real_new_employee_from_this_month_and_the_person_is_told(ctx, admin, client, world):
    person = newcomer(ctx, admin)
    unit = bearer(client, "unit-user")
    person_id = lookup(client, unit, id_number=person.id_number, name=person.name).json()["person_id"]

    r = enrol(client, unit, person_id, world.employer_id, THIS_MONTH)

    assert r.status_code == 201, r.text
    assert (r.json()["start_date"], r.json()["status"], r.json()["employer_id"]) == (THIS_MONTH, "active",
                                                                                    world.employer_id)
    [notice] = inbox(client, person)
    assert "示例单位" in notice["title_zh"] and "示例单位" in notice["body_zh"] and THIS_MONTH in notice["body_zh"]
    assert "示例单位" in notice["body_en"] and notice["data"]["event"] == "enrolled"
    assert notice["data"]["enrollment_id"] == r.json()["enrollment_id"]
    shown = client.get(f"{API}/persons/{person_id}", headers=unit)
    assert shown.status_code == 200
    assert shown.json()["name"] == "赵磊" and shown.json()["id_number"] != person.id_number
    assert shown.json()["id_number"].endswith(person.id_number[-4:]) and "*" in shown.json()["id_number"]


def test_thirty_days_back_is_the_earliest_start_a_unit_may_give(ctx, admin, client, world):
    unit = bearer(client, "unit-user")
    assert_problem(enrol(client, unit, world.other.id, world.employer_id, "2026-02-13"), 422,
                   "enrollment.start_too_early")
    assert enrol(client, unit, world.other.id, world.employer_id, EARLIEST).status_code == 201


def test_a_unit_cannot_hold_a_stranger_by_an_enrolment_starting_months_ahead(ctx, admin, client, world):
    """A start far ahead would let the unit read the person until then: no later than the limit's days ahead."""
    unit = bearer(client, "unit-user")
    before = row_counts(ctx)
    latest = (ctx.today() + dt.timedelta(days=30)).isoformat()
    far = (ctx.today() + dt.timedelta(days=200)).isoformat()
    body = assert_problem(enrol(client, unit, world.other.id, world.employer_id, far), 422,
                          "enrollment.start_too_late")
    assert body["latest_date"] == latest and far not in body["message_en"]
    assert row_counts(ctx) == before
    assert enrol(client, unit, world.other.id, world.employer_id, latest).status_code == 201  # a hire next month


def test_a_unit_registered_this_month_enrols_no_one_from_before_it_existed(ctx, admin, client, world):
    r = client.post(f"{API}/employers", headers=bearer(client, "counter-user"),
                    json={"uscc": new_uscc(), "name": "新开商贸有限公司", "region": "110000", "contact_name": "林峰",
                          "contact_phone": new_phone()})
    employer_id = r.json()["employer_id"]
    auth.add_user(ctx, actor=admin, username="new-unit-user", password="correct-horse-9", role="unit",
                  employer_id=employer_id)
    unit = bearer(client, "new-unit-user")
    before = row_counts(ctx)

    r = enrol(client, unit, world.other.id, employer_id, "2026-02-20")  # within thirty days, before the unit

    assert assert_problem(r, 422, "enrollment.start_too_early")["earliest_date"] == THIS_MONTH
    assert row_counts(ctx) == before
    assert enrol(client, unit, world.other.id, employer_id, THIS_MONTH).status_code == 201


def test_the_agency_may_date_further_back_with_a_reason_and_it_is_audited(ctx, admin, client, world):
    counter = bearer(client, "counter-user")

    r = enrol(client, counter, world.other.id, world.employer_id, "2025-07-01",
              reason="劳动合同与工资流水已核，单位漏报")

    assert r.status_code == 201, r.text
    with ctx.engine.connect() as conn:
        details = conn.execute(sa.select(audit_records.c.details).where(
            audit_records.c.entity_id == r.json()["enrollment_id"])).scalar_one()
    assert details["beyond_unit_limit"] is True and details["earliest_for_unit"] == EARLIEST
    assert details["reason"] == "劳动合同与工资流水已核，单位漏报"


def employment(ctx, admin, world) -> str:
    [found] = [e for e in enrolment.list_enrollments(ctx, actor=admin, person_id=world.person.id)
               if e.employer_id == world.employer_id]
    return found.id


def test_a_unit_cannot_end_an_employment_back_to_its_first_day(ctx, admin, client, world):
    unit = bearer(client, "unit-user")
    enrollment_id = employment(ctx, admin, world)
    before = row_counts(ctx)

    r = client.post(f"{API}/enrollments/{enrollment_id}/end", headers=unit, json={"end_date": "2024-01-01"})

    body = assert_problem(r, 422, "enrollment.end_too_early")
    assert body["earliest_date"] == EARLIEST and body["rule"]["rule_id"] == "national.enrollment.backdating"
    assert row_counts(ctx) == before
    assert inbox(client, world.person) == []
    assert client.get(f"{API}/persons/{world.person.id}", headers=unit).status_code == 200  # still employed


def test_an_end_from_today_is_accepted_and_told_and_the_former_employee_is_out_of_reach(ctx, admin, client, world):
    unit = bearer(client, "unit-user")
    enrollment_id = employment(ctx, admin, world)

    r = client.post(f"{API}/enrollments/{enrollment_id}/end", headers=unit, json={"end_date": "2026-03-16"})

    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["end_date"]) == ("ended", "2026-03-16")
    [notice] = inbox(client, world.person)
    assert "示例单位" in notice["title_zh"] and "停保" in notice["body_zh"] and "2026-03-16" in notice["body_zh"]
    assert notice["data"]["event"] == "ended" and notice["data"]["employer_name"] == "示例单位"
    for path in (f"/persons/{world.person.id}", f"/persons/{world.person.id}/enrollments"):
        assert_problem(client.get(API + path, headers=unit), 403, "auth.forbidden")


def test_the_agency_may_end_further_back(ctx, admin, client, world):
    r = client.post(f"{API}/enrollments/{employment(ctx, admin, world)}/end", headers=bearer(client, "counter-user"),
                    json={"end_date": "2025-12-31", "reason": "单位注销，按注销日期减员"})
    assert r.status_code == 200, r.text
    assert r.json()["end_date"] == "2025-12-31"


# --- what a unit reads -------------------------------------------------------------------------


def test_a_unit_reads_its_employee_masked_and_nothing_of_strangers(ctx, admin, client, world):
    unit = bearer(client, "unit-user")

    own = client.get(f"{API}/persons/{world.person.id}", headers=unit)
    stranger = client.get(f"{API}/persons/{world.other.id}", headers=unit)

    assert own.status_code == 200
    shown = {k: v for k, v in own.json().items() if v is not None}
    assert shown == {"person_id": world.person.id, "name": "张伟",
                     "id_number": world.person.id_number[:4] + "**********" + world.person.id_number[-4:]}
    assert world.person.phone not in own.text and world.person.phone[-4:] not in own.text
    assert_problem(stranger, 403, "auth.forbidden")
    for path in ("/persons/{}/history", "/accounts/{}", "/accounts/{}/entries", "/persons/{}/cards",
                 "/persons/{}/applications", "/persons/{}/bank-accounts", "/persons/{}/settlements"):
        assert_problem(client.get(API + path.format(world.person.id), headers=unit), 403, "auth.forbidden")
    listed = client.get(f"{API}/persons/{world.person.id}/enrollments", headers=unit).json()
    assert {e["employer_id"] for e in listed} == {world.employer_id}


def test_a_unit_sees_only_its_own_enrolments_of_its_employee(ctx, admin, client, world):
    enrolment.enroll(ctx, actor=admin, person_id=world.person.id, scheme="resident", start_date=dt.date(2025, 1, 1))
    listed = client.get(f"{API}/persons/{world.person.id}/enrollments", headers=bearer(client, "unit-user")).json()
    assert [(e["scheme"], e["employer_id"]) for e in listed] == [("employee", world.employer_id)]
    staff = client.get(f"{API}/persons/{world.person.id}/enrollments", headers=bearer(client, "counter-user")).json()
    assert len(staff) == 2
