"""The administrator's story in Chromium, on a server of its own (it changes the policy in force): an invalid policy
file shows its problems by file, line and key and publishes nothing; a lower cap per payment in Dalian from a later
day passes the check, shows its difference and the people affected, is published, and a Dalian person finds the
notice in their inbox. Every admin page passes the accessibility check and fits 375 px."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import ARTIFACTS, axe_clean, demo_server, shot, sign_in
from tests.web.test_admin_pages import BROKEN, DALIAN, dalian_settlement

DEMO_PASSWORD = "yibao-demo-2026"
PAGES = ["/admin", "/admin/users", "/admin/institutions", "/admin/policy", "/admin/jobs"]


@pytest.fixture(scope="module")
def admin_server(backend, request, tmp_path_factory, bank_simulator):
    """A server with the demo loaded on a database of its own: the policy published here is nobody else's."""
    server = demo_server(backend, request, tmp_path_factory.mktemp(f"web-admin-{backend}"), "yibao_web_admin",
                         bank_simulator)
    yield server
    server.stop()


def fits_a_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width


def upload(page, path, *, folder: str = DALIAN, effective: str = "2030-01-01") -> None:
    page.goto("/admin/policy")
    page.get_by_label(re.compile("政策文件或压缩包")).set_input_files(str(path))
    page.get_by_label(re.compile("地区目录")).select_option(folder)
    page.get_by_label(re.compile("生效日期")).fill(effective)
    page.get_by_role("button", name="检查上传内容").click()


def test_the_admin_publishes_a_lower_cap_and_the_person_gets_the_notice(browser, phone_context_args, admin_server,
                                                                         tmp_path):
    base = {**phone_context_args, "base_url": admin_server.url}
    phone = browser.new_context(**base)
    page = phone.new_page()
    sign_in(page, "admin", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/admin$"))
    for path in PAGES:
        page.goto(path)
        axe_clean(page)
        fits_a_phone(page)
        shot(page, "admin" + path.replace("/", "-").removeprefix("-admin") + "-phone")
    in_force = admin_server.ctx.policy.set_id

    broken = tmp_path / "settlement.yaml"
    broken.write_bytes(BROKEN)
    upload(page, broken)
    problems = page.locator("ol.problems")
    problems.wait_for()
    found = problems.inner_text()
    assert f"{DALIAN}/settlement.yaml" in found and "7" in found
    assert "rules.dl.settlement.per_transaction.versions.2024-01-01.share" in found
    assert page.get_by_role("button", name=re.compile("发布")).count() == 0
    axe_clean(page)
    fits_a_phone(page)
    assert admin_server.ctx.policy.set_id == in_force

    changed = tmp_path / "dalian" / "settlement.yaml"
    changed.parent.mkdir()
    changed.write_bytes(dalian_settlement())
    upload(page, changed)
    page.get_by_role("heading", name="检查通过").wait_for()
    assert "¥2,000.00 → ¥1,000.00" in page.locator("table.changes").inner_text()
    assert int(page.get_by_test_id("people").inner_text()) >= 1
    axe_clean(page)
    fits_a_phone(page)
    shot(page, "admin-policy-check-phone")
    desk = browser.new_context(**{**base, "viewport": {"width": 1280, "height": 900}, "is_mobile": False,
                                  "has_touch": False})
    wide = desk.new_page()
    wide.context.add_cookies(phone.cookies())
    upload(wide, changed)
    wide.get_by_role("heading", name="检查通过").wait_for()
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    wide.screenshot(path=str(ARTIFACTS / "screenshots" / "console-admin.png"))
    desk.close()

    page.get_by_role("button", name=re.compile("^自 .* 起发布$")).click()
    page.wait_for_url(re.compile("/admin/policy$"))
    assert "政策已发布" in page.locator("main").inner_text()
    assert admin_server.ctx.policy.set_id != in_force
    phone.close()

    person = browser.new_context(**base)
    inbox = person.new_page()
    sign_in(inbox, "wangfang", DEMO_PASSWORD)
    inbox.wait_for_url(re.compile("/me"))
    inbox.goto("/me/notices")
    notices = inbox.get_by_test_id("notices").inner_text()
    assert "大连市医保政策调整通知" in notices and "¥2,000.00 → ¥1,000.00" in notices
    person.close()
