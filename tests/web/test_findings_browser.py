"""The findings pages in Chromium: the reviewer's list, one finding decided and then the account frozen as a step of
its own, the queue's risk flags and the auditor's list, each page passing the accessibility check."""

from __future__ import annotations

import datetime as dt
import secrets

from tests.support import add_person
from tests.web.conftest import axe_clean, sign_in
from yibao.domain.findings import Detected, Pattern, SubjectKind
from yibao.domain.users import Actor
from yibao.services.misuse import findings

DEMO_PASSWORD = "yibao-demo-2026"
AGENCY = Actor.system("findings-story")


def test_the_reviewer_confirms_a_finding_then_freezes_and_the_auditor_reads_it(page, live_server):
    ctx = live_server.ctx
    person = add_person(ctx, AGENCY, name="吴刚", card=False, birth="19880808")
    period = (ctx.today() - dt.timedelta(days=30), ctx.today())
    tag = secrets.token_hex(4)
    findings.record(ctx, actor=AGENCY, detected=[
        Detected(Pattern.SPLIT_PAYMENTS, "2026-01", 0.99, SubjectKind.PERSON, person.id, *period,
                 evidence={"settlement_ids": [f"stl_{tag}_1", f"stl_{tag}_2"]}, facts={"sum_fen": 21_000}),
        Detected(Pattern.SHARED_BANK_ACCOUNT, "2026-01", 0.6, SubjectKind.BANK_ACCOUNT, "d" * 64, *period,
                 evidence={"person_ids": [person.id, f"psn_{tag}"]})])
    finding_id = next(f.id for f in findings.list_findings(ctx, actor=AGENCY) if f.subject_id == person.id)

    sign_in(page, "reviewer", DEMO_PASSWORD)
    page.wait_for_url("**/review")
    axe_clean(page)  # the queue with its risk flags column
    page.goto("/review/findings")
    page.get_by_test_id("findings").wait_for()
    axe_clean(page)
    page.locator(f"a[href='/review/findings/{finding_id}']").click()
    page.wait_for_url(f"**/review/findings/{finding_id}")
    axe_clean(page)
    page.get_by_label("处理方式").select_option("dismiss")
    page.get_by_role("button", name="提交处理结果").click()
    page.locator("#e-note").wait_for()  # a dismissal needs a note
    axe_clean(page)
    page.get_by_label("处理方式").select_option("confirm")
    page.get_by_label("说明").fill("两分钟内两笔，合计超过单笔限额")
    page.get_by_role("button", name="提交处理结果").click()
    page.get_by_test_id("finding-status").filter(has_text="已确认").wait_for()
    axe_clean(page)
    page.get_by_label("冻结原因").fill("疑似分解结算")
    page.get_by_role("button", name="冻结账户").click()
    page.get_by_text("个人账户已冻结。").wait_for()
    axe_clean(page)


def test_the_auditor_reads_the_decided_findings(page, live_server):
    ctx = live_server.ctx
    tag = secrets.token_hex(4)
    period = (ctx.today() - dt.timedelta(days=30), ctx.today())
    findings.record(ctx, actor=AGENCY, detected=[
        Detected(Pattern.INSTITUTION_OUTLIER, "2026-01", 0.8, SubjectKind.INSTITUTION, f"H{tag}", *period,
                 evidence={"settlement_ids": [f"stl_{tag}"]})])
    finding_id = next(f.id for f in findings.list_findings(ctx, actor=AGENCY) if f.subject_id == f"H{tag}")
    findings.decide(ctx, actor=AGENCY, finding_id=finding_id, action="escalate", note="移交稽核")
    sign_in(page, "auditor", DEMO_PASSWORD)
    page.wait_for_url("**/audit")
    page.goto("/audit/findings?status=escalated")
    page.get_by_test_id("findings").wait_for()
    assert finding_id in page.content()
    axe_clean(page)
