"""The cashier's story in Chromium on a phone: the demo pharmacy's cashier takes a person's payment code,
previews, settles, prints the receipt, refunds and reconciles the day; every desk page passes the accessibility
check and fits 375 px. A desktop view of the preview is kept for the guide."""

from __future__ import annotations

import re

from tests.web.conftest import ARTIFACTS, axe_clean, shot, sign_in
from yibao.domain.users import Actor, Role, User
from yibao.services.credentials import payment_codes

DEMO_PASSWORD = "yibao-demo-2026"


def checked(page, name: str) -> None:
    """The page as it is now: one heading, no serious accessibility violation, no sideways scroll on a phone."""
    assert page.locator("h1").count() == 1, name
    axe_clean(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, (name, width)
    shot(page, "institution-" + name)


def a_payment_code(ctx, username: str) -> str:
    """The code the person's e-voucher shows now (as their phone would)."""
    with ctx.uow() as uow:
        user = uow.one_by(User, username=username)
    holder = Actor(username=user.username, role=Role.PERSON, user_id=user.id, person_id=user.person_id)
    return payment_codes.issue_for_owner(ctx, actor=holder).code


def fill_the_bill(page, code: str) -> None:
    page.get_by_label("付款码", exact=True).fill(code)
    page.get_by_label("第 1 行：金额（元）").fill("450.00")
    page.get_by_label("第 2 行：金额（元）").fill("120.5")
    page.get_by_role("button", name="预览结算").click()
    page.wait_for_url(re.compile("/institution/preview$"))


def keep_for_the_guide(browser, phone_context, base_url: str, code: str) -> None:
    """The preview on a desk's screen (1280 x 900, not the full page): previewing again uses nothing up."""
    desktop = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 900},
                                  storage_state=phone_context.storage_state())
    page = desktop.new_page()
    page.goto("/institution")
    fill_the_bill(page, code)
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "console-institution.png"))
    desktop.close()


def test_the_cashier_settles_prints_refunds_and_reconciles(browser, phone_context_args, live_server):
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    sign_in(page, "pharmacy_bj", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/institution$"))
    checked(page, "desk")

    page.get_by_label("付款码", exact=True).fill("1234")
    page.get_by_label("第 1 行：金额（元）").fill("12.345")
    page.get_by_role("button", name="预览结算").click()
    assert page.locator("#e-amount_0").inner_text() == "最多两位小数（到分）。"
    assert "20 位" in page.locator("#e-code").inner_text()
    checked(page, "desk-errors")

    code = a_payment_code(live_server.ctx, "zhangwei")
    fill_the_bill(page, code)
    assert page.get_by_test_id("total").inner_text() == "¥570.50"
    previewed = page.get_by_test_id("account-paid").inner_text()
    checked(page, "preview")
    keep_for_the_guide(browser, context, phone_context_args["base_url"], code)

    page.get_by_role("button", name=re.compile("^从个人账户结算")).click()
    page.wait_for_url(re.compile("/institution/settlements/stl_"))
    assert "结算完成" in page.locator(".flash").inner_text()
    assert page.get_by_test_id("account-paid").inner_text() == previewed
    settlement_url = page.url
    checked(page, "settlement")

    with page.expect_download() as download:
        page.get_by_test_id("receipt").click()
    assert download.value.path().read_bytes().startswith(b"%PDF")

    page.get_by_label("退费金额").fill("2.50")
    page.get_by_role("button", name="退费", exact=True).click()
    page.wait_for_url(settlement_url)
    assert "已退还 ¥2.50" in page.locator(".flash").inner_text()
    assert "部分退费" in page.locator("main").inner_text()
    checked(page, "refunded")

    page.get_by_role("link", name="当日结算").click()
    page.wait_for_url(re.compile("/institution/day"))
    count = page.get_by_test_id("count").inner_text()
    page.get_by_label("结算笔数").fill(count)
    page.get_by_label("现金支付合计").fill("999999")
    page.get_by_role("button", name="显示并对账").click()
    reconciliation = page.get_by_test_id("reconciliation").inner_text()
    assert "一致" in reconciliation and "相差" in reconciliation
    checked(page, "day")
    with page.expect_download() as exported:
        page.get_by_role("link", name="下载 CSV").click()
    assert settlement_url.rsplit("/", 1)[1] in exported.value.path().read_text(encoding="utf-8-sig")
    context.close()
