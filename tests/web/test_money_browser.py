"""The money pages in Chromium on a phone: each passes the accessibility check, fits 375 px, and the history's
chart image and the e-voucher's QR are drawn under the page's strict policy."""

from __future__ import annotations

import re

from tests.web.conftest import axe_clean, shot, sign_in

PAGES = ("/me/history", "/me/evoucher?refresh=off", "/me/cards", "/me/bank", "/me/notices")


def test_money_pages_on_a_phone(browser, phone_context_args, live_server):
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    sign_in(page, "zhangwei", "yibao-demo-2026")
    page.wait_for_url(re.compile("/me$"))
    for path in PAGES:
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        axe_clean(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
        shot(page, "money-" + path.split("?")[0].strip("/").replace("/", "-"))
        if path == "/me/history":
            chart = page.locator("figure.chart img")
            assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        if path.startswith("/me/evoucher"):
            assert re.fullmatch(r"(\d{4} ){4}\d{4}", page.get_by_test_id("code").inner_text())
            assert page.locator(".qr img").evaluate("img => img.complete && img.naturalWidth > 0")
            assert page.locator('meta[name="yibao-refresh"]').count() == 0
            page.get_by_test_id("resume").click()
            page.wait_for_url(re.compile("/me/evoucher$"))
            assert page.locator('meta[name="yibao-refresh"]').get_attribute("content") == "50"
            axe_clean(page)
            shot(page, "money-me-evoucher-refreshing")
    context.close()
