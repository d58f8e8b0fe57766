"""The unit's story in Chromium on a phone: the demo unit signs in, sees its data and employees, uploads a GBK
CSV file with a bad row, watches the progress and reads the refused-rows report; every unit page passes the
accessibility check and fits 375 px."""

from __future__ import annotations

import re

from tests.support import new_id_number, new_phone, with_wrong_check_digit
from tests.web.conftest import axe_clean, shot, sign_in
from yibao.services.demo_history import DEMO_BASE_FEN
from yibao.web import i18n

DEMO_PASSWORD = "yibao-demo-2026"


def fits_a_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width


def checked(page, path: str, name: str) -> None:
    page.goto(path)
    axe_clean(page)
    fits_a_phone(page)
    shot(page, name)


def test_a_unit_uploads_a_csv_with_a_bad_row_and_sees_the_report(browser, phone_context_args, live_server,
                                                                 tmp_path):
    today = live_server.ctx.today().isoformat()
    bad_number = with_wrong_check_digit(new_id_number())
    good = [(new_id_number(), "欧阳娜娜"), (new_id_number(), "赵磊")]
    lines = ["id_number,name,phone,start_date", f"{good[0][0]},{good[0][1]},{new_phone()},{today}",
             f"{bad_number},钱波,{new_phone()},{today}", f"{good[1][0]},{good[1][1]},{new_phone()},{today}"]
    staff = tmp_path / "员工名单.csv"
    staff.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    context = browser.new_context(**phone_context_args)
    page = context.new_page()

    sign_in(page, "unit_bj", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/unit$"))
    assert "北京示例科技有限公司" in page.locator("h1").inner_text()
    assert page.get_by_role("table").first.is_visible()
    axe_clean(page)
    fits_a_phone(page)
    shot(page, "unit-phone")
    checked(page, "/unit/employees/new", "unit-enrol-phone")
    checked(page, "/unit/contributions", "unit-contributions-phone")  # the demo unit declares its two employees
    this_month = page.locator("table.periods tr").filter(has_text=live_server.ctx.today().strftime("%Y-%m"))
    assert this_month.inner_text().split()[-1] == i18n.money(2 * DEMO_BASE_FEN, "zh_CN")  # owed, not collected yet
    checked(page, "/unit/imports/new", "unit-import-phone")

    page.get_by_label(re.compile("员工 CSV 文件")).set_input_files(str(staff))
    page.get_by_role("button", name="导入").click()
    page.wait_for_url(re.compile(r"/unit/imports/imp_\w+$"))
    page.get_by_role("heading", name="被拒绝的行").wait_for(timeout=30_000)  # the page refreshes itself till done

    assert page.get_by_test_id("enrolled").inner_text() == "2"
    assert page.get_by_test_id("rejected").inner_text() == "1"
    report = page.locator("table.rejected").inner_text()
    assert "身份证号码" in report and "身份证号码无效" in report and bad_number not in page.content()
    axe_clean(page)
    fits_a_phone(page)
    shot(page, "unit-import-report-phone")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("下载被拒绝的行")).click()
    assert bad_number in download.value.path().read_text(encoding="utf-8-sig")
    page.goto("/unit")
    employees = page.locator("table.employees").inner_text()
    assert "欧阳娜娜" in employees and "赵磊" in employees and "钱波" not in employees
    assert good[0][0] not in employees
    context.close()
