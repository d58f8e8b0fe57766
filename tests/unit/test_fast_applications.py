"""Applications in the fast ring: a withdrawal taken in at the counter, a supplement asked for and given, and an
approval by a second reviewer (the hands that took the case in may not decide it), on an in-memory store."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.applications import Application, Document
from yibao.domain.audit import AuditRecord
from yibao.domain.clock import SHANGHAI
from yibao.domain.credentials import BankAccount
from yibao.domain.registry import Enrollment, Person
from yibao.domain.users import Actor, Role
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import EntryKind, Posting
from yibao.services.accounts.books import Books
from yibao.services.applications import cases
from yibao.services.applications import vouchers as application_vouchers

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
COUNTER = Actor("clerk-1", Role.COUNTER)
REVIEWER = Actor("reviewer-1", Role.REVIEWER)
SECOND_REVIEWER = Actor("reviewer-2", Role.REVIEWER)
PERSON = "per_qianduo"
ME = Actor("qianduo", Role.PERSON, person_id=PERSON)
CLEARING = acct.contribution_clearing("210200")
EMIGRATION_PAPERS = ("emigration_proof", "id_card", "id_card_copy", "insurance_card", "bank_card")


@pytest.fixture
def ctx(tmp_path):
    ctx = fake_context(now=NOW)
    ctx.settings = ctx.settings.model_copy(update={"data_dir": tmp_path})
    with ctx.uow() as uow:
        uow.add(Person(PERSON, "210202198503120011", "钱多", "13900000000", "210200", dt.date(1985, 3, 12), "male",
                       NOW))
        uow.add(Enrollment("enr_1", PERSON, "employee", None, True, dt.date(2024, 1, 1), "active", NOW))
        uow.add(BankAccount("bnk_1", PERSON, "6222020200112233445", "中国工商银行", "钱多", True, NOW))
        ctx.audit(uow, Actor("admin", Role.ADMIN), "bank_account.link", "bank_account", "bnk_1")
        books = Books(uow, NOW)
        books.open(acct.personal(PERSON), AccountKind.PERSONAL, "210200", person_id=PERSON)
        books.open(CLEARING, AccountKind.CONTRIBUTION_CLEARING, "210200")
        books.post(EntryKind.CONTRIBUTION, [Posting(CLEARING, -200_000),
                                            Posting(acct.personal(PERSON), 200_000, Bucket.CURRENT_YEAR)])
        uow.commit()
    return ctx


def papers(ctx, *types: str) -> list[str]:
    """Documents the person uploaded, one of each type."""
    with ctx.uow() as uow:
        ids = []
        for n, type in enumerate(types, start=len(uow.store.rows[Document]) + 1):
            uow.add(Document(f"doc_{n}", PERSON, type, f"{n:064x}", 100, "application/pdf", f"{type}.pdf", NOW,
                             ME.username))
            ids.append(f"doc_{n}")
        uow.commit()
    return ids


def emigrate(ctx, document_ids: list[str], amount_fen: int = 10_000) -> Application:
    app, _ = cases.submit(ctx, actor=COUNTER, person_id=PERSON, kind="withdrawal", reason="emigration",
                          amount_fen=amount_fen, document_ids=document_ids)
    return app


def inbox(ctx) -> list[dict]:
    return [n for n in ctx.extras["store"].tables["notices"] if n["person_id"] == PERSON][::-1]


def test_a_case_taken_in_at_the_counter_is_submitted_with_the_rule_that_allows_it(ctx):
    app = emigrate(ctx, papers(ctx, *EMIGRATION_PAPERS))
    view = cases.get(ctx, actor=ME, application_id=app.id)
    assert (view.application.status, view.application.rule_id) == ("submitted", "dl.withdrawal.emigration")
    assert (view.application.channel, view.application.in_person) == ("counter", True)
    assert [d.type for d in view.documents] == list(EMIGRATION_PAPERS)
    assert inbox(ctx)[0]["title_zh"] == "申请已受理"
    assert [a.id for a in cases.queue(ctx, actor=REVIEWER)] == [app.id]


def test_a_missing_paper_is_named_and_nothing_is_filed(ctx):
    with pytest.raises(errors.RuleRefused) as refused:
        emigrate(ctx, papers(ctx, *EMIGRATION_PAPERS[:-1]))
    assert refused.value.code == "application.documents_missing" and refused.value.facts["missing"] == ["bank_card"]
    assert ctx.extras["store"].all(Application) == []


def test_more_than_the_balance_is_refused_with_the_maximum(ctx):
    with pytest.raises(errors.DomainError) as refused:
        emigrate(ctx, papers(ctx, *EMIGRATION_PAPERS), amount_fen=200_001)
    assert refused.value.code == "application.amount_exceeds" and refused.value.facts["max_amount_fen"] == 200_000


def test_the_supplement_loop_names_what_is_missing_and_goes_back_to_review(ctx):
    app = emigrate(ctx, papers(ctx, *EMIGRATION_PAPERS))
    asked, _ = cases.review(ctx, actor=REVIEWER, application_id=app.id, action="request_supplement",
                            note="出国定居证明须经公证，请补交公证件和近期照片", missing=["emigration_proof", "photo"])
    assert asked.status == "supplement_requested"
    assert inbox(ctx)[0]["title_zh"] == "请补充材料" and "近期免冠照片" in inbox(ctx)[0]["body_zh"]

    with pytest.raises(errors.RuleRefused) as short:
        cases.supplement(ctx, actor=ME, application_id=app.id, document_ids=papers(ctx, "photo"))
    assert short.value.facts["missing"] == ["emigration_proof"]
    done = cases.supplement(ctx, actor=ME, application_id=app.id, document_ids=papers(ctx, "photo",
                                                                                        "emigration_proof"))
    assert done.status == "resubmitted"
    approved, rules = cases.review(ctx, actor=REVIEWER, application_id=app.id, action="approve")
    assert approved.status == "approved" and rules[0]["rule_id"] == "dl.withdrawal.emigration"
    steps = [s.to_status for s in cases.get(ctx, actor=ME, application_id=app.id).history]
    assert steps == ["submitted", "under_review", "supplement_requested", "resubmitted", "under_review", "approved"]


def test_the_hands_that_took_the_case_in_may_not_approve_it_and_another_reviewer_does(ctx):
    taker = Actor("reviewer-1", Role.REVIEWER)
    app, _ = cases.submit(ctx, actor=taker, person_id=PERSON, kind="withdrawal", reason="emigration",
                          amount_fen=30_000, document_ids=papers(ctx, *EMIGRATION_PAPERS))
    with pytest.raises(errors.SameHands):
        cases.review(ctx, actor=taker, application_id=app.id, action="approve")
    assert cases.get(ctx, actor=ME, application_id=app.id).application.status == "submitted"

    approved, _ = cases.review(ctx, actor=SECOND_REVIEWER, application_id=app.id, action="approve")
    assert (approved.status, approved.approved_fen, approved.payout_fen) == ("approved", 30_000, 30_000)
    assert approved.details["payee"]["account_no"] == "6222020200112233445"
    assert "金额 ¥300.00" in inbox(ctx)[0]["body_zh"]
    assert [v.kind for v in application_vouchers.list_for(ctx, actor=ME, application_id=app.id)] == ["approval"]


def test_whoever_linked_the_bank_account_may_not_approve_its_payout(ctx):
    app = emigrate(ctx, papers(ctx, *EMIGRATION_PAPERS))
    with pytest.raises(errors.SameHands):
        cases.review(ctx, actor=Actor("admin", Role.ADMIN), application_id=app.id, action="approve")
    with ctx.uow() as uow:
        assert [r.action for r in uow.all_by(AuditRecord, "id", entity="application", entity_id=app.id)] == [
            "application.submit"]


def test_a_rejection_needs_a_reason_and_is_final(ctx):
    app = emigrate(ctx, papers(ctx, *EMIGRATION_PAPERS))
    with pytest.raises(errors.ReviewNoteRequired):
        cases.review(ctx, actor=REVIEWER, application_id=app.id, action="reject")
    rejected, _ = cases.review(ctx, actor=REVIEWER, application_id=app.id, action="reject",
                               note="定居证明与本人身份信息不符")
    assert rejected.status == "rejected" and inbox(ctx)[0]["body_zh"].endswith("说明：定居证明与本人身份信息不符")
    with pytest.raises(errors.ApplicationWrongState):
        cases.review(ctx, actor=REVIEWER, application_id=app.id, action="approve")
