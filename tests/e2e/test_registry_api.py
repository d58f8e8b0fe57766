"""Registry through HTTP: persons, units, enrolments, self-registration, institutions and agencies (R1, R2, R16)."""

from __future__ import annotations

from tests.support import (
    API,
    PASSWORD,
    add_person,
    assert_problem,
    bearer,
    build_world,
    count,
    in_register,
    new_id_number,
    new_phone,
    new_uscc,
)
from yibao.domain.identity import with_ric_digit
from yibao.services.registry import institutions
from yibao.store import tables


def staff(client, world, role: str = "reviewer") -> dict[str, str]:
    return bearer(client, world.users[role])


# --- persons -------------------------------------------------------------------


def test_reviewer_registers_a_person_and_finds_them_by_id_number(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    number = new_id_number(place="110105", birth="19900704", male=False)

    r = client.post(f"{API}/persons", headers=h,
                    json={"id_number": number, "name": "王芳", "phone": "139 1234 5678", "region": "110105"})

    assert r.status_code == 201, r.text
    person_id = r.json()["person_id"]
    found = client.post(f"{API}/persons/lookup", headers=h, json={"id_number": number})
    assert found.status_code == 200
    assert found.json() == {"person_id": person_id}
    shown = client.get(f"{API}/persons/{person_id}", headers=h).json()
    assert shown["name"] == "王芳"
    assert shown["phone"] == "139****5678"
    assert shown["id_number"] == number[:4] + "**********" + number[-4:]
    assert shown["sex"] == "female"
    assert shown["birth_date"] is None  # only the owner sees it
    assert shown["region"] == "110105"
    assert shown["region_name"] == "朝阳区"


def test_owner_sees_derived_birth_date_and_sex_in_full(ctx, admin, client):
    build_world(ctx, admin)
    man = add_person(ctx, admin, name="刘强", birth="19721130", card=False)

    own = client.get(f"{API}/persons/{man.id}", headers=bearer(client, man.username)).json()

    assert own["birth_date"] == "1972-11-30"
    assert own["sex"] == "male"
    assert own["id_number"] == man.id_number
    assert own["phone"] == man.phone
    woman = new_id_number(birth="20010215", male=False)
    r = client.post(f"{API}/persons", headers=bearer(client, "admin-user"),
                    json={"id_number": woman, "name": "陈静", "phone": new_phone(), "region": "110000"})
    shown = client.get(f"{API}/persons/{r.json()['person_id']}", headers=bearer(client, "reviewer-user")).json()
    assert shown["sex"] == "female"


def test_duplicate_id_number_is_a_conflict_and_writes_nothing(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    before = count(ctx, tables.persons)

    r = client.post(f"{API}/persons", headers=h, json={"id_number": world.person.id_number, "name": "张伟",
                                                       "phone": new_phone(), "region": "110000"})

    assert_problem(r, 409, "person.duplicate")
    assert count(ctx, tables.persons) == before


def test_lookup_of_unknown_or_invalid_id_number(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    assert_problem(client.post(f"{API}/persons/lookup", headers=h, json={"id_number": new_id_number()}),
                   404, "person.not_found")
    assert_problem(client.post(f"{API}/persons/lookup", headers=h, json={"id_number": "110105198503120010"}),
                   422, "person.id_number_invalid")


BAD_PERSONS = [
    # (field, value, code, words the English message must contain)
    ("id_number", "110105198503120010", "person.id_number_invalid", "check digit"),  # wrong check digit
    ("id_number", with_ric_digit("11010519850230001"), "person.id_number_invalid", "birth date"),  # 30 February
    ("id_number", with_ric_digit("11010520990101001"), "person.id_number_invalid", "birth date"),  # not born yet
    ("id_number", "11010519850312", "person.id_number_invalid", "length"),
    ("phone", "12345", "person.phone_invalid", "mobile"),
    ("phone", "12012345678", "person.phone_invalid", "mobile"),
    ("region", "999999", "region.unknown", "region code"),  # named, not repeated back
    ("region", "北京", "region.unknown", "region code"),
    ("name", "张伟123", "person.name_invalid", "name"),
    ("name", "   ", "person.name_invalid", "name"),
    ("name", "张" * 51, "person.name_invalid", "name"),
]


def test_invalid_person_data_is_refused_with_its_code_and_nothing_is_written(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    before = (count(ctx, tables.persons), count(ctx, tables.master_data_versions), count(ctx, tables.audit_records))

    for field, value, code, words in BAD_PERSONS:
        body = {"id_number": new_id_number(), "name": "赵磊", "phone": new_phone(), "region": "110000", field: value}
        problem = assert_problem(client.post(f"{API}/persons", headers=h, json=body), 422, code)
        assert words in problem["message_en"], (field, value, problem)
        assert value.strip() not in str(problem) or len(value.strip()) < 3, (field, value, problem)

    after = (count(ctx, tables.persons), count(ctx, tables.master_data_versions), count(ctx, tables.audit_records))
    assert after == before


def test_a_person_or_an_institution_cannot_register_persons(ctx, admin, client):
    world = build_world(ctx, admin)
    body = {"id_number": new_id_number(), "name": "赵磊", "phone": new_phone(), "region": "110000"}
    for role in ("person", "institution", "auditor"):
        assert_problem(client.post(f"{API}/persons", headers=staff(client, world, role), json=body),
                       403, "auth.forbidden")
    assert_problem(client.post(f"{API}/persons", json=body), 401, "auth.required")


def test_owner_changes_phone_and_history_keeps_both_versions(ctx, admin, client):
    world = build_world(ctx, admin)
    number = new_id_number()
    r = client.post(f"{API}/persons", headers=staff(client, world),
                    json={"id_number": number, "name": "孙丽", "phone": "13900001111", "region": "110000"})
    person_id = r.json()["person_id"]
    client.post(f"{API}/users", headers=staff(client, world, "admin"),
                json={"username": "sunli", "password": PASSWORD, "role": "person", "person_id": person_id})
    owner = bearer(client, "sunli")

    r = client.patch(f"{API}/persons/{person_id}", headers=owner, json={"phone": "13700002222"})

    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "13700002222"
    versions = client.get(f"{API}/persons/{person_id}/history", headers=owner).json()
    assert len(versions) == 2
    first, newest = versions
    assert first["data"]["phone"] == "13900001111" and first["actor"] == "reviewer-user"
    assert newest["data"]["phone"] == "13700002222" and newest["actor"] == "sunli"
    assert first["valid_to"] is not None and first["valid_to"] == newest["valid_from"]
    assert newest["valid_to"] is None
    # the reviewer sees the same history, masked
    masked = client.get(f"{API}/persons/{person_id}/history", headers=staff(client, world)).json()
    assert [v["data"]["phone"] for v in masked] == ["139****1111", "137****2222"]
    assert masked[0]["data"]["id_number"] != number


def test_owner_cannot_set_a_bad_phone_or_change_their_own_name(ctx, admin, client):
    build_world(ctx, admin)
    p = add_person(ctx, admin, name="周杰", card=False)
    owner = bearer(client, p.username)
    versions = count(ctx, tables.master_data_versions)

    assert_problem(client.patch(f"{API}/persons/{p.id}", headers=owner, json={"phone": "0571-1234"}),
                   422, "person.phone_invalid")
    assert_problem(client.patch(f"{API}/persons/{p.id}", headers=owner, json={"name": "周杰伦"}),
                   403, "auth.forbidden")

    assert count(ctx, tables.master_data_versions) == versions
    assert client.get(f"{API}/persons/{p.id}", headers=owner).json()["phone"] == p.phone


# --- employers -------------------------------------------------------------------


def test_employer_with_bad_uscc_is_refused(ctx, admin, client):
    world = build_world(ctx, admin)
    before = count(ctx, tables.employers)
    good = new_uscc()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")

    for uscc in (bad, "91110105MA01", "不是代码"):
        r = client.post(f"{API}/employers", headers=staff(client, world),
                        json={"uscc": uscc, "name": "某公司", "region": "110000"})
        assert_problem(r, 422, "employer.uscc_invalid")

    assert count(ctx, tables.employers) == before


def test_duplicate_employer_is_a_conflict(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    uscc = new_uscc()
    body = {"uscc": uscc, "name": "北京某科技有限公司", "region": "110105", "contact_name": "吴昊",
            "contact_phone": new_phone()}
    assert client.post(f"{API}/employers", headers=h, json=body).status_code == 201
    before = count(ctx, tables.employers)

    assert_problem(client.post(f"{API}/employers", headers=h, json=body), 409, "employer.duplicate")
    assert count(ctx, tables.employers) == before


def test_incomplete_unit_cannot_enrol_until_completed(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    person = add_person(ctx, admin, name="郑爽", card=False)
    r = client.post(f"{API}/employers", headers=h,
                    json={"uscc": new_uscc(), "name": "大连某商贸有限公司", "region": "210200"})
    assert r.status_code == 201, r.text
    employer = r.json()
    assert employer["complete"] is False
    assert employer["missing"] == ["contact_name", "contact_phone"]
    enrol = {"person_id": person.id, "scheme": "employee", "employer_id": employer["employer_id"],
             "start_date": "2026-01-01"}
    before = count(ctx, tables.enrollments)

    problem = assert_problem(client.post(f"{API}/enrollments", headers=h, json=enrol), 422, "employer.incomplete")

    assert problem["missing"] == ["contact_name", "contact_phone"]
    assert "联系人" in problem["message_zh"] and "联系电话" in problem["message_zh"]
    assert count(ctx, tables.enrollments) == before

    patched = client.patch(f"{API}/employers/{employer['employer_id']}", headers=h,
                           json={"contact_name": "钱军", "contact_phone": "13811112222"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["complete"] is True and patched.json()["missing"] == []

    r = client.post(f"{API}/enrollments", headers=h, json=enrol)
    assert r.status_code == 201, r.text
    assert r.json()["employer_id"] == employer["employer_id"]
    assert r.json()["status"] == "active"


def test_unit_data_must_be_valid_when_completed(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    employer_id = client.post(f"{API}/employers", headers=h, json={"uscc": new_uscc()}).json()["employer_id"]

    assert_problem(client.patch(f"{API}/employers/{employer_id}", headers=h, json={"contact_phone": "12345"}),
                   422, "person.phone_invalid")
    assert_problem(client.patch(f"{API}/employers/{employer_id}", headers=h, json={"region": "000000"}),
                   422, "region.unknown")

    shown = client.get(f"{API}/employers/{employer_id}", headers=h).json()
    assert shown["missing"] == ["name", "region", "contact_name", "contact_phone"]


# --- enrolments ----------------------------------------------------------------


def test_unit_enrols_its_employee(ctx, admin, client):
    world = build_world(ctx, admin)
    person = add_person(ctx, admin, name="冯涛", card=False)

    r = client.post(f"{API}/enrollments", headers=staff(client, world, "unit"),
                    json={"person_id": person.id, "scheme": "employee", "employer_id": world.employer_id,
                          "start_date": ctx.today().replace(day=1).isoformat()})  # within a unit's limit

    assert r.status_code == 201, r.text
    assert r.json()["scheme"] == "employee"
    assert r.json()["employer_id"] == world.employer_id
    assert r.json()["flexible"] is False
    assert r.json()["status"] == "active"
    listed = client.get(f"{API}/persons/{person.id}/enrollments", headers=bearer(client, person.username)).json()
    assert [e["enrollment_id"] for e in listed] == [r.json()["enrollment_id"]]


def test_flexible_and_resident_enrolments(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    flexible = add_person(ctx, admin, name="何军", card=False)
    resident = add_person(ctx, admin, name="许娟", card=False)

    f = client.post(f"{API}/enrollments", headers=h, json={"person_id": flexible.id, "scheme": "employee",
                                                           "flexible": True, "start_date": "2026-01-01"})
    r = client.post(f"{API}/enrollments", headers=h, json={"person_id": resident.id, "scheme": "resident",
                                                           "start_date": "2026-01-01"})

    assert f.status_code == 201, f.text
    assert f.json()["employer_id"] is None and f.json()["flexible"] is True and f.json()["status"] == "active"
    assert r.status_code == 201, r.text
    assert r.json()["scheme"] == "resident" and r.json()["employer_id"] is None and r.json()["flexible"] is False


def test_enrolments_of_the_wrong_shape_are_refused(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    person = add_person(ctx, admin, name="曹宇", card=False)
    before = count(ctx, tables.enrollments)
    shapes = [
        {"scheme": "resident", "employer_id": world.employer_id},
        {"scheme": "resident", "flexible": True},
        {"scheme": "employee", "employer_id": world.employer_id, "flexible": True},
        {"scheme": "employee"},
    ]

    for shape in shapes:
        r = client.post(f"{API}/enrollments", headers=h,
                        json={"person_id": person.id, "start_date": "2026-01-01", **shape})
        assert_problem(r, 422, "enrollment.invalid")

    assert_problem(client.post(f"{API}/enrollments", headers=h,
                               json={"person_id": person.id, "scheme": "pension", "start_date": "2026-01-01"}),
                   422, "request.invalid")
    assert count(ctx, tables.enrollments) == before


def test_unit_cannot_enrol_into_another_unit(ctx, admin, client):
    world = build_world(ctx, admin)
    other = client.post(f"{API}/employers", headers=staff(client, world),
                        json={"uscc": new_uscc(), "name": "另一单位", "region": "110000", "contact_name": "林峰",
                              "contact_phone": new_phone()}).json()["employer_id"]
    person = add_person(ctx, admin, name="蒋丽", card=False)

    r = client.post(f"{API}/enrollments", headers=staff(client, world, "unit"),
                    json={"person_id": person.id, "scheme": "employee", "employer_id": other,
                          "start_date": "2026-01-01"})

    assert_problem(r, 403, "auth.forbidden")


def test_second_open_enrolment_is_a_conflict_until_the_first_ends(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    person = add_person(ctx, admin, name="沈浩", card=False)
    body = {"person_id": person.id, "scheme": "employee", "flexible": True, "start_date": "2026-01-01"}
    first = client.post(f"{API}/enrollments", headers=h, json=body).json()

    assert_problem(client.post(f"{API}/enrollments", headers=h, json=body), 409, "enrollment.duplicate")
    via_unit = {"person_id": person.id, "scheme": "employee", "employer_id": world.employer_id,
                "start_date": "2026-03-01"}
    assert_problem(client.post(f"{API}/enrollments", headers=h, json=via_unit), 409, "enrollment.duplicate")
    # another scheme is not a duplicate
    assert client.post(f"{API}/enrollments", headers=h, json={"person_id": person.id, "scheme": "resident",
                                                              "start_date": "2026-01-01"}).status_code == 201

    assert_problem(client.post(f"{API}/enrollments/{first['enrollment_id']}/end", headers=h,
                               json={"end_date": "2025-12-31"}), 422, "enrollment.invalid")
    ended = client.post(f"{API}/enrollments/{first['enrollment_id']}/end", headers=h,
                        json={"end_date": "2026-02-28"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended" and ended.json()["end_date"] == "2026-02-28"
    assert_problem(client.post(f"{API}/enrollments/{first['enrollment_id']}/end", headers=h,
                               json={"end_date": "2026-03-31"}), 409, "enrollment.wrong_state")

    again = client.post(f"{API}/enrollments", headers=h, json=via_unit)
    assert again.status_code == 201, again.text
    statuses = [(e["employer_id"], e["status"]) for e in
                client.get(f"{API}/persons/{person.id}/enrollments", headers=h).json() if e["scheme"] == "employee"]
    assert statuses == [(None, "ended"), (world.employer_id, "active")]


def test_enrolment_of_unknown_person_or_unit(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world)
    assert_problem(client.post(f"{API}/enrollments", headers=h, json={"person_id": "psn_nobody", "scheme": "resident",
                                                                      "start_date": "2026-01-01"}),
                   404, "person.not_found")
    assert_problem(client.post(f"{API}/enrollments", headers=h,
                               json={"person_id": world.other.id, "scheme": "employee", "employer_id": "emp_nobody",
                                     "start_date": "2026-01-01"}),
                   404, "employer.not_found")


# --- self-registration (R1) ------------------------------------------------------


def test_self_registration_guides_the_person_and_a_reviewer_approves(ctx, admin, client):
    world = build_world(ctx, admin)
    number = new_id_number(birth="19930518", male=False)
    in_register(ctx, admin, number, "韩梅梅")
    phone = new_phone()

    r = client.post(f"{API}/register", json={"id_number": number, "name": "韩梅梅", "phone": phone,
                                             "region": "110105", "password": "my-own-pass-1"})

    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["enrollment_status"] == "requested"
    assert reg["username"] == phone
    steps = [s["step"] for s in reg["next_steps"]]
    assert steps[0] == "wait_for_review"
    assert "activate_evoucher" in steps and "link_bank_account" in steps
    assert all(s["zh"] and s["en"] for s in reg["next_steps"])

    me = bearer(client, phone, "my-own-pass-1")
    own = client.get(f"{API}/persons/{reg['person_id']}", headers=me)
    assert own.status_code == 200
    assert own.json()["id_number"] == number
    assert own.json()["birth_date"] == "1993-05-18" and own.json()["sex"] == "female"
    enrolments = client.get(f"{API}/persons/{reg['person_id']}/enrollments", headers=me).json()
    assert [(e["scheme"], e["flexible"], e["status"]) for e in enrolments] == [("employee", True, "requested")]
    assert_problem(client.post(f"{API}/enrollments/{reg['enrollment_id']}/approve", headers=me),
                   403, "auth.forbidden")

    approved = client.post(f"{API}/enrollments/{reg['enrollment_id']}/approve", headers=staff(client, world))

    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert client.get(f"{API}/persons/{reg['person_id']}/enrollments", headers=me).json()[0]["status"] == "active"
    assert_problem(client.post(f"{API}/enrollments/{reg['enrollment_id']}/approve", headers=staff(client, world)),
                   409, "enrollment.wrong_state")


def test_self_registration_with_a_chosen_username(ctx, admin, client):
    r = client.post(f"{API}/register", json={"id_number": new_id_number(), "name": "李雷", "phone": new_phone(),
                                             "region": "210200", "password": "another-pass-2", "username": "lilei"})
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "lilei"
    me = bearer(client, "lilei", "another-pass-2")
    assert client.get(f"{API}/me", headers=me).json()["person_id"] == r.json()["person_id"]


def test_bad_self_registration_writes_nothing(ctx, admin, client):
    world = build_world(ctx, admin)
    good = {"id_number": new_id_number(), "name": "韩梅梅", "phone": new_phone(), "region": "110000",
            "password": "my-own-pass-1"}
    counts = (count(ctx, tables.persons), count(ctx, tables.users), count(ctx, tables.enrollments))
    cases = [
        ({"id_number": "110105198503120010"}, 422, "person.id_number_invalid"),
        ({"id_number": with_ric_digit("11010519851332001")}, 422, "person.id_number_invalid"),
        ({"password": "short"}, 422, "user.password_weak"),
        ({"phone": "1391234"}, 422, "person.phone_invalid"),
        ({"region": "123456"}, 422, "region.unknown"),
        ({"name": "Robert'); DROP TABLE persons;--"}, 422, "person.name_invalid"),
        ({"id_number": world.person.id_number}, 422, "registration.identity_mismatch"),  # no oracle
        ({"username": "employee"}, 409, "user.duplicate"),
        ({"username": "u" * 65}, 422, "request.invalid"),
    ]

    for change, status, code in cases:
        assert_problem(client.post(f"{API}/register", json={**good, **change}), status, code)

    assert (count(ctx, tables.persons), count(ctx, tables.users), count(ctx, tables.enrollments)) == counts
    assert client.post(f"{API}/auth/token", data={"username": good["phone"], "password": good["password"]}
                       ).status_code == 401


# --- institutions and agencies ----------------------------------------------------


def test_institutions_are_created_listed_by_region_and_unique(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world, "admin")
    body = {"code": "H21020000001", "name": "大连市中心医院", "kind": "hospital", "region": "210200",
            "designated": True, "cross_region": True, "designated_from": "2025-01-01"}

    r = client.post(f"{API}/institutions", headers=h, json=body)

    assert r.status_code == 201, r.text
    assert r.json()["region_name"] == "大连市" and r.json()["designated"] is True
    assert_problem(client.post(f"{API}/institutions", headers=h, json=body), 409, "institution.duplicate")
    assert_problem(client.post(f"{API}/institutions", headers=h, json={**body, "code": "H2", "kind": "spa"}),
                   422, "request.invalid")
    assert_problem(client.post(f"{API}/institutions", headers=h, json={**body, "code": "H3", "region": "210299"}),
                   422, "region.unknown")
    assert_problem(client.post(f"{API}/institutions", headers=h, json={**body, "code": "H-4"}),
                   422, "institution.invalid")
    assert_problem(client.post(f"{API}/institutions", headers=bearer(client, "employee"),
                               json={**body, "code": "H5"}), 403, "auth.forbidden")

    dalian = client.get(f"{API}/institutions", headers=bearer(client, "employee"), params={"region": "210200"})
    assert [i["code"] for i in dalian.json()] == ["H21020000001"]
    beijing = client.get(f"{API}/institutions", headers=h, params={"region": "110000"}).json()
    assert [i["code"] for i in beijing] == [world.institution_code]
    assert count(ctx, tables.institutions) == 2


def test_agency_lookup_falls_back_to_the_province(ctx, admin, client):
    build_world(ctx, admin)
    institutions.load_agencies(ctx, actor=admin)
    h = bearer(client, "employee")

    beijing = client.get(f"{API}/agencies", headers=h, params={"region": "110000"})
    assert beijing.status_code == 200, beijing.text
    [agency] = beijing.json()
    assert agency["region"] == "110000"
    assert agency["name"] == "北京市医疗保障事务管理中心"
    assert agency["phone"] == "12393"
    assert "异地就医备案" in agency["services"]

    chaoyang = client.get(f"{API}/agencies", headers=h, params={"region": "110105"}).json()
    assert chaoyang == beijing.json()
    dalian_district = client.get(f"{API}/agencies", headers=h, params={"region": "210202"}).json()
    assert dalian_district[0]["region"] == "210200"

    assert_problem(client.get(f"{API}/agencies", headers=h, params={"region": "999999"}), 422, "region.unknown")
    assert_problem(client.get(f"{API}/agencies", headers=h, params={"region": "120000"}), 404, "agency.not_found")
    assert_problem(client.get(f"{API}/agencies", headers=h), 422, "request.invalid")


def test_values_the_database_cannot_store_are_refused_not_a_crash(ctx, admin, client):
    world = build_world(ctx, admin)
    h = staff(client, world, "admin")
    counts = (count(ctx, tables.employers), count(ctx, tables.institutions), count(ctx, tables.persons),
              count(ctx, tables.users))
    bodies = [
        ("/employers", {"uscc": new_uscc(), "name": "公" * 201}),
        ("/employers", {"uscc": new_uscc(), "name": "某\x00公司"}),
        ("/institutions", {"code": "C1", "name": "诊" * 201, "kind": "clinic", "region": "110000",
                           "designated": False, "cross_region": False}),
        ("/institutions", {"code": "C2", "name": "诊所\x00", "kind": "clinic", "region": "110000",
                           "designated": False, "cross_region": False}),
        ("/persons", {"id_number": new_id_number(), "name": "赵磊", "phone": new_phone(), "region": "110000\x00"}),
        ("/register", {"id_number": new_id_number(), "name": "赵磊", "phone": new_phone(), "region": "110000",
                       "password": "long-enough-1", "username": "zhao\x00lei"}),
    ]

    for path, body in bodies:
        problem = assert_problem(client.post(f"{API}{path}", headers=h, json=body), 422, "request.invalid")
        assert problem["errors"][0]["field"] in ("name", "region", "username")

    employer_id = client.get(f"{API}/persons/{world.person.id}/enrollments", headers=h).json()[0]["employer_id"]
    assert_problem(client.patch(f"{API}/employers/{employer_id}", headers=h, json={"name": "公" * 201}),
                   422, "request.invalid")
    # in a path or a sign-in form the same bytes are a 4xx answer too, whatever the database
    for r in (client.get(f"{API}/persons/psn%00x", headers=h),
              client.post(f"{API}/auth/token", data={"username": "zhao\x00lei", "password": "long-enough-1"})):
        assert r.status_code in (401, 404, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (count(ctx, tables.employers), count(ctx, tables.institutions), count(ctx, tables.persons),
            count(ctx, tables.users)) == counts
    assert client.get(f"{API}/employers/{employer_id}", headers=h).json()["name"] == "示例单位"
