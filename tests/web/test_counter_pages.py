"""The counter's pages in-process: finding a person (the number masked once found), registering one, a life event
with its paper, a bank account, a freeze, an heir's withdrawal taken in with the policy's checklist, a cash voucher
paid to its proven holder, and appointment slots; with the cheats refused and nothing written: other roles, no form
token, another person's ID card at the cash desk, the counter deciding its own intake, bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.test_application_stories import insured
from tests.support import (
    API,
    CLAIM_DOCS,
    PASSWORD,
    PDF,
    bearer,
    build_world,
    new_bank_no,
    new_id_number,
    new_phone,
    row_counts,
)
from tests.web.conftest import csrf_of, page_sign_in, post_form, text_of
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.life_events import AccountFreeze, LifeEvent
from yibao.domain.registry import Person
from yibao.domain.users import Actor, Role
from yibao.services.applications import appointments, cases
from yibao.services.credentials import evouchers
from yibao.services.registry import institutions, life_events

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
COUNTER = Actor(username="counter-user", role=Role.COUNTER)
HOSPITAL = "H21020000001"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(NOW)
    return build_world(ctx, admin)


@pytest.fixture
def desk(client, world):
    page_sign_in(client, "counter-user", PASSWORD)
    return client


def _get(ctx, kind, record_id: str):
    with ctx.uow() as uow:
        return uow.get(kind, record_id)


def _with_files(client, path: str, data: dict, files: list[tuple[str, bytes]], *, from_page: str):
    page = client.get(from_page)
    return client.post(path, data={**data, "csrf_token": csrf_of(page.text)}, follow_redirects=False,
                       files=[(name, (f"{name}.pdf", content, "application/octet-stream")) for name, content in files])


# --- finding a person --------------------------------------------------------------------------------------


def test_the_counter_finds_a_person_by_id_number_and_then_shows_it_masked(desk, world):
    found = post_form(desk, "/counter/find", {"id_number": world.person.id_number}, from_page="/counter")

    assert found.status_code == 303 and found.headers["location"] == f"/counter/persons/{world.person.id}"
    assert world.person.id_number not in found.headers["location"]
    page = desk.get(found.headers["location"])
    assert page.status_code == 200
    text = text_of(page.text)
    assert "张伟" in text and world.person.id_number not in page.text
    assert world.person.id_number[:4] in text and world.person.id_number[-4:] in text


def test_a_bad_or_unknown_number_is_told_beside_the_field_and_not_echoed(desk, world):
    bad = post_form(desk, "/counter/find", {"id_number": "12345"}, from_page="/counter")
    assert bad.status_code == 422 and 'id="e-id_number"' in bad.text and 'value="12345"' not in bad.text
    unknown = new_id_number()
    missing = post_form(desk, "/counter/find", {"id_number": unknown}, from_page="/counter")
    assert missing.status_code == 422 and 'id="e-id_number"' in missing.text and unknown not in missing.text
    assert 'href="/counter/persons/new"' in missing.text


@pytest.mark.parametrize("username", ["unit-user", "institution-user", "employee", "reviewer-user", "auditor-user",
                                      "admin-user"])
def test_other_roles_are_refused_the_counter(client, world, username):
    page_sign_in(client, username, PASSWORD)
    for path in ("/counter", f"/counter/persons/{world.person.id}", "/counter/cash", "/counter/slots"):
        assert client.get(path).status_code == 403, path
    token = csrf_of(client.get("/").text)
    looked = client.post("/counter/find", data={"id_number": world.person.id_number, "csrf_token": token},
                         follow_redirects=False)
    assert looked.status_code == 403 and world.person.id_number not in looked.text


def test_without_a_session_the_counter_asks_to_sign_in(client, world):
    answer = client.get("/counter", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_post_without_the_form_token_is_refused_and_writes_nothing(desk, ctx, world):
    before = row_counts(ctx)
    for path, data in ((f"/counter/persons/{world.person.id}/freeze", {"freeze_reason": "调查"}),
                       ("/counter/persons", {"id_number": new_id_number(), "name": "王五", "phone": new_phone(),
                                             "region": "110000"}),
                       ("/counter/find", {"id_number": world.person.id_number})):
        assert desk.post(path, data=data, follow_redirects=False).status_code == 403, path
        assert desk.post(path, data={**data, "csrf_token": "stale"}, follow_redirects=False).status_code == 403
    assert row_counts(ctx) == before


# --- registering -------------------------------------------------------------------------------------------


def test_the_counter_registers_a_verified_person(desk, ctx, world):
    number = new_id_number()
    done = post_form(desk, "/counter/persons", {"id_number": number, "name": "王五", "phone": new_phone(),
                                                "region": "110000"}, from_page="/counter/persons/new")

    assert done.status_code == 303
    person_id = done.headers["location"].rsplit("/", 1)[-1]
    person = _get(ctx, Person, person_id)
    assert (person.name, person.id_number, person.verified_how, person.verified_by) == (
        "王五", number, "counter", "counter-user")
    assert "王五" in text_of(desk.get(done.headers["location"]).text)


def test_bad_registration_data_is_marked_beside_each_field_and_writes_nothing(desk, ctx, world):
    before = row_counts(ctx)
    bad = post_form(desk, "/counter/persons", {"id_number": "123", "name": "", "phone": "12", "region": "999999"},
                    from_page="/counter/persons/new")
    assert bad.status_code == 422
    for name in ("id_number", "name", "phone", "region"):
        assert f'id="e-{name}"' in bad.text, name
    twice = post_form(desk, "/counter/persons", {"id_number": world.person.id_number, "name": "张伟",
                                                 "phone": new_phone(), "region": "110000"},
                      from_page="/counter/persons/new")
    assert twice.status_code == 409 and 'id="e-id_number"' in twice.text
    assert world.person.id_number not in twice.text
    assert row_counts(ctx) == before


# --- a life event, a bank account, a freeze ----------------------------------------------------------------


def test_a_death_is_recorded_with_its_certificate(desk, ctx, admin, world):
    path = f"/counter/persons/{world.other.id}"
    done = _with_files(desk, f"{path}/events", {"kind": "death", "event_date": "2026-02-20"},
                       [("paper", PDF)], from_page=path)

    assert done.status_code == 303, done.text
    [found] = life_events.list_events(ctx, actor=admin, person_id=world.other.id)
    event = found["event"]
    assert (event.kind, event.event_date, event.source, event.recorded_by) == (
        "death", dt.date(2026, 2, 20), "counter", "counter-user")
    [paper] = event.document_ids
    with ctx.uow() as uow:
        from yibao.domain.applications import Document

        assert uow.get(Document, paper).type == "death_certificate"
    assert "死亡" in text_of(desk.get(path).text)


def test_a_refused_event_keeps_no_paper(desk, ctx, world):
    path = f"/counter/persons/{world.other.id}"
    before = row_counts(ctx)
    future = _with_files(desk, f"{path}/events", {"kind": "death", "event_date": "2026-04-01"}, [("paper", PDF)],
                         from_page=path)
    assert future.status_code == 422 and 'id="e-event_date"' in future.text
    no_paper = _with_files(desk, f"{path}/events", {"kind": "death", "event_date": "2026-02-20"}, [],
                           from_page=path)
    assert no_paper.status_code == 422 and 'id="e-paper"' in no_paper.text
    not_a_pdf = _with_files(desk, f"{path}/events", {"kind": "emigration", "event_date": "2026-02-20"},
                            [("paper", b"plain text, not a scan")], from_page=path)
    assert not_a_pdf.status_code == 422 and 'id="e-paper"' in not_a_pdf.text
    no_kind = _with_files(desk, f"{path}/events", {"kind": "moved", "event_date": "yesterday"}, [("paper", PDF)],
                          from_page=path)
    assert no_kind.status_code == 422 and 'id="e-kind"' in no_kind.text and 'id="e-event_date"' in no_kind.text
    assert row_counts(ctx) == before


def test_the_counter_links_a_bank_account_in_the_persons_name(desk, ctx, admin, world):
    path = f"/counter/persons/{world.other.id}"
    number = new_bank_no()
    wrong = post_form(desk, f"{path}/bank", {"account_no": number, "bank_name": "中国银行", "holder_name": "别人"},
                      from_page=path)
    assert wrong.status_code in (403, 422) and 'id="e-holder_name"' in wrong.text
    assert evouchers.list_bank_accounts(ctx, actor=admin, person_id=world.other.id) == []

    done = post_form(desk, f"{path}/bank", {"account_no": number, "bank_name": "中国银行", "holder_name": "李娜"},
                     from_page=path)

    assert done.status_code == 303
    [account] = evouchers.list_bank_accounts(ctx, actor=admin, person_id=world.other.id)
    assert account.account_no == number and account.is_primary
    page = desk.get(path).text
    assert number not in page and number[-4:] in text_of(page)


def test_the_counter_freezes_an_account_with_a_reason_and_lifts_it(desk, ctx, world):
    path = f"/counter/persons/{world.person.id}"
    before = row_counts(ctx)
    empty = post_form(desk, f"{path}/freeze", {"freeze_reason": "  "}, from_page=path)
    assert empty.status_code == 422 and 'id="e-freeze_reason"' in empty.text
    too_long = post_form(desk, f"{path}/freeze", {"freeze_reason": "查" * 201}, from_page=path)
    assert too_long.status_code == 422 and 'id="e-freeze_reason"' in too_long.text
    assert row_counts(ctx) == before

    done = post_form(desk, f"{path}/freeze", {"freeze_reason": "疑似冒用，调查中"}, from_page=path)

    assert done.status_code == 303
    with ctx.uow() as uow:
        frozen = uow.one_by(AccountFreeze, person_id=world.person.id, lifted_at=None)
    assert (frozen.reason, frozen.frozen_by) == ("疑似冒用，调查中", "counter-user")
    assert "疑似冒用，调查中" in text_of(desk.get(path).text)
    lifted = post_form(desk, f"{path}/unfreeze", {"unfreeze_reason": "调查结束"}, from_page=path)
    assert lifted.status_code == 303
    with ctx.uow() as uow:
        assert uow.one_by(AccountFreeze, person_id=world.person.id, lifted_at=None) is None


def test_a_person_that_does_not_exist_is_not_found(desk, world):
    assert desk.get("/counter/persons/psn_nobody").status_code == 404


# --- an heir's case ----------------------------------------------------------------------------------------


@pytest.fixture
def deceased(ctx, admin, world):
    """刘建国 of Beijing, with money, died on 20 February; his daughter 刘丽 is registered with a bank account."""
    father = insured(ctx, admin, region="110000", name="刘建国", birth="19560708", bank=None)
    daughter = insured(ctx, admin, region="110000", name="刘丽")
    life_events.record_event(ctx, actor=COUNTER, person_id=father.id, kind="death", date=dt.date(2026, 2, 20))
    return father, daughter


def _take_heir_case(desk, father, daughter, **overrides):
    path = f"/counter/persons/{father.id}"
    data = {"reason": "death", "heir_id_number": daughter.id_number, "heir_name": daughter.name,
            "relation": "child", **overrides}
    return post_form(desk, f"{path}/applications", data, from_page=path)


def test_the_counter_takes_an_heirs_case_with_the_policys_checklist(desk, ctx, admin, deceased):
    father, daughter = deceased
    started = _take_heir_case(desk, father, daughter)
    assert started.status_code == 303, started.text
    page_path = started.headers["location"]
    application_id = page_path.rsplit("/", 1)[-1]
    page = desk.get(page_path)
    asked = cases.documents_asked(ctx, actor=admin, application_id=application_id)
    assert asked and "death_certificate" in asked and "heir_proof" in asked
    for type in asked:
        assert f'name="doc_{type}"' in page.text, type

    before = row_counts(ctx)
    short = _with_files(desk, f"{page_path}/submit", {}, [(f"doc_{asked[0]}", PDF)], from_page=page_path)
    assert short.status_code == 422 and f'id="e-doc_{asked[1]}"' in short.text
    assert row_counts(ctx) == before

    done = _with_files(desk, f"{page_path}/submit", {}, [(f"doc_{t}", PDF) for t in asked], from_page=page_path)

    assert done.status_code == 303, done.text
    view = cases.get(ctx, actor=admin, application_id=application_id)
    app = view.application
    assert (app.status, app.applicant_id, app.channel, app.in_person) == ("submitted", daughter.id, "counter", True)
    assert {d.type for d in view.documents} == set(asked) and {d.person_id for d in view.documents} == {daughter.id}
    assert application_id in {a.id for a in cases.queue(ctx, actor=Actor(username="r", role=Role.REVIEWER))}
    text = text_of(desk.get(page_path).text)
    assert "等待审核" in text or "已提交" in text

    with pytest.raises(errors.AccessForbidden):  # the counter decides nothing, least of all its own intake
        cases.review(ctx, actor=COUNTER, application_id=application_id, action="approve")
    taker_as_reviewer = Actor(username="counter-user", role=Role.REVIEWER)
    with pytest.raises(errors.SameHands):
        cases.review(ctx, actor=taker_as_reviewer, application_id=application_id, action="approve")
    assert cases.get(ctx, actor=admin, application_id=application_id).application.status == "submitted"


def test_a_wrong_heir_is_marked_and_no_case_is_started(desk, ctx, admin, deceased):
    father, daughter = deceased
    before = row_counts(ctx)
    wrong_name = _take_heir_case(desk, father, daughter, heir_name="别人")
    assert wrong_name.status_code in (403, 422) and 'id="e-heir_id_number"' in wrong_name.text
    unknown = _take_heir_case(desk, father, daughter, heir_id_number=new_id_number())
    assert unknown.status_code == 422 and 'id="e-heir_id_number"' in unknown.text
    nothing = _take_heir_case(desk, father, daughter, heir_id_number="", heir_name="", relation="")
    assert nothing.status_code == 422
    for name in ("heir_id_number", "heir_name", "relation"):
        assert f'id="e-{name}"' in nothing.text, name
    assert daughter.id_number not in wrong_name.text
    living = _take_heir_case(desk, daughter, father)  # the living daughter's account is no death case
    assert living.status_code == 422
    assert row_counts(ctx) == before


# --- cash vouchers -----------------------------------------------------------------------------------------


@pytest.fixture
def cash(ctx, admin, client, world):
    """A Beijing person's cross-region claim approved for cash at a Dalian hospital: (holder, code)."""
    institutions.add_institution(ctx, actor=admin, code=HOSPITAL, name="大连市中心医院", kind="hospital",
                                 region="210200", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))
    holder = insured(ctx, admin, region="110000", name="赵敏")
    me = bearer(client, holder.username)
    papers = []
    for type in CLAIM_DOCS:
        r = client.post(f"{API}/documents", headers=me, data={"type": type, "person_id": holder.id},
                        files={"file": ("scan.pdf", PDF, "application/pdf")})
        papers.append(r.json()["document_id"])
    invoice = {"number": "INV-88", "issuer": HOSPITAL, "date": "2026-02-20",
               "items": [{"category": "drug", "amount_fen": 15_000}]}
    r = client.post(f"{API}/applications", headers=me, json={
        "person_id": holder.id, "kind": "reimbursement", "reason": "cross_region", "invoices": [invoice],
        "document_ids": papers, "payout": "cash_voucher", "institution_code": HOSPITAL})
    assert r.status_code == 201, r.text
    approved = client.post(f"{API}/applications/{r.json()['application_id']}/review",
                           headers=bearer(client, "reviewer-user"), json={"action": "approve", "note": "发票齐全"})
    assert approved.status_code == 200, approved.text
    client.cookies.clear()
    return holder, approved.json()["cash_voucher"]["code"]


