"""The case pages in Chromium on a phone: each one (and the answers they give) passes the accessibility check
and fits 375 px with no sideways scrolling."""

from __future__ import annotations

import re

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
    listed = page.locator("a[href^='/me/applications/apl_']")
    if listed.count():
        listed.first.click()
        page.get_by_test_id("status").wait_for()
        _fits_and_is_accessible(page, "application")
    page.goto("/ask")
    page.get_by_label(re.compile("您要办理的事项")).select_option("withdraw")
    page.get_by_role("button", name="查询").click()
    assert page.get_by_test_id("answer").is_visible()
    _fits_and_is_accessible(page, "ask-person")
    context.close()
