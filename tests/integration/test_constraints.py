"""The database itself refuses what the services refuse, so a race or a bug cannot slip past."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.support import new_bank_no, new_id_number, new_phone
from yibao.domain import errors
from yibao.services.credentials import evouchers
from yibao.services.registry import enrolment


def _insert_enrollment(conn, id_, person_id, status="active"):
    conn.execute(sa.text(
        "INSERT INTO enrollments (id, person_id, scheme, employer_id, flexible, start_date, status, created_at) "
        "VALUES (:id, :p, 'resident', NULL, false, :d, :s, :t)"),
        {"id": id_, "p": person_id, "d": dt.date(2026, 1, 1), "s": status,
         "t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})


def test_one_open_enrolment_per_scheme_is_a_database_rule(ctx, admin):
    person = enrolment.register_person(ctx, actor=admin, id_number=new_id_number(), name="张伟", phone=new_phone(),
                                       region="110000")
    with ctx.engine.begin() as conn:
        _insert_enrollment(conn, "enr_a", person.id)
        _insert_enrollment(conn, "enr_old", person.id, status="ended")
    with pytest.raises(IntegrityError):
        with ctx.engine.begin() as conn:
            _insert_enrollment(conn, "enr_b", person.id)


def test_one_primary_bank_account_is_a_database_rule(ctx, admin):
    person = enrolment.register_person(ctx, actor=admin, id_number=new_id_number(), name="张伟", phone=new_phone(),
                                       region="110000")
    evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=new_bank_no(),
                                  bank_name="中国银行", holder_name="张伟")
    with pytest.raises(IntegrityError):
        with ctx.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO bank_accounts (id, person_id, account_no, bank_name, holder_name, is_primary, created_at)"
                " VALUES ('bnk_x', :p, :n, '中国银行', '张伟', true, :t)"),
                {"p": person.id, "n": new_bank_no(), "t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})


def test_concurrent_registrations_of_one_id_number_give_one_person_and_one_conflict(ctx, admin):
    number = new_id_number()
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def register():
        barrier.wait()
        try:
            enrolment.register_person(ctx, actor=admin, id_number=number, name="张伟", phone=new_phone(),
                                      region="110000")
            outcomes.append("created")
        except errors.PersonDuplicate:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "duplicate", "duplicate", "duplicate"]
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM persons")).scalar() == 1