def test_a_cash_voucher_is_looked_up_and_paid_to_its_proven_holder_only(desk, ctx, world, cash):
    holder, code = cash
    page_sign_in(desk, "counter-user", PASSWORD)
    found = post_form(desk, "/counter/cash/lookup", {"code": code}, from_page="/counter/cash")
    assert found.status_code == 200
    text = text_of(found.text)
    assert "¥150.00" in text and "赵*" in text and holder.id_number not in found.text

    before = row_counts(ctx)
    stranger = post_form(desk, "/counter/cash/redeem", {"code": code, "id_number": world.person.id_number},
                         from_page="/counter/cash")
    assert stranger.status_code == 403 and 'id="e-id_number"' in stranger.text
    assert world.person.id_number not in stranger.text
    empty = post_form(desk, "/counter/cash/redeem", {"code": code, "id_number": ""}, from_page="/counter/cash")
    assert empty.status_code == 422 and 'id="e-id_number"' in empty.text
    assert row_counts(ctx) == before

    paid = post_form(desk, "/counter/cash/redeem", {"code": code, "id_number": holder.id_number},
                     from_page="/counter/cash")

    assert paid.status_code == 200
    assert "¥150.00" in text_of(paid.text) and "已拨付" in text_of(paid.text)
    again = post_form(desk, "/counter/cash/redeem", {"code": code, "id_number": holder.id_number},
                      from_page="/counter/cash")
    assert again.status_code == 409


