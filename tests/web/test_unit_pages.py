"""The unit's pages in-process: its data and employees, enrolling one employee, a CSV file with its progress and
refused-rows report, the declarations; and the cheats: another unit's import, a person's session, a forged unit
in the form, a missing form token, bad input that writes nothing."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.support import (
    PASSWORD,
    add_person,
    build_world,
    new_id_number,
    new_phone,
    new_uscc,
    row_counts,
    with_wrong_check_digit,
)
from tests.web.conftest import page_sign_in, post_form, text_of
from yibao.domain.users import Actor, Role
from yibao.services.accounts import collection
from yibao.services.credentials import auth
from yibao.services.registry import enrolment


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx, admin)


@pytest.fixture
def unit_client(client, world):
    page_sign_in(client, "unit-user", PASSWORD)
    return client


def today(ctx) -> str:
    return ctx.today().isoformat()


def upload(client, data: bytes, name: str = "staff.csv"):
    return post_form(client, "/unit/imports", {}, from_page="/unit/imports/new",
                     files={"file": (name, data, "text/csv")})


def finished(client, location: str, seconds: float = 30) -> str:
    """The import's page once it no longer refreshes itself."""
    deadline = time.monotonic() + seconds
    while True:
        html = client.get(location).text
        if 'http-equiv="refresh"' not in html:
            return html
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.1)


def test_the_unit_page_shows_its_data_completeness_and_masked_employees(unit_client, world, ctx):
    page = unit_client.get("/unit")

    assert page.status_code == 200
    text = text_of(page.text)
    assert "示例单位" in text and "张伟" in text and "职工医保" in text
    assert world.person.id_number not in page.text and world.person.id_number[-4:] in text
    assert "单位信息已完整" in text


def test_an_incomplete_unit_sees_what_is_missing_and_completes_it(client, ctx, admin):
    employer = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="新单位", region="110000")
    auth.add_user(ctx, actor=admin, username="new-unit", password=PASSWORD, role="unit", employer_id=employer.id)
    page_sign_in(client, "new-unit", PASSWORD)

    text = text_of(client.get("/unit").text)
    assert "单位信息不完整" in text and "联系人：缺少" in text and "联系电话：缺少" in text

    bad = post_form(client, "/unit", {"contact_name": "周敏", "contact_phone": "12345"})
    assert bad.status_code == 422 and "手机号码应为 11 位" in text_of(bad.text) and 'id="e-contact_phone"' in bad.text
    unknown = post_form(client, "/unit", {"region": "999999"})
    assert unknown.status_code == 422 and 'id="e-region"' in unknown.text
    assert enrolment.get_employer(ctx, actor=admin, employer_id=employer.id).contact_name is None
    done = post_form(client, "/unit", {"contact_name": "周敏", "contact_phone": new_phone()})
    assert done.status_code == 303
    assert "单位信息已完整" in text_of(client.get("/unit").text)


def test_a_unit_enrols_one_new_employee_who_is_told(unit_client, world, ctx, admin):
    number = new_id_number()

    answer = post_form(unit_client, "/unit/employees", {"id_number": number, "name": "吴昊", "phone": new_phone(),
                                                         "start_date": today(ctx)}, from_page="/unit/employees/new")

    assert answer.status_code == 303 and answer.headers["location"] == "/unit"
    page = text_of(unit_client.get("/unit").text)
    assert "吴昊" in page and "办理参保登记" in page
    person = enrolment.lookup_person(ctx, actor=admin, id_number=number)
    [enrolled] = enrolment.list_enrollments(ctx, actor=admin, person_id=person.id)
    assert enrolled.employer_id == world.employer_id


def test_every_wrong_field_is_shown_beside_it_and_nothing_is_written(unit_client, ctx):
    before = row_counts(ctx)

    answer = post_form(unit_client, "/unit/employees", {"id_number": "123", "name": "1", "phone": "2",
                                                         "start_date": "yesterday"}, from_page="/unit/employees/new")

    assert answer.status_code == 422
    for field in ("id_number", "name", "phone", "start_date"):
        assert f'id="e-{field}"' in answer.text
    assert "yesterday" not in text_of(answer.text).replace('value="yesterday"', "")
    assert row_counts(ctx) == before


