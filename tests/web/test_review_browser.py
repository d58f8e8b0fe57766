"""The reviewer's console in Chromium: the story of a claim from a supplement asked for to the bank's signed return
paying it, each page passing the accessibility check; and every page fitting a 375 px phone."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import struct
import zlib

import pytest

from tests.support import CLAIM_DOCS, MONTHLY_BASE_FEN, PDF, add_person, bank_return, fund
from tests.web.conftest import axe_clean, shot, sign_in
from yibao.domain.applications import Application
from yibao.domain.identity import with_luhn_digit
from yibao.domain.registry import Employer
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases, disbursement, documents
from yibao.services.credentials import evouchers
from yibao.services.registry import enrolment

DEMO_PASSWORD = "yibao-demo-2026"
AGENCY = Actor.system("review-story")
BANK = "中国建设银行"  # the story's own bank: its batch holds only the story's case
SHANGHAI_HOSPITAL = "H31000000001"


def _png(width: int = 240, height: int = 150) -> bytes:
    """A small real picture (a grey scan with a band), as a phone's camera would send a document."""
    rows = b"".join(b"\x00" + bytes([90 if 50 <= y < 70 else 225] * 3 * width) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _bank_no() -> str:
    """A card number at BANK of no one else in the demo."""
    return with_luhn_digit(f"621700{secrets.randbelow(10**12):012d}")


def _claimant(ctx) -> Actor:
    """A Beijing employee of the demo's unit with four months in the account and a bank account at BANK."""
    with ctx.uow() as uow:
        employer = uow.all_by(Employer, "created_at", region="110000")[0]  # the demo's Beijing unit
    person = add_person(ctx, AGENCY, name="孙丽", card=False, birth="19910717")
    enrolment.enroll(ctx, actor=AGENCY, person_id=person.id, scheme="employee", employer_id=employer.id,
                     start_date=dt.date(2024, 1, 1))
    last = ctx.today().replace(day=1) - dt.timedelta(days=1)
    fund(ctx, AGENCY, person.id, months=4, last=f"{last:%Y-%m}", employer_id=employer.id, base_fen=MONTHLY_BASE_FEN)
    evouchers.link_bank_account(ctx, actor=AGENCY, person_id=person.id, account_no=_bank_no(), bank_name=BANK,
                                holder_name="孙丽")
    return Actor(username=person.username, role=Role.PERSON, person_id=person.id)


def _claim(ctx, person: Actor, number: str, amount_fen: int) -> str:
    papers = [documents.upload(ctx, actor=person, person_id=person.person_id, type=kind,
                               content=_png() if kind == "id_card" else PDF).id for kind in CLAIM_DOCS]
    day = ctx.today() - dt.timedelta(days=5)
    app, _rules = cases.submit(ctx, actor=person, person_id=person.person_id, kind="reimbursement",
                               reason="cross_region", document_ids=papers,
                               invoices=[{"number": number, "issuer": SHANGHAI_HOSPITAL, "date": day.isoformat(),
                                          "items": [{"category": "medical_service", "amount_fen": amount_fen}]}])
    return app.id


def _status(ctx, app_id: str) -> str:
    with ctx.uow() as uow:
        return uow.get(Application, app_id).status


def test_the_reviewer_asks_for_a_supplement_approves_and_pays_through_the_bank_file(page, live_server, tmp_path):
    ctx = live_server.ctx
    person = _claimant(ctx)
    app_id = _claim(ctx, person, "WEB-REVIEW-0001", 43_210)

    sign_in(page, "reviewer", DEMO_PASSWORD)
    page.wait_for_url("**/review")
    page.get_by_label("金额下限（元）").fill("432.10")
    page.get_by_label("金额上限（元）").fill("432.10")
    page.get_by_role("button", name="查询").click()
    page.get_by_test_id("queue").wait_for()
    axe_clean(page)
    page.locator(f"a[href='/review/cases/{app_id}']").click()
    page.wait_for_url(f"**/review/cases/{app_id}")
    assert page.locator("iframe.document-frame").count() == 4 and page.locator("img.document-image").count() == 1
    first_pdf = page.locator("details.document-pdf").first
    first_pdf.locator("summary").click()
    assert first_pdf.locator("iframe").is_visible()
    shown = first_pdf.locator("iframe").element_handle().content_frame()
    assert re.search(rf"/review/cases/{app_id}/documents/doc_\w+$", shown.url)  # loaded, not blocked
    first_pdf.locator("summary").click()  # folded again: the viewer leaves the form below alone
    page.locator("img.document-image").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.document-image').naturalWidth > 0")
    assert page.locator("img.document-image").evaluate("i => i.naturalWidth") == 240  # served and shown
    axe_clean(page)
    page.locator("input[name=missing][value=photo]").check()
    page.get_by_label("给申请人的说明").fill("请补交近期免冠照片")
    page.get_by_role("button", name="发出补件通知").click()
    page.wait_for_url(f"**/review/cases/{app_id}")
    assert _status(ctx, app_id) == "supplement_requested"
    axe_clean(page)

    photo = documents.upload(ctx, actor=person, person_id=person.person_id, type="photo", content=_png())
    cases.supplement(ctx, actor=person, application_id=app_id, document_ids=[photo.id])
    page.reload()
    page.get_by_label("审核意见（可不填）").fill("材料齐全")
    shot(page, "console-review")
    page.get_by_role("button", name="审核通过", exact=True).click()
    page.wait_for_url(f"**/review/cases/{app_id}")
    assert _status(ctx, app_id) == "approved"

    page.goto("/review/batches")
    axe_clean(page)
    page.get_by_label("开户银行").select_option(BANK)
    page.get_by_role("button", name="制作拨付批次").click()
    page.wait_for_url(re.compile(r"/jobs/job_"))  # made in the background; the page follows the run
    page.get_by_test_id("made").wait_for(timeout=30_000)
    axe_clean(page)
    page.get_by_test_id("made").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/review/batches/bat"))
    batch_id = page.url.rsplit("/", 1)[-1]
    assert _status(ctx, app_id) == "disbursing"
    axe_clean(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="下载付款文件（CSV）").click()
    payment_file = download.value.path().read_text(encoding="utf-8")
    assert app_id in payment_file

    batch = disbursement.get_batch(ctx, actor=Actor(username="reviewer", role=Role.REVIEWER), batch_id=batch_id)
    returned = tmp_path / "return.txt"
    returned.write_bytes(bank_return(ctx, batch.file_id))
    page.get_by_label("银行签名的回盘文件").set_input_files(str(returned))
    page.get_by_role("button", name="回盘入账").click()
    page.get_by_test_id("line-1").wait_for()
    assert "已到账" in page.get_by_test_id("line-1").inner_text()
    assert "银行已回盘" in page.get_by_test_id("batch-status").inner_text()
    assert _status(ctx, app_id) == "paid"
    axe_clean(page)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_review_page_fits_a_phone(browser, phone_context_args, live_server, lang):
    ctx = live_server.ctx
    person = _claimant(ctx)
    app_id = _claim(ctx, person, f"WEB-REVIEW-PHONE-{lang}", 12_340)
    context = browser.new_context(**phone_context_args)
    page = context.new_page()
    paid_later = _claim(ctx, person, f"WEB-REVIEW-BATCH-{lang}", 5_600)
    reviewer = Actor(username="reviewer", role=Role.REVIEWER)
    cases.review(ctx, actor=reviewer, application_id=paid_later, action="approve")
    made, _skipped = disbursement.make_batches(ctx, actor=reviewer, bank_name=BANK)
    sign_in(page, "reviewer2", DEMO_PASSWORD)
    page.wait_for_url("**/review")
    for path in ("/review", "/review?days=x", f"/review/cases/{app_id}", f"/review/cases/{paid_later}",
                 "/review/batches", f"/review/batches/{made[0].batch_id}"):
        page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
        axe_clean(page)
    context.close()