def test_an_unknown_voucher_code_is_told_beside_the_field(desk, world):
    unknown = post_form(desk, "/counter/cash/lookup", {"code": "0000-0000-0000"}, from_page="/counter/cash")
    assert unknown.status_code == 404 and 'id="e-code"' in unknown.text
    empty = post_form(desk, "/counter/cash/lookup", {"code": ""}, from_page="/counter/cash")
    assert empty.status_code == 422 and 'id="e-code"' in empty.text


# --- appointment slots -------------------------------------------------------------------------------------


def test_the_counter_publishes_lists_and_cancels_bookings_of_slots(desk, ctx, admin, world):
    page = "/counter/slots"
    done = post_form(desk, page, {"institution_code": world.institution_code, "day": "2026-03-03",
                                  "starts": "09:00", "ends": "10:00", "capacity": "2"}, from_page=page)
    assert done.status_code == 303
    [slot] = appointments.list_slots(ctx, actor=admin, institution_code=world.institution_code,
                                     day=dt.date(2026, 3, 3))
    assert (slot.capacity, slot.starts_at.astimezone(SHANGHAI).hour) == (2, 9)
    booked = appointments.book(ctx, actor=admin, slot_id=slot.id, person_id=world.person.id, purpose="取现")
    listing = desk.get(done.headers["location"])
    assert "09:00" in text_of(listing.text) and "张*" in text_of(listing.text) and "1" in text_of(listing.text)

    cancelled = post_form(desk, f"/counter/appointments/{booked.id}/cancel",
                          {"institution": world.institution_code, "day": "2026-03-03"}, from_page=page)

    assert cancelled.status_code == 303
    [after] = appointments.list_slots(ctx, actor=admin, institution_code=world.institution_code,
                                      day=dt.date(2026, 3, 3))
    assert after.booked == 0


