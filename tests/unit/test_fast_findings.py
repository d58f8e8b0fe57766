"""The findings service on the in-memory unit of work: recorded once by fingerprint, listed, decided once by a
reviewer (a dismissal with a note), and a freeze only as the reviewer's explicit step after a confirmation."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import add_person
from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.findings import Detected, Finding, Pattern, SubjectKind
from yibao.domain.life_events import AccountFreeze
from yibao.domain.users import Actor, Role
from yibao.services.misuse import findings

ANALYTICS = Actor.system("analytics")
REVIEWER = Actor(username="fast-reviewer", role=Role.REVIEWER)
AUDITOR = Actor(username="fast-auditor", role=Role.AUDITOR)
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def detected(subject_id: str, *ids: str, pattern: Pattern = Pattern.SPLIT_PAYMENTS, score: float = 0.8,
             kind: SubjectKind = SubjectKind.PERSON) -> Detected:
    return Detected(pattern, "2026-01", score, kind, subject_id, *MARCH, evidence={"settlement_ids": list(ids)},
                    facts={"sum_fen": 12_000, "cap_fen": 10_000})


@pytest.fixture
def ctx():
    return fake_context()


def test_a_second_run_of_a_period_adds_nothing(ctx):
    run = [detected("per_1", "stl_a", "stl_b"), detected("per_2", "stl_c"), detected("per_1", "stl_b", "stl_a")]
    assert findings.record(ctx, actor=ANALYTICS, detected=run) == (2, 0)  # the same evidence is one finding
    assert findings.record(ctx, actor=ANALYTICS, detected=run + [detected("per_3", "stl_d")]) == (1, 2)
    listed = findings.list_findings(ctx, actor=AUDITOR)
    assert len(listed) == 3 and {f.status for f in listed} == {"open"}


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.AUDITOR, Role.COUNTER, Role.PERSON, Role.INSTITUTION])
def test_only_the_analytics_run_or_an_admin_records(ctx, role):
    with pytest.raises(errors.AccessForbidden):
        findings.record(ctx, actor=Actor(username="x", role=role), detected=[detected("per_1", "stl_a")])


def test_the_list_is_filtered_by_status_and_pattern_and_refuses_unknown_values(ctx):
    findings.record(ctx, actor=ANALYTICS, detected=[detected("per_1", "stl_a", score=0.5),
                                                    detected("ins_1", "stl_b", pattern=Pattern.INSTITUTION_OUTLIER,
                                                             kind=SubjectKind.INSTITUTION, score=0.9)])
    assert [f.subject_id for f in findings.list_findings(ctx, actor=REVIEWER)] == ["ins_1", "per_1"]
    assert [f.subject_id for f in findings.list_findings(ctx, actor=REVIEWER, pattern="split_payments")] == ["per_1"]
    assert findings.list_findings(ctx, actor=REVIEWER, status="confirmed") == []
    with pytest.raises(errors.RequestInvalid):
        findings.list_findings(ctx, actor=REVIEWER, status="closed")
    for role in (Role.PERSON, Role.UNIT, Role.INSTITUTION, Role.COUNTER):
        with pytest.raises(errors.AccessForbidden):
            findings.list_findings(ctx, actor=Actor(username="x", role=role))


def test_a_finding_is_decided_once_by_a_reviewer_and_a_dismissal_needs_a_note(ctx):
    findings.record(ctx, actor=ANALYTICS, detected=[detected("per_1", "stl_a")])
    (found,) = findings.list_findings(ctx, actor=REVIEWER)
    with pytest.raises(errors.AccessForbidden):
        findings.decide(ctx, actor=AUDITOR, finding_id=found.id, action="confirm")
    with pytest.raises(errors.FindingNoteMissing):
        findings.decide(ctx, actor=REVIEWER, finding_id=found.id, action="dismiss", note="  ")
    with pytest.raises(errors.FindingActionInvalid):
        findings.decide(ctx, actor=REVIEWER, finding_id=found.id, action="close")
    decided = findings.decide(ctx, actor=REVIEWER, finding_id=found.id, action="dismiss", note="同一次就诊分单")
    assert (decided.status, decided.decided_by, decided.note) == ("dismissed", "fast-reviewer", "同一次就诊分单")
    with pytest.raises(errors.FindingAlreadyDecided):
        findings.decide(ctx, actor=REVIEWER, finding_id=found.id, action="confirm")
    with pytest.raises(errors.FindingNotFound):
        findings.decide(ctx, actor=REVIEWER, finding_id="fnd_missing", action="confirm")


def test_a_confirmation_freezes_nothing_and_the_freeze_is_a_step_of_its_own(ctx):
    person = add_person(ctx, ANALYTICS, card=False)
    findings.record(ctx, actor=ANALYTICS, detected=[detected(person.id, "stl_a")])
    (found,) = findings.list_findings(ctx, actor=REVIEWER)
    with pytest.raises(errors.FindingNotConfirmed):
        findings.freeze_after_confirm(ctx, actor=REVIEWER, finding_id=found.id, reason="疑似分单")
    findings.decide(ctx, actor=REVIEWER, finding_id=found.id, action="confirm")
    store = ctx.extras["store"]
    assert store.all(AccountFreeze) == []
    frozen = findings.freeze_after_confirm(ctx, actor=REVIEWER, finding_id=found.id, reason="疑似分单")
    assert frozen.person_id == person.id and len(store.all(AccountFreeze)) == 1
    with pytest.raises(errors.AccountAlreadyFrozen):
        findings.freeze_after_confirm(ctx, actor=REVIEWER, finding_id=found.id, reason="疑似分单")


def test_risk_flags_count_the_open_findings_on_each_person(ctx):
    findings.record(ctx, actor=ANALYTICS, detected=[
        detected("per_1", "stl_a", score=0.4), detected("per_1", "stl_b", pattern=Pattern.FAR_APART, score=0.7),
        detected("per_2", "stl_c")])
    decided = next(f for f in findings.list_findings(ctx, actor=REVIEWER) if f.subject_id == "per_2")
    findings.decide(ctx, actor=REVIEWER, finding_id=decided.id, action="escalate")
    flags = findings.risk_flags(ctx, actor=REVIEWER, person_ids=["per_1", "per_2", "per_9"])
    assert list(flags) == ["per_1"]
    assert (flags["per_1"].open_count, flags["per_1"].worst_score) == (2, 0.7)
    assert flags["per_1"].patterns == ("far_apart", "split_payments")
    assert isinstance(ctx.extras["store"].all(Finding)[0], Finding)