def test_a_start_too_far_back_is_refused_beside_the_date(unit_client, ctx):
    before = row_counts(ctx)

    answer = post_form(unit_client, "/unit/employees", {"id_number": new_id_number(), "name": "吴昊",
                                                         "phone": new_phone(), "start_date": "2015-01-01"},
                       from_page="/unit/employees/new")

    assert answer.status_code == 422 and 'id="e-start_date"' in answer.text and "不得早于" in answer.text
    assert row_counts(ctx) == before


def test_a_person_enrolled_with_another_unit_is_refused(unit_client, ctx, admin):
    other = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="别的单位", region="110000",
                                        contact_name="林涛", contact_phone=new_phone())
    taken = add_person(ctx, admin, name="马超", card=False)
    enrolment.enroll(ctx, actor=admin, person_id=taken.id, scheme="employee", employer_id=other.id,
                     start_date=dt.date(2024, 1, 1))
    before = row_counts(ctx)

    answer = post_form(unit_client, "/unit/employees", {"id_number": taken.id_number, "name": "马超",
                                                         "phone": taken.phone, "start_date": today(ctx)},
                       from_page="/unit/employees/new")

    assert answer.status_code == 409 and 'id="e-id_number"' in answer.text
    assert row_counts(ctx) == before


def test_a_forged_employer_in_the_form_is_ignored(unit_client, ctx, admin):
    other = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="别的单位", region="110000",
                                        contact_name="林涛", contact_phone=new_phone())
    number = new_id_number()

    post_form(unit_client, "/unit/employees", {"id_number": number, "name": "吴昊", "phone": new_phone(),
                                               "start_date": today(ctx), "employer_id": other.id},
              from_page="/unit/employees/new")
    post_form(unit_client, "/unit", {"employer_id": other.id, "contact_name": "冒名"})

    person = enrolment.lookup_person(ctx, actor=admin, id_number=number)
    [enrolled] = enrolment.list_enrollments(ctx, actor=admin, person_id=person.id)
    assert enrolled.employer_id != other.id
    assert enrolment.get_employer(ctx, actor=admin, employer_id=other.id).contact_name == "林涛"


def test_no_token_is_refused_and_writes_nothing(unit_client, ctx):
    unit_client.get("/unit/employees/new")
    before = row_counts(ctx)

    answer = unit_client.post("/unit/employees", data={"id_number": new_id_number(), "name": "吴昊",
                                                       "phone": new_phone(), "start_date": today(ctx)},
                              follow_redirects=False)
    upload_answer = unit_client.post("/unit/imports", files={"file": ("a.csv", b"id_number,name,phone,start_date\r\n")},
                                     follow_redirects=False)

    assert answer.status_code == 403 and upload_answer.status_code == 403
    assert row_counts(ctx) == before


def test_a_person_or_staff_session_is_refused(client, world):
    page_sign_in(client, "employee", PASSWORD)
    for path in ("/unit", "/unit/employees/new", "/unit/imports/new", "/unit/contributions",
                 "/unit/imports/sample.csv"):
        assert client.get(path).status_code == 403, path
    client.cookies.clear()
    page_sign_in(client, "counter-user", PASSWORD)
    assert client.get("/unit").status_code == 403
    client.cookies.clear()
    assert client.get("/unit", follow_redirects=False).headers["location"] == "/login?next=%2Funit"