def test_a_bad_slot_is_marked_beside_its_fields_and_nothing_is_published(desk, ctx, world):
    page = "/counter/slots"
    before = row_counts(ctx)
    bad = post_form(desk, page, {"institution_code": world.institution_code, "day": "soon", "starts": "9am",
                                 "ends": "", "capacity": "many"}, from_page=page)
    assert bad.status_code == 422
    for name in ("day", "starts", "ends", "capacity"):
        assert f'id="e-{name}"' in bad.text, name
    backwards = post_form(desk, page, {"institution_code": world.institution_code, "day": "2026-03-03",
                                       "starts": "10:00", "ends": "09:00", "capacity": "2"}, from_page=page)
    assert backwards.status_code == 422 and 'id="e-ends"' in backwards.text
    too_many = post_form(desk, page, {"institution_code": world.institution_code, "day": "2026-03-03",
                                      "starts": "09:00", "ends": "10:00", "capacity": "5000"}, from_page=page)
    assert too_many.status_code == 422 and 'id="e-capacity"' in too_many.text
    nowhere = post_form(desk, page, {"institution_code": "H99999999999", "day": "2026-03-03",
                                     "starts": "09:00", "ends": "10:00", "capacity": "2"}, from_page=page)
    assert nowhere.status_code == 404 and 'id="e-institution_code"' in nowhere.text
    assert row_counts(ctx) == before


