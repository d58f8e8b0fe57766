"""The cashier's desk in-process: a preview that charges nothing and decides as the settlement does, a settlement
that a double submit charges once, its receipt, refunds, the day's list with its reconciliation and CSV; and the
cheats: another institution's settlement, a forged institution in the form, a wrong PIN, a missing form token,
other roles, bad amounts that write nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from tests.support import PASSWORD, PIN, add_shanghai_hospital, funded_world, row_counts
from tests.web.conftest import page_sign_in, post_form, text_of
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor
from yibao.services.audit.verify import verify
from yibao.services.credentials import cards, evouchers, payment_codes
from yibao.services.settlement import payments

MARCH = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
AGENCY = Actor.system("test-admin")


@pytest.fixture
def world(ctx, admin):
    return funded_world(ctx, admin, at=MARCH)


@pytest.fixture
def cashier(client, world):
    page_sign_in(client, "institution-user", PASSWORD)
    return client


def card_bill(world, *amounts: str, pin: str = PIN, **extra) -> dict:
    data = {"method": "card", "card_no": world.person.card_no, "pin": pin, **extra}
    for row, amount in enumerate(amounts):
        data[f"category_{row}"], data[f"amount_{row}"] = "drug", amount
    return data


def hidden(html: str) -> dict:
    """The hidden fields of the preview's settle form, as the browser would send them back."""
    form = html.split('action="/institution/settle"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def refund_form(client, where: str) -> dict:
    """The refund form's hidden fields (the form token and the page's refund key), as the browser sends them."""
    form = client.get(where).text.split('/refund"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def settlements(ctx, world) -> list[dict]:
    return payments.institution_settlements(ctx, actor=AGENCY, code=world.institution_code)


def pin_failures(ctx, world) -> int:
    return cards.get_card(ctx, actor=AGENCY, card_no=world.person.card_no).pin_failures


def test_preview_then_settle_once_print_the_receipt_and_refund(cashier, ctx, world):
    assert "收款台" in text_of(cashier.get("/institution").text)
    before = row_counts(ctx)
    shown = post_form(cashier, "/institution/preview", card_bill(world, "300.00", "250.50"), from_page="/institution")
    assert shown.status_code == 200, text_of(shown.text)
    assert row_counts(ctx) == before  # nothing charged, held or recorded
    text = text_of(shown.text)
    assert "¥550.50" in text and "¥500.00" in text and "¥50.50" in text  # ¥500 a day at one institution
    assert "limit.institution_daily" in text
    assert shown.headers["cache-control"] == "no-store"
    form = {**hidden(shown.text), "pin": PIN}
    assert "pin" not in hidden(shown.text)  # the PIN is typed again, never carried in the page

    first = cashier.post("/institution/settle", data=form, follow_redirects=False)
    again = cashier.post("/institution/settle", data=form, follow_redirects=False)  # a double submit
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    [paid] = settlements(ctx, world)
    assert paid["account_paid_fen"] == 50_000 and paid["cash_fen"] == 5_050
    page = cashier.get(first.headers["location"])
    assert "已结算" in text_of(page.text) and paid["settlement_id"] in page.text

    receipt = post_form(cashier, f"/institution/settlements/{paid['settlement_id']}/receipt.pdf", {},
                        from_page=first.headers["location"])
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
    code = receipt.headers["X-Voucher-Code"]
    assert cashier.get(f"/api/v1/vouchers/{code}").json()["subject"]["settlement_id"] == paid["settlement_id"]

    where = first.headers["location"]
    part = cashier.post(f"{where}/refund", data={**refund_form(cashier, where), "amount": "100.5"},
                        follow_redirects=False)
    assert part.status_code == 303
    assert "部分退费" in text_of(cashier.get(first.headers["location"]).text)
    rest = cashier.post(f"{where}/refund", data={**refund_form(cashier, where), "amount": ""},
                        follow_redirects=False)
    assert rest.status_code == 303
    [done] = settlements(ctx, world)
    assert done["refunded_fen"] == 50_000 and done["status"] == "refunded"
    report = verify(ctx)  # the settlement, its refunds and the receipt's record all hold together
    assert report.ok, report.breaks


def test_a_payment_code_previewed_still_pays_once(cashier, ctx, admin, world):
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                           id_number=world.person.id_number, name=world.person.name, channel="app")
    code = payment_codes.issue(ctx, token=token).code
    grouped = " ".join(code[i:i + 4] for i in range(0, 20, 4))  # typed as shown under the QR
    bill = {"method": "code", "code": grouped, "category_0": "drug", "amount_0": "12.30"}
    shown = post_form(cashier, "/institution/preview", bill, from_page="/institution")
    assert shown.status_code == 200 and "¥12.30" in text_of(shown.text)
    paid = cashier.post("/institution/settle", data=hidden(shown.text), follow_redirects=False)
    assert paid.status_code == 303
    reused = post_form(cashier, "/institution/preview", bill, from_page="/institution")
    assert reused.status_code == 409 and "已使用" in text_of(reused.text)
    assert len(settlements(ctx, world)) == 1


@pytest.mark.parametrize("amount, message", [
    ("12.345", "最多两位小数"), ("-3", "须大于零"), ("0", "须大于零"), ("abc", "请以元为单位"),
    ("99999999999", "金额过大"),
])
def test_a_bad_amount_is_refused_beside_its_field_and_nothing_is_written(cashier, ctx, world, amount, message):
    before = row_counts(ctx)
    answer = post_form(cashier, "/institution/preview", card_bill(world, "10", amount), from_page="/institution")
    assert answer.status_code == 422
    assert re.search(r'id="e-amount_1">[^<]*' + message, answer.text)
    assert row_counts(ctx) == before
    assert pin_failures(ctx, world) == 0


def test_no_items_no_code_and_a_short_code_are_refused(cashier, ctx, world):
    empty = post_form(cashier, "/institution/preview", {"method": "card", "card_no": world.person.card_no,
                                                        "pin": PIN}, from_page="/institution")
    assert empty.status_code == 422 and "至少填写一项" in text_of(empty.text)
    short = post_form(cashier, "/institution/preview", {"method": "code", "code": "1234", "amount_0": "1",
                                                        "category_0": "drug"}, from_page="/institution")
    assert short.status_code == 422 and re.search(r'id="e-code">[^<]*20 位', short.text)


def test_a_wrong_pin_in_the_preview_counts_and_shows_beside_the_pin(cashier, ctx, world):
    answer = post_form(cashier, "/institution/preview", card_bill(world, "10", pin="000000"),
                       from_page="/institution")
    assert answer.status_code == 422 and 'id="e-pin"' in answer.text
    assert pin_failures(ctx, world) == 1


def test_the_institution_is_the_sessions_whatever_the_form_says(cashier, ctx, admin, world):
    add_shanghai_hospital(ctx, admin)
    shown = post_form(cashier, "/institution/preview", card_bill(world, "20", institution_code="H31000000001"),
                      from_page="/institution")
    form = {**hidden(shown.text), "pin": PIN, "institution_code": "H31000000001"}
    assert cashier.post("/institution/settle", data=form, follow_redirects=False).status_code == 303
    [paid] = settlements(ctx, world)
    assert paid["institution_code"] == world.institution_code


def test_another_institutions_settlement_is_refused_and_nothing_changes(client, ctx, admin, world):
    paid = payments.settle(ctx, actor=admin, idempotency_key="k1", institution_code=world.institution_code,
                           credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                           items=[{"category": "drug", "amount_fen": 5_000}])
    add_shanghai_hospital(ctx, admin)
    page_sign_in(client, "hospital-sh", PASSWORD)
    where = f"/institution/settlements/{paid['settlement_id']}"
    assert client.get(where).status_code == 403
    before = row_counts(ctx)
    refund = post_form(client, f"{where}/refund", {"amount": "", "idempotency_key": "mine"}, from_page="/institution")
    receipt = post_form(client, f"{where}/receipt.pdf", {}, from_page="/institution")
    assert refund.status_code == receipt.status_code == 403
    assert row_counts(ctx) == before
    assert paid["settlement_id"] not in client.get("/institution/day").text
    assert paid["settlement_id"] not in client.get("/institution/day.csv").text


def test_a_refund_above_what_is_left_is_refused_beside_the_amount(cashier, ctx, admin, world):
    paid = payments.settle(ctx, actor=admin, idempotency_key="k2", institution_code=world.institution_code,
                           credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                           items=[{"category": "drug", "amount_fen": 5_000}])
    where = f"/institution/settlements/{paid['settlement_id']}"
    before = row_counts(ctx)
    for amount in ("50.01", "1.001", "-1"):
        answer = cashier.post(f"{where}/refund", data={**refund_form(cashier, where), "amount": amount})
        assert answer.status_code == 422 and 'id="e-amount"' in answer.text, amount
    assert row_counts(ctx) == before


def test_a_missing_form_token_and_other_roles_are_refused(client, ctx, world):
    assert client.get("/institution", follow_redirects=False).headers["location"].startswith("/login")
    page_sign_in(client, "institution-user", PASSWORD)
    before = row_counts(ctx)
    forged = client.post("/institution/settle", data={**card_bill(world, "10"), "idempotency_key": "x"},
                         follow_redirects=False)
    assert forged.status_code == 403 and row_counts(ctx) == before
    keyless = post_form(client, "/institution/settle", card_bill(world, "10"), from_page="/institution")
    assert keyless.status_code == 422 and "request.invalid" in keyless.text and row_counts(ctx) == before
    client.cookies.clear()
    for user in ("employee", "counter-user", "reviewer-user", "unit-user"):
        page_sign_in(client, user, PASSWORD)
        assert client.get("/institution").status_code == 403, user
        assert client.get("/institution/day").status_code == 403, user
        client.cookies.clear()


def test_the_days_list_reconciles_with_the_till_and_exports_csv(cashier, ctx, admin, world):
    for key, amount in (("a", 12_000), ("b", 3_050)):
        payments.settle(ctx, actor=admin, idempotency_key=key, institution_code=world.institution_code,
                        credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                        items=[{"category": "drug", "amount_fen": amount}])
    page = cashier.get("/institution/day?count=2&total=150.50&account_paid=150&cash=0")
    assert page.status_code == 200
    table = text_of(page.text).split("与收银机对账", 1)[1]
    assert table.count("一致") == 3 and "相差 -¥0.50" in table
    bad = cashier.get("/institution/day?count=two&total=1.234&date=2026-13-01")
    assert bad.status_code == 422 and 'id="e-count"' in bad.text and 'id="e-total"' in bad.text
    assert 'id="e-date"' in bad.text
    exported = cashier.get("/institution/day.csv?date=2026-03-02")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "票据号" and len(rows) == 3 and rows[1][2] == "120.00"
    assert len(list(csv.reader(io.StringIO(cashier.get("/institution/day.csv?date=2026-03-01").text)))) == 1


def test_the_desk_in_english(cashier, world):
    page = text_of(cashier.get("/institution?lang=en").text)
    assert "Cashier desk" in page and "Line 1: amount (yuan)" in page and "Preview the payment" in page


def test_a_refund_submitted_twice_refunds_once(cashier, ctx, admin, world):
    paid = payments.settle(ctx, actor=admin, idempotency_key="k3", institution_code=world.institution_code,
                           credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                           items=[{"category": "drug", "amount_fen": 5_000}])
    where = f"/institution/settlements/{paid['settlement_id']}"
    form = refund_form(cashier, where)
    for _ in range(2):
        assert cashier.post(f"{where}/refund", data={**form, "amount": "1.00"},
                            follow_redirects=False).status_code == 303
    [done] = settlements(ctx, world)
    assert done["refunded_fen"] == 100
    keyless = cashier.post(f"{where}/refund", data={"csrf_token": form["csrf_token"], "amount": "1.00"})
    assert keyless.status_code == 422 and settlements(ctx, world)[0]["refunded_fen"] == 100