def test_a_csv_file_with_a_bad_row_enrols_the_others_and_reports_it(unit_client, ctx):
    bad_number = with_wrong_check_digit(new_id_number())
    text = ("id_number,name,phone,start_date\r\n"
            f"{new_id_number()},欧阳娜娜,{new_phone()},{today(ctx)}\r\n"
            f"{bad_number},钱波,{new_phone()},{today(ctx)}\r\n"
            f"{new_id_number()},赵磊,{new_phone()},{today(ctx)}\r\n")

    started = upload(unit_client, text.encode("gbk"), name="员工.csv")

    assert started.status_code == 303 and started.headers["location"].startswith("/unit/imports/imp_")
    page = finished(unit_client, started.headers["location"])
    report = text_of(page)
    assert "完成" in report and "身份证号码无效" in report and "person.id_number_invalid" in report
    assert bad_number not in page and "钱波" not in page
    employees = text_of(unit_client.get("/unit").text)
    assert "欧阳娜娜" in employees and "赵磊" in employees and "钱波" not in employees
    download = unit_client.get(started.headers["location"] + "/rejected.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.content.startswith(b"\xef\xbb\xbf") and bad_number in download.text
    english = text_of(unit_client.get(started.headers["location"] + "?lang=en").text)
    assert "The resident ID number is not valid" in english


def test_a_file_that_cannot_be_read_is_refused_beside_the_file_field(unit_client, ctx):
    before = row_counts(ctx)

    for data in ("id_number,name\r\n1,王芳\r\n".encode("utf-16"), b"\x89PNG\r\n\x1a\n\x00\x00",
                 "身份证号,姓名\r\n1,王芳\r\n".encode("gbk")):
        answer = upload(unit_client, data)
        assert answer.status_code == 422 and 'id="e-file"' in answer.text and "文件无法导入" in answer.text
    missing = post_form(unit_client, "/unit/imports", {}, from_page="/unit/imports/new")
    assert missing.status_code == 422 and 'id="e-file"' in missing.text
    assert row_counts(ctx) == before


def test_another_units_import_is_refused(unit_client, client, ctx, admin, app):
    from fastapi.testclient import TestClient

    started = upload(unit_client, f"id_number,name,phone,start_date\r\n1,王芳,{new_phone()},x\r\n".encode())
    location = started.headers["location"]
    finished(unit_client, location)
    other = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="别的单位", region="110000",
                                        contact_name="林涛", contact_phone=new_phone())
    auth.add_user(ctx, actor=admin, username="other-unit", password=PASSWORD, role="unit", employer_id=other.id)
    with TestClient(app) as stranger:
        page_sign_in(stranger, "other-unit", PASSWORD)
        assert stranger.get(location).status_code == 403
        assert stranger.get(location + "/rejected.csv").status_code == 403
        assert stranger.get("/unit/imports/imp_0000000000000000").status_code == 404
        assert "张伟" not in stranger.get("/unit").text  # nor the first unit's employees


def test_a_running_import_refreshes_itself_until_told_not_to(unit_client, world):
    from yibao.services.registry import unit_imports

    unit = Actor(username="unit-user", role=Role.UNIT, employer_id=world.employer_id)
    started, _ = unit_imports.start(unit_client.app.state.ctx, actor=unit, file_name="a.csv",
                                    data=b"id_number,name,phone,start_date\r\n1,2,3,4\r\n")

    watched = unit_client.get(f"/unit/imports/{started.id}")
    still = unit_client.get(f"/unit/imports/{started.id}?watch=0")

    assert '<meta http-equiv="refresh" content="2">' in watched.text and "<progress" in watched.text
    assert 'http-equiv="refresh"' not in still.text and "被拒绝的行" not in still.text


def test_the_sample_file_is_a_file_the_import_reads(unit_client):
    from yibao.services.registry import unit_imports

    sample = unit_client.get("/unit/imports/sample.csv")

    assert sample.status_code == 200 and "attachment" in sample.headers["content-disposition"]
    assert [r.cells["name"] for r in unit_imports.read(sample.content)] == ["张伟", "李娜"]


def test_the_contributions_page_shows_each_month_and_the_arrears(unit_client, ctx, world):
    unit = Actor(username="unit-user", role=Role.UNIT, employer_id=world.employer_id)
    month = ctx.today().replace(day=1) - dt.timedelta(days=1)
    period = f"{month.year:04d}-{month.month:02d}"
    collection.declare(ctx, actor=unit, person_id=world.person.id, period=period, base_fen=800_000)

    text = text_of(unit_client.get("/unit/contributions").text)

    assert period in text and "¥8,000.00" in text and "欠费" in text and "张伟" in text
    assert world.person.id_number not in text
