"""The auditor's story in Chromium: finds the trail of a demo case by the person's ID number and by the application's
id, reads its steps in order, verifies the books and sees OK, compares policy versions; every page passes the
accessibility check and fits 375 px on a phone."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.web.conftest import ARTIFACTS, axe_clean, shot, sign_in

DEMO_PASSWORD = "yibao-demo-2026"
CASE_STEPS = ["application.submit", "application.start_review", "application.request_supplement"]


def _waiting_case(ctx) -> tuple[str, str]:
    """wangfang's ID number and her application that asks for a supplement (demo data)."""
    with ctx.engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT p.id_number, a.id FROM users u JOIN persons p ON p.id = u.person_id "
            "JOIN applications a ON a.person_id = p.id WHERE u.username = 'wangfang' "
            "AND a.status = 'supplement_requested'")).one()


def _steps(page) -> list[str]:
    return [a for a in page.locator("ol.trail h3 code").all_inner_texts() if a.startswith("application.")]


def _fits_and_is_accessible(page, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, (name, width)
    axe_clean(page)
    shot(page, f"audit-{name}")


def test_the_auditor_finds_a_case_trail_and_verifies_the_books(page, live_server):
    id_number, application_id = _waiting_case(live_server.ctx)
    sign_in(page, "auditor", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/audit$"))
    axe_clean(page)

    page.get_by_label(re.compile("按身份证号查找参保人")).fill(id_number)
    page.get_by_role("button", name="查看其审计记录").click()
    page.wait_for_url(re.compile(r"/audit\?person=psn_"))
    assert id_number not in page.url and id_number[-4:] in page.get_by_test_id("person").inner_text()
    assert _steps(page)[-3:] == CASE_STEPS
    axe_clean(page)

    page.get_by_role("link", name=application_id).first.click()
    page.wait_for_url(re.compile(r"entity_id=apl_"))
    assert _steps(page) == ["application.invoices_claim", *CASE_STEPS]
    assert "请补充费用明细清单" in page.get_by_test_id("trail").inner_text()
    axe_clean(page)
    page.evaluate("window.scrollTo(0, document.getElementById('records').offsetTop - 260)")
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "console-audit.png"))  # the guide's picture: 1280x900

    page.get_by_role("link", name="核验账目").click()
    page.get_by_role("button", name="立即核验").click()
    assert "正常" in page.get_by_test_id("result").inner_text()
    axe_clean(page)

    page.get_by_role("link", name="政策版本").click()
    page.get_by_label(re.compile("^所在地区")).select_option("110000")
    page.get_by_label(re.compile("^From|^起始")).fill("2020-01-01")
    page.get_by_role("button", name="比较").click()
    assert page.get_by_test_id("changes").is_visible()
    axe_clean(page)


def test_the_audit_pages_on_a_phone(browser, phone_context_args, live_server):
    _, application_id = _waiting_case(live_server.ctx)
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    sign_in(page, "auditor", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/audit$"))
    _fits_and_is_accessible(page, "start")
    for name, path in (("case", f"/audit?entity_id={application_id}"), ("all", "/audit?from=2026-01-01"),
                       ("bad-dates", "/audit?from=2026-13-01&to=x"), ("verify", "/audit/verify"),
                       ("policy", "/audit/policy?region=110000&from=2020-01-01")):
        page.goto(path)
        _fits_and_is_accessible(page, name)
    page.goto("/audit/verify")
    page.get_by_role("button", name="立即核验").click()
    page.get_by_test_id("result").wait_for()
    _fits_and_is_accessible(page, "verified")
    context.close()

