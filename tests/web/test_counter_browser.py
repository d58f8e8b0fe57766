"""The counter in Chromium: the story of an heir's case (a death recorded with its certificate, the heir's
withdrawal taken in with the policy's checklist, then waiting for a reviewer the counter cannot be), and every
counter page on a phone passing the accessibility check and fitting 375 px."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest

from tests.e2e.test_application_stories import insured
from tests.support import PDF
from tests.web.conftest import axe_clean, shot, sign_in
from yibao.domain import errors
from yibao.domain.identity import with_luhn_digit
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases
from yibao.services.credentials import evouchers

DEMO_PASSWORD = "yibao-demo-2026"
SCAN = {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": PDF}
LOADER = Actor.system("browser-test")


def _insured(ctx, name: str, **kw):
    """A Beijing insured person with money and a bank account whose number no demo person holds."""
    person = insured(ctx, LOADER, region="110000", name=name, bank=None, **kw)
    number = with_luhn_digit(f"622848{secrets.randbelow(10**12):012d}")
    evouchers.link_bank_account(ctx, actor=LOADER, person_id=person.id, account_no=number, bank_name="中国农业银行",
                                holder_name=name)
    return person


def _find(page, id_number: str) -> None:
    page.goto("/counter")
    page.get_by_label(re.compile("^身份证号码")).fill(id_number)
    page.get_by_role("button", name="查询", exact=True).click()
    page.wait_for_url(re.compile(r"/counter/persons/psn_"))


def test_the_counter_takes_an_heirs_case(page, live_server):
    ctx = live_server.ctx
    father = insured(ctx, LOADER, region="110000", name="周建国", birth="19560708", bank=None)
    daughter = _insured(ctx, "周丽")
    died = (ctx.today() - dt.timedelta(days=10)).isoformat()
    sign_in(page, "counter", DEMO_PASSWORD)
    page.wait_for_url("**/counter")

    _find(page, father.id_number)
    assert father.id_number not in page.content()
    assert page.get_by_test_id("masked-id").inner_text() == father.id_number[:4] + "*" * 10 + father.id_number[-4:]
    page.get_by_label(re.compile("^发生的事件")).select_option("death")
    page.get_by_label(re.compile("^事件日期")).fill(died)
    page.get_by_label(re.compile("^证明材料")).set_input_files(SCAN)
    page.get_by_role("button", name="登记事件").click()
    page.get_by_text("事件及其证明材料已登记。").wait_for()

    page.get_by_label(re.compile("^支取个人账户余额：原因")).select_option("death")
    page.get_by_label(re.compile("^继承人身份证号码")).fill(daughter.id_number)
    page.get_by_label(re.compile("^继承人姓名")).fill("周丽")
    page.get_by_label(re.compile("^与死者的关系")).select_option("child")
    page.get_by_role("button", name="开始受理申请").click()
    page.wait_for_url(re.compile(r"/counter/applications/apl_"))
    application_id = page.url.rsplit("/", 1)[-1]
    checklist = page.get_by_test_id("checklist").inner_text()
    assert "死亡证明" in checklist and "继承权证明" in checklist
    asked = cases.documents_asked(ctx, actor=LOADER, application_id=application_id)
    assert page.locator("input[type=file]").count() == len(asked)
    for field in page.locator("input[type=file]").all():
        field.set_input_files(SCAN)
    axe_clean(page)
    page.get_by_role("button", name="提交申请").click()
    page.get_by_text("申请已提交，等待审核。").wait_for()

    assert page.get_by_test_id("state").inner_text() == "已提交"
    axe_clean(page)
    shot(page, "console-counter")
    app = cases.get(ctx, actor=LOADER, application_id=application_id).application
    assert (app.status, app.applicant_id, app.channel) == ("submitted", daughter.id, "counter")
    with pytest.raises(errors.AccessForbidden):  # the counter decides nothing
        cases.review(ctx, actor=Actor(username="counter", role=Role.COUNTER), application_id=application_id,
                     action="approve")
    with pytest.raises(errors.SameHands):  # nor would its user as a reviewer: four eyes
        cases.review(ctx, actor=Actor(username="counter", role=Role.REVIEWER), application_id=application_id,
                     action="approve")
    assert application_id in {a.id for a in cases.queue(ctx, actor=Actor(username="reviewer", role=Role.REVIEWER))}


def _fits_and_is_accessible(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
    axe_clean(page)


def test_counter_pages_on_a_phone(browser, phone_context_args, live_server):
    ctx = live_server.ctx
    person = _insured(ctx, "吴敏")
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    sign_in(page, "counter", DEMO_PASSWORD)
    page.wait_for_url("**/counter")
    _fits_and_is_accessible(page, "start")
    page.get_by_label(re.compile("^身份证号码")).fill("12345")
    page.get_by_role("button", name="查询", exact=True).click()
    page.locator("#e-id_number").wait_for()
    _fits_and_is_accessible(page, "not-found")

    _find(page, person.id_number)
    _fits_and_is_accessible(page, "person")
    page.get_by_role("button", name="冻结账户").click()
    page.locator("#e-freeze_reason").wait_for()
    _fits_and_is_accessible(page, "person-with-errors")
    page.get_by_label(re.compile("^支取个人账户余额：原因")).select_option("general")
    page.get_by_label(re.compile("^金额")).fill("100")
    page.get_by_role("button", name="开始受理申请").click()
    page.wait_for_url(re.compile(r"/counter/applications/apl_"))
    _fits_and_is_accessible(page, "application")

    page.goto("/counter/persons/new")
    page.get_by_role("button", name="登记参保人", exact=True).click()
    page.locator("#e-id_number").wait_for()
    _fits_and_is_accessible(page, "register")

    page.goto("/counter/cash")
    _fits_and_is_accessible(page, "cash")
    page.get_by_label(re.compile("^凭证编码")).fill("0000-0000-0000")
    page.get_by_role("button", name="查询", exact=True).click()
    page.locator("#e-code").wait_for()
    _fits_and_is_accessible(page, "cash-unknown")

    page.goto("/counter/slots")
    _fits_and_is_accessible(page, "slots")
    form = page.locator("form[action='/counter/slots'][method='post']")
    form.get_by_label(re.compile("^日期")).fill((ctx.today() + dt.timedelta(days=1)).isoformat())
    form.get_by_label(re.compile("^开始时间")).fill("23:00")
    form.get_by_label(re.compile("^结束时间")).fill("23:59")
    form.get_by_label(re.compile("^名额")).fill("3")
    form.get_by_role("button", name="发布时段").click()
    page.get_by_text("时段已发布。").wait_for()
    _fits_and_is_accessible(page, "slots-published")
    context.close()
