"""The case pages in Chromium on a phone: each one (and the answers they give) passes the accessibility check
and fits 375 px with no sideways scrolling."""

from __future__ import annotations

import re

from tests.support import PDF
from tests.web.conftest import axe_clean, shot, sign_in

DEMO_PASSWORD = "yibao-demo-2026"


def _fits_and_is_accessible(page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
    axe_clean(page)
    shot(page, f"cases-{name}")


def test_case_pages_on_a_phone(browser, phone_context_args, live_server):
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    page.goto("/ask")
    page.get_by_label(re.compile("您要办理的事项")).select_option("file")
    page.get_by_label(re.compile("您所在的地区")).select_option("210200")
    page.get_by_role("button", name="查询").click()
    assert "national.filing" in page.get_by_test_id("answer").inner_text()
    _fits_and_is_accessible(page, "ask-anyone")

    sign_in(page, "wangfang", DEMO_PASSWORD)
    page.wait_for_url("**/me")
    for path in ("/me/family", "/me/filings", "/me/applications"):
        page.goto(path)
        _fits_and_is_accessible(page, path.rsplit("/", 1)[-1])
    page.get_by_role("combobox", name=re.compile("^事项")).select_option("reimbursement/cross_region")
    page.get_by_role("button", name="查询能否办理").click()
    assert page.get_by_test_id("answer").is_visible()
    assert page.get_by_label(re.compile("^医疗费用发票")).count() == 1
    _fits_and_is_accessible(page, "applications-answer")
    page.get_by_label(re.compile("^发票号码")).fill("WEB-0001")
    page.get_by_label(re.compile("^开票机构编码")).fill("H31000000001")
    page.get_by_label(re.compile("^开票日期")).fill(live_server.ctx.today().isoformat())
    page.get_by_role("combobox", name=re.compile("^费用类别")).select_option("drug")
    page.get_by_label(re.compile("^金额")).fill("88.50")
    for field in page.locator("input[type=file]").all():
        field.set_input_files({"name": "scan.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="保存申请").click()
    page.wait_for_url(re.compile(r"/me/applications/apl_"))
    assert "草稿" in page.get_by_test_id("status").inner_text()
    _fits_and_is_accessible(page, "application-draft")
    page.get_by_role("button", name="提交申请").click()
    page.get_by_test_id("status").wait_for()
    assert "已提交" in page.get_by_test_id("status").inner_text()
    assert page.get_by_test_id("arrival").is_visible()
    _fits_and_is_accessible(page, "application-submitted")
    page.goto("/ask")
    page.get_by_label(re.compile("您要办理的事项")).select_option("withdraw")
    page.get_by_role("button", name="查询").click()
    assert page.get_by_test_id("answer").is_visible()
    _fits_and_is_accessible(page, "ask-person")
    context.close()