def test_bookings_of_a_slot_are_for_those_who_may_publish_it(ctx, admin, world):
    slot = appointments.publish_slot(ctx, actor=admin, institution_code=world.institution_code,
                                     starts_at=dt.datetime(2026, 3, 3, 9, tzinfo=SHANGHAI),
                                     ends_at=dt.datetime(2026, 3, 3, 10, tzinfo=SHANGHAI), capacity=1)
    appointments.book(ctx, actor=admin, slot_id=slot.id, person_id=world.other.id, purpose="取现")
    [row] = appointments.bookings(ctx, actor=COUNTER, slot_id=slot.id)
    assert (row["holder_name"], row["appointment"].status) == ("李*", "booked")
    other_place = Actor(username="x", role=Role.INSTITUTION, institution_code="P11000000099")
    with pytest.raises(errors.AccessForbidden):
        appointments.bookings(ctx, actor=other_place, slot_id=slot.id)
    with pytest.raises(errors.AccessForbidden):
        appointments.bookings(ctx, actor=Actor(username="p", role=Role.PERSON, person_id=world.other.id),
                              slot_id=slot.id)


def test_check_event_writes_nothing_and_refuses_what_record_event_refuses(ctx, admin, world):
    before = row_counts(ctx)
    life_events.check_event(ctx, actor=COUNTER, person_id=world.other.id, kind="death", date=dt.date(2026, 2, 1))
    with pytest.raises(errors.LifeEventInvalid):
        life_events.check_event(ctx, actor=COUNTER, person_id=world.other.id, kind="death",
                                date=dt.date(2026, 4, 1))
    assert row_counts(ctx) == before
    life_events.record_event(ctx, actor=COUNTER, person_id=world.other.id, kind="death", date=dt.date(2026, 2, 1))
    with pytest.raises(errors.LifeEventConflict):
        life_events.check_event(ctx, actor=COUNTER, person_id=world.other.id, kind="emigration",
                                date=dt.date(2026, 2, 1))
    with pytest.raises(errors.AccessForbidden):
        life_events.check_event(ctx, actor=Actor(username="u", role=Role.UNIT, employer_id=world.employer_id),
                                person_id=world.other.id, kind="death", date=dt.date(2026, 2, 1))
    with ctx.uow() as uow:
        assert uow.one_by(LifeEvent, person_id=world.other.id).kind == "death"



def test_the_counter_pages_speak_english_on_asking(desk, world):
    page = desk.get("/counter?lang=en")
    assert page.status_code == 200 and "Find a person" in text_of(page.text)
    person = desk.get(f"/counter/persons/{world.person.id}?lang=en")
    assert "Take an application in person" in text_of(person.text) and "Account freeze" in text_of(person.text)
