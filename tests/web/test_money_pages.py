"""The person's money pages in process: the history with its chart and statement, the e-voucher's payment code
that settles once, cards, bank accounts and the inbox; and the cheats each page refuses."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.support import PASSWORD, PIN, add_person, funded_world, new_bank_no, row_counts
from tests.web.conftest import csrf_of, page_sign_in, post_form, text_of
from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor, Role
from yibao.services import notices
from yibao.services.credentials import cards, evouchers, payment_codes
from yibao.services.settlement import payments
from yibao.store.tables import audit_records

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(ctx, admin):
    return funded_world(ctx, admin, at=MORNING)  # ¥2,000 credited to the employee in four months


@pytest.fixture
def person(client, world):
    page_sign_in(client, world.person.username, PASSWORD)
    return world.person


def errors_beside(html: str) -> set[str]:
    return set(re.findall(r'class="error" id="e-([a-z_]+)"', html))


# --- history ------------------------------------------------------------------------------------------------


def test_history_lists_the_entries_filters_by_kind_and_dates_and_tables_the_months(client, person):
    page = client.get("/me/history")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "缴费划入" in words and "¥2,000.00" in words
    assert len(re.findall(r'<tr><td class="when">', page.text.split('data-testid="lines"')[1])) == 4
    assert 'src="/me/history/chart.svg"' in page.text and "<img" in page.text
    months = page.text.split('data-testid="months"')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row">([\d-]+)</th>', months) == ["2026-02"]  # credited on 10 February
    none = client.get("/me/history?kind=settlement")
    assert "没有符合条件的记录" in text_of(none.text)
    period = client.get("/me/history?from=2026-01-01&to=2026-01-31")
    assert 'src="/me/history/chart.svg' not in period.text and 'data-testid="lines"' not in period.text
    day = client.get("/me/history?from=2026-02-10&to=2026-02-10&kind=contribution")
    assert 'src="/me/history/chart.svg?from=2026-02-10&amp;to=2026-02-10"' in day.text
    assert len(re.findall(r'<tr><td class="when">', day.text.split('data-testid="lines"')[1])) == 4


def test_bad_dates_and_kinds_are_marked_beside_their_fields_without_echoing_them(client, person):
    answer = client.get("/me/history?from=2026-13-45&to=<b>x</b>&kind=bogus")
    assert answer.status_code == 422
    assert errors_beside(answer.text) == {"from", "to", "kind"}
    assert "<b>x</b>" not in answer.text
    reversed_ = client.get("/me/history?from=2026-02-01&to=2026-01-01")
    assert reversed_.status_code == 422 and errors_beside(reversed_.text) == {"to"}


def test_the_chart_is_an_svg_of_its_own_with_no_script_and_its_own_narrow_policy(client, person):
    answer = client.get("/me/history/chart.svg?from=2026-01-01")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    svg = answer.text
    assert svg.startswith("<svg") and "<script" not in svg and "http://" not in svg.replace(
        "http://www.w3.org/", "")
    assert "<title>" in svg and "¥" in svg


def test_the_statement_pdf_is_asked_for_by_a_form(client, person):
    answer = post_form(client, "/me/history/statement.pdf", {"from": "2026-01-01", "to": ""}, from_page="/me/history")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and answer.headers["x-voucher-code"]
    forged = client.post("/me/history/statement.pdf", data={"from": ""}, follow_redirects=False)
    assert forged.status_code == 403


# --- e-voucher ----------------------------------------------------------------------------------------------


def _activate(client, person):
    return post_form(client, "/me/evoucher/activate", {"name": person.name, "id_number": person.id_number},
                     from_page="/me/evoucher")


def shown_code(client) -> str:
    page = client.get("/me/evoucher")
    assert page.status_code == 200, text_of(page.text)[:300]
    digits = re.search(r'data-testid="code">([\d ]+)<', page.text).group(1)
    return digits.replace(" ", "")


def pay(ctx, admin, world, code: str, key: str):
    return payments.settle(ctx, actor=admin, idempotency_key=key, institution_code=world.institution_code,
                           credential={"type": "evoucher_code", "code": code},
                           items=[{"category": "drug", "amount_fen": 1_000}])


def test_activation_then_a_code_that_refreshes_each_minute_and_settles_once(client, ctx, admin, world, person):
    first = client.get("/me/evoucher")
    assert 'action="/me/evoucher/activate"' in first.text and 'http-equiv="refresh"' not in first.text
    activated = _activate(client, person)
    assert activated.status_code == 303 and activated.headers["location"] == "/me/evoucher"
    page = client.get("/me/evoucher")
    assert re.search(r'<meta http-equiv="refresh" content="(\d+)">', page.text).group(1) == "50"
    assert 'src="data:image/svg+xml' in page.text and not re.search(r"<script(?![^>]*\ssrc=)", page.text)
    words = text_of(page.text)
    assert "张*" in words and "张伟" not in words and "有效期至 2026年3月2日 09:0" in words
    code = shown_code(client)
    assert re.fullmatch(r"\d{20}", code)
    paid = pay(ctx, admin, world, code, "web-code-1")
    assert paid["account_paid_fen"] == 1_000
    with pytest.raises(errors.PaymentCodeUsed):
        pay(ctx, admin, world, code, "web-code-2")


def test_a_code_shown_goes_stale_after_its_minute(client, ctx, admin, world, person):
    _activate(client, person)
    code = shown_code(client)
    ctx.clock.set(ctx.now() + dt.timedelta(seconds=61))  # the clock runs on from where it was set
    with pytest.raises(errors.PaymentCodeExpired):
        pay(ctx, admin, world, code, "web-late")


def test_too_many_codes_in_a_minute_are_refused_with_a_clear_message(client, ctx, person):
    _activate(client, person)
    for _ in range(ctx.settings.payment_codes_per_evoucher):
        shown_code(client)
    answer = client.get("/me/evoucher")
    assert answer.status_code == 429 and "付款码请求过于频繁" in text_of(answer.text)
    assert 'data-testid="code"' not in answer.text and 'http-equiv="refresh"' not in answer.text


def test_activation_checks_the_real_name_and_writes_nothing_for_empty_fields(client, ctx, person):
    before = row_counts(ctx)
    empty = post_form(client, "/me/evoucher/activate", {"name": " ", "id_number": ""}, from_page="/me/evoucher")
    assert empty.status_code == 422 and errors_beside(empty.text) == {"name", "id_number"}
    assert row_counts(ctx) == before
    wrong = post_form(client, "/me/evoucher/activate", {"name": "王五", "id_number": person.id_number},
                      from_page="/me/evoucher")
    assert wrong.status_code == 422 and errors_beside(wrong.text) == {"id_number"}
    assert "王五" not in wrong.text.split('id="e-id_number"')[1].split("</p>")[0]
    assert row_counts(ctx)["evouchers"] == before["evouchers"]


def test_the_owners_code_service_serves_only_the_person_and_audits_each_code(ctx, admin, world):
    owner = Actor(username="employee", role=Role.PERSON, person_id=world.person.id)
    with pytest.raises(errors.EVoucherInvalid):
        payment_codes.issue_for_owner(ctx, actor=owner)
    evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id, id_number=world.person.id_number,
                                name=world.person.name, channel="app")
    for staff in (admin, Actor(username="counter", role=Role.COUNTER)):
        with pytest.raises(errors.AccessForbidden):
            payment_codes.issue_for_owner(ctx, actor=staff)
    issued = payment_codes.issue_for_owner(ctx, actor=owner, address="198.51.100.7")
    assert issued.expires_at - ctx.now() <= dt.timedelta(seconds=60)
    with ctx.engine.connect() as conn:
        audited = conn.execute(sa.select(audit_records.c.action, audit_records.c.actor).where(
            audit_records.c.action == "evoucher.payment_code")).all()
    assert audited == [("evoucher.payment_code", "employee")]
    for _ in range(ctx.settings.payment_codes_per_evoucher - 1):
        payment_codes.issue_for_owner(ctx, actor=owner)
    with pytest.raises(errors.PaymentCodesThrottled):
        payment_codes.issue_for_owner(ctx, actor=owner)


# --- cards --------------------------------------------------------------------------------------------------


def test_change_pin_with_errors_beside_the_fields_then_for_real(client, ctx, person):
    card = person.card_no
    path = f"/me/cards/{card}/pin"
    before = row_counts(ctx)
    differ = post_form(client, path, {"old_pin": PIN, "new_pin": "472951", "new_pin_again": "472950"},
                       from_page="/me/cards")
    assert differ.status_code == 422 and errors_beside(differ.text) == {"new_pin_again"}
    simple = post_form(client, path, {"old_pin": PIN, "new_pin": "111111", "new_pin_again": "111111"},
                       from_page="/me/cards")
    assert simple.status_code == 422 and errors_beside(simple.text) == {"new_pin"}
    assert row_counts(ctx) == before
    wrong = post_form(client, path, {"old_pin": "000000", "new_pin": "472951", "new_pin_again": "472951"},
                      from_page="/me/cards")
    assert wrong.status_code == 422 and errors_beside(wrong.text) == {"old_pin"}
    assert PIN not in wrong.text and "472951" not in wrong.text
    done = post_form(client, path, {"old_pin": PIN, "new_pin": "472951", "new_pin_again": "472951"},
                     from_page="/me/cards")
    assert done.status_code == 303
    owner = Actor(username="employee", role=Role.PERSON, person_id=person.id)
    assert cards.verify_pin(ctx, actor=owner, card_no=card, pin="472951")


def test_activate_a_new_card_with_the_pin_twice_and_report_the_old_one_lost(client, ctx, admin, person):
    new = cards.issue_card(ctx, actor=admin, person_id=person.id)
    page = client.get(f"/me/cards?card={new.card_no}")
    assert f'action="/me/cards/{new.card_no}/activate"' in page.text
    done = post_form(client, f"/me/cards/{new.card_no}/activate",
                     {"id_number": person.id_number, "pin": "472951", "pin_again": "472951"}, from_page="/me/cards")
    assert done.status_code == 303
    lost = post_form(client, f"/me/cards/{person.card_no}/lost", {}, from_page="/me/cards")
    assert lost.status_code == 303
    assert cards.get_card(ctx, actor=admin, card_no=person.card_no).status == "lost"
    assert cards.get_card(ctx, actor=admin, card_no=new.card_no).status == "active"
    assert "已挂失" in text_of(client.get("/me/cards").text)


def test_another_persons_card_is_refused_and_left_as_it_was(client, ctx, admin, world, person):
    other = world.other.card_no
    before = row_counts(ctx)
    for path, data in ((f"/me/cards/{other}/lost", {}),
                       (f"/me/cards/{other}/pin", {"old_pin": PIN, "new_pin": "472951", "new_pin_again": "472951"}),
                       (f"/me/cards/{other}/activate", {"id_number": world.other.id_number, "pin": "472951",
                                                         "pin_again": "472951"})):
        answer = post_form(client, path, data, from_page="/me/cards")
        assert answer.status_code == 403, path
    assert row_counts(ctx) == before
    assert cards.get_card(ctx, actor=admin, card_no=other).status == "active"
    assert other not in text_of(client.get(f"/me/cards?card={other}").text)  # only the person's own cards are offered


# --- bank accounts ------------------------------------------------------------------------------------------


def test_link_make_primary_and_unlink_a_bank_account(client, ctx, admin, person):
    number = new_bank_no()
    linked = post_form(client, "/me/bank/link", {"account_no": number, "bank_name": "中国银行",
                                                 "holder_name": person.name}, from_page="/me/bank")
    assert linked.status_code == 303
    page = client.get("/me/bank")
    assert number[-4:] in page.text and number not in page.text
    accounts = evouchers.list_bank_accounts(ctx, actor=admin, person_id=person.id)
    new = next(a for a in accounts if a.account_no == number)
    assert not new.is_primary
    assert post_form(client, f"/me/bank/{new.id}/primary", {}, from_page="/me/bank").status_code == 303
    assert post_form(client, f"/me/bank/{new.id}/unlink", {}, from_page="/me/bank").status_code == 303
    left = evouchers.list_bank_accounts(ctx, actor=admin, person_id=person.id)
    assert [a.id for a in left] == [accounts[0].id] and left[0].is_primary


def test_a_bank_account_in_another_name_is_refused_beside_the_field(client, ctx, person):
    before = row_counts(ctx)
    answer = post_form(client, "/me/bank/link", {"account_no": new_bank_no(), "bank_name": "中国银行",
                                                 "holder_name": "王五"}, from_page="/me/bank")
    assert answer.status_code == 422 and errors_beside(answer.text) == {"holder_name"}
    empty = post_form(client, "/me/bank/link", {"account_no": "12", "bank_name": "", "holder_name": ""},
                      from_page="/me/bank")
    assert errors_beside(empty.text) == {"bank_name", "holder_name"}
    bad = post_form(client, "/me/bank/link", {"account_no": "12", "bank_name": "中国银行",
                                              "holder_name": person.name}, from_page="/me/bank")
    assert bad.status_code == 422 and errors_beside(bad.text) == {"account_no"}
    assert row_counts(ctx) == before


def test_another_persons_bank_account_is_refused_and_left_linked(client, ctx, admin, world, person):
    theirs = evouchers.link_bank_account(ctx, actor=admin, person_id=world.other.id, account_no=new_bank_no(),
                                         bank_name="中国银行", holder_name=world.other.name)
    before = row_counts(ctx)
    for action in ("primary", "unlink"):
        assert post_form(client, f"/me/bank/{theirs.id}/{action}", {}, from_page="/me/bank").status_code == 403
    assert row_counts(ctx) == before
    [still] = evouchers.list_bank_accounts(ctx, actor=admin, person_id=world.other.id)
    assert still.id == theirs.id and still.is_primary


# --- notices ------------------------------------------------------------------------------------------------


def _inbox(ctx, admin, person_id):
    from yibao.services.policy import sets

    return sets.notices_of(ctx, actor=admin, person_id=person_id)


def test_the_inbox_shows_newest_first_marks_unread_and_marks_read(client, ctx, admin, person):
    with ctx.uow() as uow:
        notices.tell(ctx, uow, [person.id], kind="test", title=("新消息", "A new message"),
                     body=("正文", "The body"), data={})
        uow.commit()
    page = client.get("/me/notices")
    words = text_of(page.text)
    assert words.index("新消息") < words.index("银行账户变更")
    newest = _inbox(ctx, admin, person.id)[0]
    assert f'action="/me/notices/{newest["id"]}/read"' in page.text and "未读" in words
    english = client.get("/me/notices?lang=en").text
    assert "A new message" in english and "The body" in english
    assert post_form(client, f"/me/notices/{newest['id']}/read", {}, from_page="/me/notices").status_code == 303
    assert _inbox(ctx, admin, person.id)[0]["read_at"] is not None


def test_another_persons_notice_cannot_be_marked(client, ctx, admin, world, person):
    theirs = _inbox(ctx, admin, world.other.id)
    if not theirs:
        with ctx.uow() as uow:
            notices.tell(ctx, uow, [world.other.id], kind="test", title=("他人", "Theirs"), body=("x", "x"), data={})
            uow.commit()
        theirs = _inbox(ctx, admin, world.other.id)
    answer = post_form(client, f"/me/notices/{theirs[0]['id']}/read", {}, from_page="/me/notices")
    assert answer.status_code == 404
    assert _inbox(ctx, admin, world.other.id)[0]["read_at"] is None


# --- every page: sessions, roles, tokens ------------------------------------------------------------------

PAGES = ("/me/history", "/me/evoucher", "/me/cards", "/me/bank", "/me/notices", "/me/history/chart.svg")


@pytest.mark.parametrize("role", ["unit", "institution"])
def test_a_unit_or_cashier_session_is_refused_every_money_page(client, world, role):
    page_sign_in(client, world.users[role], PASSWORD)
    for path in PAGES:
        assert client.get(path).status_code == 403, path


def test_signed_out_goes_to_sign_in(client, world):
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path


def test_forms_without_the_token_are_refused_and_change_nothing(client, ctx, person):
    client.get("/me/cards")
    before = row_counts(ctx)
    for path in (f"/me/cards/{person.card_no}/lost", "/me/bank/link", "/me/evoucher/activate",
                 "/me/notices/1/read", "/me/bank/x/unlink"):
        assert client.post(path, data={}, follow_redirects=False).status_code == 403, path
        forged = client.post(path, data={"csrf_token": "0" * 64}, follow_redirects=False)
        assert forged.status_code == 403, path
    assert row_counts(ctx) == before
    assert csrf_of(client.get("/me/cards").text)


def test_pages_render_in_english_too(client, ctx, admin, person):
    add_person(ctx, admin, name="赵六", card=False)
    for path in PAGES[:-1]:
        answer = client.get(path + "?lang=en")
        assert answer.status_code == 200 and 'lang="en"' in answer.text, path
