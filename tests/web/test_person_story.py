"""The person's whole story in Chromium, Chinese first: register online, sign in, see the balance, show the
payment QR, link a bank account, grant a relative who accepts, file for care elsewhere, apply with uploads, answer
the reviewer's supplement request and see "paid". The agency's side (confirming the enrolment, collecting the
contribution, reviewing, the bank batch and the bank's return) runs through the same services its staff use."""

from __future__ import annotations

import re
import secrets

from tests.support import PASSWORD, PDF, add_person, bank_return, fund, in_register, new_id_number, new_phone
from tests.web.conftest import axe_clean, shot, sign_in
from yibao.domain.identity import with_luhn_digit
from yibao.domain.users import Actor
from yibao.services.applications import cases, disbursement
from yibao.services.credentials import auth
from yibao.services.registry import enrolment
from yibao.web import i18n

DEMO_PASSWORD = "yibao-demo-2026"
AGENCY = Actor.system("test-admin")


def own_bank_no() -> str:
    """A card number no other test or the demo has linked (the live server is shared by the session)."""
    return with_luhn_digit(f"621700{secrets.randbelow(10**12):012d}")


def zh(message: str) -> str:
    """The Chinese the page shows for a catalog message."""
    return i18n.gettext("zh_CN", message)


def staff(ctx, username: str) -> Actor:
    return auth.authenticate(ctx, auth.login(ctx, username=username, password=DEMO_PASSWORD))


def test_a_person_from_registration_to_paid(browser, live_server):
    ctx = live_server.ctx
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # registers online; the residents register knows her
    number, phone, name = new_id_number(birth="19920304", male=False), new_phone(), "周晓雯"
    in_register(ctx, AGENCY, number, name)
    page.goto("/register")
    page.get_by_label(zh("Name as on your ID card")).fill(name)
    page.get_by_label(zh("ID card number")).fill(number)
    page.get_by_label(zh("Insured region")).select_option("110000")
    page.get_by_label(zh("Mobile number")).fill(phone)
    page.get_by_label(re.compile("^" + zh("Password"))).fill("her-own-passphrase")
    page.get_by_role("button", name=zh("Register")).click()
    assert page.locator("h1").inner_text() == zh("Registered")
    person_id = enrolment.lookup_person(ctx, actor=AGENCY, id_number=number).id

    # the agency confirms the enrolment and the month's contribution is collected
    for enrollment in enrolment.list_enrollments(ctx, actor=AGENCY, person_id=person_id):
        enrolment.approve_enrollment(ctx, actor=AGENCY, enrollment_id=enrollment.id)
    credited = fund(ctx, AGENCY, person_id, months=1, last=ctx.today().strftime("%Y-%m"))
    assert credited > 0

    # signs in again and sees the money
    page.goto("/logout")
    sign_in(page, phone, "her-own-passphrase")
    page.wait_for_url(re.compile("/me$"))
    assert page.get_by_test_id("available").inner_text() == i18n.money(credited, "zh_CN")
    axe_clean(page)
    shot(page, "story-me")

    # shows the payment QR: the e-voucher is activated with the real-name check first
    page.goto("/me/evoucher")
    page.get_by_label(zh("Name as on your ID card")).fill(name)
    page.get_by_label(zh("ID card number")).fill(number)
    page.get_by_role("button", name=zh("Activate")).click()
    assert re.fullmatch(r"(\d{4} ){4}\d{4}", page.get_by_test_id("code").inner_text())
    assert page.locator(".qr img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert name not in page.locator("main").inner_text()  # the name is masked
    shot(page, "story-evoucher")

    # links her own bank account for payouts
    page.goto("/me/bank")
    card = own_bank_no()
    page.get_by_label(zh("Bank card number")).fill(card)
    page.get_by_label(zh("Bank")).fill("中国工商银行")
    page.get_by_label(zh("Account holder's name")).fill(name)
    page.get_by_role("button", name=zh("Link the account")).click()
    shot(page, "story-bank")
    linked = page.locator("main li").filter(has_text=card[-4:])
    assert zh("Primary") in linked.inner_text() and card not in page.locator("main").inner_text()

    # grants her mother, who accepts from her own account
    mother = add_person(ctx, AGENCY, name="王桂兰", birth="19630208")
    page.goto("/me/family")
    page.get_by_label(zh("Relative's ID number")).fill(mother.id_number)
    page.get_by_label(zh("Relative's name")).fill(mother.name)
    page.get_by_label(zh("Relation to you")).select_option("parent")
    page.get_by_role("button", name=re.compile("^" + zh("Grant") + "$")).click()
    relative = browser.new_context(base_url=live_server.url, locale="zh-CN")
    other = relative.new_page()
    sign_in(other, mother.username, PASSWORD)
    other.goto("/me/family")
    other.get_by_role("button", name=zh("Accept")).click()
    relative.close()
    page.goto("/me/family")
    assert page.get_by_role("button", name=zh("End the grant")).count() == 1

    # files for care in Shanghai
    page.goto("/me/filings")
    page.get_by_label(zh("Kind of filing")).select_option("temporary")
    page.get_by_label(re.compile("^" + zh("Reason"))).select_option("referral")
    page.get_by_label(zh("Where you will be treated")).select_option("310000")
    page.get_by_role("button", name=re.compile("^" + zh("File") + "$")).click()
    assert page.locator("table").filter(has_text="上海").count() >= 1

    # applies for the reimbursement of a Shanghai bill, with the documents the policy asks for
    page.goto("/me/applications")
    page.get_by_role("combobox", name=re.compile("^事项")).select_option("reimbursement/cross_region")
    page.get_by_role("button", name=zh("Check my case")).click()
    page.get_by_label(re.compile("^" + zh("Invoice number"))).fill(f"STORY-{number[-6:]}")
    page.get_by_label(re.compile("^" + zh("Issuing institution's code"))).fill("H31000000001")
    page.get_by_label(re.compile("^" + zh("Invoice date"))).fill(ctx.today().isoformat())
    page.get_by_role("combobox", name=re.compile("^费用类别")).select_option("drug")
    page.get_by_label(re.compile("^" + zh("Amount in yuan"))).fill("66.00")
    for field in page.locator("input[type=file]").all():
        field.set_input_files({"name": "scan.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name=zh("Save the application")).click()
    page.wait_for_url(re.compile(r"/me/applications/apl_"))
    application_id = page.url.rsplit("/", 1)[-1]
    page.get_by_role("button", name=zh("Submit the application")).click()
    page.get_by_test_id("status").wait_for()

    # the reviewer asks for the diagnosis; she answers it from the page
    reviewer, maker = staff(ctx, "reviewer"), staff(ctx, "reviewer2")
    cases.review(ctx, actor=reviewer, application_id=application_id, action="request_supplement",
                 note="请补充诊断证明", missing=["diagnosis"])
    page.reload()
    page.get_by_label(re.compile("诊断证明")).set_input_files(
        {"name": "diagnosis.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name=re.compile("提交补充材料")).click()
    page.get_by_test_id("status").wait_for()

    # approved, paid through the bank's file, and the page says so
    cases.review(ctx, actor=reviewer, application_id=application_id, action="approve")
    batches, _left = disbursement.make_batches(ctx, actor=maker)
    for batch in batches:
        disbursement.apply_returns(ctx, actor=maker, batch_id=batch.batch_id,
                                   content=bank_return(ctx, batch.file_id))
    page.reload()
    assert page.get_by_test_id("status").inner_text().endswith("已到账")
    axe_clean(page)
    shot(page, "story-paid")
    context.close()
