"""A unit enrols employees from a CSV file: the encodings Excel writes read right, others are refused whole, a bad
row is reported while the good ones are enrolled, and the same file twice enrols nobody twice."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import (
    add_person,
    build_world,
    new_id_number,
    new_phone,
    new_uscc,
    row_counts,
    with_wrong_check_digit,
)
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.registry import Enrollment, Person
from yibao.domain.unit_imports import ImportStatus
from yibao.domain.users import Actor, Role
from yibao.services.accounts import collection
from yibao.services.registry import enrolment, unit_imports

TODAY = dt.datetime(2026, 3, 16, 10, 0, tzinfo=SHANGHAI)
START = "2026-03-01"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI))
    built = build_world(ctx, admin)
    ctx.clock.set(TODAY)
    return built


@pytest.fixture
def unit(world) -> Actor:
    return Actor(username="unit-user", role=Role.UNIT, user_id="usr_unit", employer_id=world.employer_id)


def csv_of(*rows: tuple[str, ...], header: str = "id_number,name,phone,start_date") -> str:
    return "\r\n".join([header, *(",".join(r) for r in rows)]) + "\r\n"


def run_file(ctx, unit: Actor, data: bytes):
    started, rows = unit_imports.start(ctx, actor=unit, file_name="staff.csv", data=data)
    return unit_imports.run(ctx, actor=unit, import_id=started.id, rows=rows)


def employees(ctx, unit: Actor) -> dict[str, str]:
    return {e["name"]: e["id_number"] for e in enrolment.employees_of(ctx, actor=unit, employer_id=unit.employer_id)}


def test_a_gbk_file_with_chinese_names_reads_right(ctx, unit):
    text = csv_of((new_id_number(), "欧阳娜娜", new_phone(), START), (new_id_number(), "赵磊", new_phone(), "2026/3/2"))

    done = run_file(ctx, unit, text.encode("gbk"))

    assert (done.status, done.enrolled, done.rejected, done.done_rows, done.total_rows) == ("done", 2, 0, 2, 2)
    assert {"欧阳娜娜", "赵磊"} <= set(employees(ctx, unit))


@pytest.mark.parametrize("encoded", ["utf-8-sig", "utf-8"])
def test_utf8_with_or_without_the_mark_reads_right(ctx, unit, encoded):
    rows = unit_imports.read(csv_of((new_id_number(), "王芳", new_phone(), START)).encode(encoded))
    assert [r.cells["name"] for r in rows] == ["王芳"]


def test_empty_cells_excel_leaves_at_the_ends_of_lines_do_not_count(ctx, unit):
    number, phone = new_id_number(), new_phone()
    text = f"name,id_number,start_date,phone,,\r\n王芳,{number},{START},{phone},,\r\n赵磊,{new_id_number()},{START}\r\n"

    rows = unit_imports.read(text.encode("gbk"))

    assert rows[0] == unit_imports.Row(2, {"id_number": number, "name": "王芳", "phone": phone, "start_date": START},
                                       True)
    assert not rows[1].complete  # no phone cell at all


@pytest.mark.parametrize("data, reason", [
    ("id_number,name,phone,start_date\r\n1,王芳,2,3\r\n".encode("utf-16"), "not a text (CSV)"),
    ("id_number,name,phone,start_date\r\n1,Zoë,2,3\r\n".encode("cp1252"), "encoding"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text (CSV)"),
    ("身份证号,姓名,手机,开始日期\r\n1,王芳,2,3\r\n".encode("gbk"), "header"),
    (b"id_number,name,phone,start_date\r\n", "no rows"),
    (b"", "empty"),
    (b"id_number,name,phone,start_date\r\n" + b"1,a,2,3\r\n" * (unit_imports.MAX_ROWS + 1), "more than"),
    (b"id_number,name,phone,start_date\r\n" + b"x" * unit_imports.MAX_BYTES, "larger than"),
    (b'id_number,name,phone,start_date\r\n"1,a,2,3\r\n' + b"x" * (200 * 1024), "well-formed"),
])
def test_a_file_that_cannot_be_read_is_refused_whole_and_nothing_is_written(ctx, unit, data, reason):
    before = row_counts(ctx)

    with pytest.raises(errors.EmployeeFileInvalid) as refused:
        unit_imports.start(ctx, actor=unit, file_name="staff.csv", data=data)

    assert reason in refused.value.en and refused.value.zh
    assert row_counts(ctx) == before


def test_a_bad_row_is_reported_while_the_good_rows_are_enrolled(ctx, admin, unit, world):
    good = [(new_id_number(), "孙丽", new_phone(), START), (new_id_number(), "周杰", new_phone(), START)]
    bad_number = with_wrong_check_digit(new_id_number())
    text = csv_of(good[0], (bad_number, "钱波", new_phone(), START), ("", "", "", ""), good[1],
                  (world.other.id_number, "李娜", new_phone(), "2015-01-01"), ("1", "2"))

    done = run_file(ctx, unit, text.encode("utf-8-sig"))

    assert (done.enrolled, done.unchanged, done.rejected, done.total_rows) == (2, 0, 3, 5)
    found = unit_imports.rejections(ctx, actor=unit, import_id=done.id)
    assert [(r.line, r.column_name, r.code) for r in found] == [
        (3, "id_number", "person.id_number_invalid"), (6, "start_date", "enrollment.start_too_early"),
        (7, None, "unit_import.row_invalid")]
    assert all(bad_number not in r.message_zh + r.message_en for r in found)
    assert {"孙丽", "周杰"} <= set(employees(ctx, unit)) and "钱波" not in employees(ctx, unit)
    report = unit_imports.rejected_rows_csv(found, chinese=True)
    assert report.splitlines()[0] == "line,column,code,message,id_number,name,phone,start_date"
    assert bad_number in report and "身份证号码无效" in report


def test_the_same_file_twice_enrols_nobody_twice(ctx, admin, unit):
    known = add_person(ctx, admin, name="赵磊", card=False)  # registered already, new to the unit
    data = csv_of((new_id_number(), "吴昊", new_phone(), START), (known.id_number, "赵磊", known.phone, START)).encode()

    first = run_file(ctx, unit, data)
    with ctx.uow() as uow:
        enrolments = len(uow.all_by(Enrollment))
        persons = len(uow.all_by(Person))
    second = run_file(ctx, unit, data)

    assert (first.enrolled, first.unchanged, first.rejected) == (2, 0, 0)
    assert (second.enrolled, second.unchanged, second.rejected) == (0, 2, 0)
    with ctx.uow() as uow:
        assert (len(uow.all_by(Enrollment)), len(uow.all_by(Person))) == (enrolments, persons)


def test_a_person_enrolled_with_another_unit_is_refused_on_that_row(ctx, admin, unit, world):
    other = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="别的单位", region="110000",
                                        contact_name="林涛", contact_phone=new_phone())
    taken = add_person(ctx, admin, name="马超", card=False)
    enrolment.enroll(ctx, actor=admin, person_id=taken.id, scheme="employee", employer_id=other.id,
                     start_date=dt.date(2026, 1, 1))

    done = run_file(ctx, unit, csv_of((taken.id_number, "马超", taken.phone, START)).encode())

    [rejected] = unit_imports.rejections(ctx, actor=unit, import_id=done.id)
    assert (rejected.code, rejected.column_name) == ("enrollment.duplicate", "id_number")
    assert "马超" not in employees(ctx, unit)


def test_a_wrong_name_for_a_registered_number_is_refused_and_counts_as_a_miss(ctx, admin, unit, world):
    ctx.settings.unit_lookup_max_misses = 2
    rows = [(world.other.id_number, "王芳", new_phone(), START), (world.person.id_number, "王芳", new_phone(), START),
            (new_id_number(), "新人", new_phone(), START)]

    done = run_file(ctx, unit, csv_of(*rows).encode())

    codes = [r.code for r in unit_imports.rejections(ctx, actor=unit, import_id=done.id)]
    assert codes == ["registration.identity_mismatch", "registration.identity_mismatch", "person.too_many_lookups"]


def test_another_unit_sees_neither_the_import_nor_its_rows(ctx, admin, unit):
    done = run_file(ctx, unit, csv_of(("1", "2", "3", "4")).encode())
    stranger = Actor(username="unit-2", role=Role.UNIT, user_id="usr_u2", employer_id="emp_other")
    person = Actor(username="employee", role=Role.PERSON, user_id="usr_p", person_id="psn_x")

    for actor in (stranger, person):
        with pytest.raises(errors.AccessForbidden):
            unit_imports.get(ctx, actor=actor, import_id=done.id)
        with pytest.raises(errors.AccessForbidden):
            unit_imports.rejections(ctx, actor=actor, import_id=done.id)
    with pytest.raises(errors.AccessForbidden):
        unit_imports.start(ctx, actor=person, file_name="x.csv", data=b"id_number,name,phone,start_date\r\n1,2,3,4\r\n")
    with pytest.raises(errors.UnitImportNotFound):
        unit_imports.get(ctx, actor=unit, import_id="imp_0000000000000000")
    assert unit_imports.get(ctx, actor=unit, import_id=done.id).status == ImportStatus.DONE


def test_a_unit_sees_its_declarations_month_by_month_with_the_arrears(ctx, admin, unit, world):
    for period in ("2026-01", "2026-02"):
        collection.declare(ctx, actor=unit, person_id=world.person.id, period=period, base_fen=800_000)
    first = collection.arrears(ctx, actor=unit)[0]
    collection.confirm(ctx, actor=admin, declaration_id=first["declaration_id"])

    periods = collection.periods_of_unit(ctx, actor=unit, employer_id=unit.employer_id)

    assert [(p["period"], p["declared_fen"], p["collected_fen"], p["outstanding_fen"], p["arrears"])
            for p in periods] == [("2026-02", 800_000, 0, 800_000, True), ("2026-01", 800_000, 800_000, 0, False)]
    with pytest.raises(errors.AccessForbidden):
        collection.periods_of_unit(ctx, actor=unit, employer_id="emp_other")


def test_the_refused_rows_file_defuses_cells_a_spreadsheet_would_run(ctx, unit):
    done = run_file(ctx, unit, csv_of((new_id_number(), '=HYPERLINK("x")', "+8613800138000", START)).encode())

    [rejected] = unit_imports.rejections(ctx, actor=unit, import_id=done.id)
    report = unit_imports.rejected_rows_csv([rejected], chinese=False).splitlines()[1]

    assert rejected.column_name == "name" and "'=HYPERLINK" in report and ",+8613800138000," in report
