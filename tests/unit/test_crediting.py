"""The one decision of crediting a month (policy.crediting), as both the per-row and the batch path take it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.fakes import bundled_policy
from yibao.domain import errors
from yibao.domain.life_events import Standing
from yibao.ledger import accounts as acct
from yibao.policy.crediting import Found, decide_credit, month_end, parse_period

TODAY = dt.date(2026, 2, 10)
WORKER = Found("per_1", "110105", dt.date(1990, 5, 1), Standing(), employer_id="emp_1", scheme="employee")


def decide(found=WORKER, period="2026-01", base_fen=1_000_000, policy="bundled"):
    return decide_credit(found, period=period, first=parse_period(period), base_fen=base_fen, today=TODAY,
                         policy=bundled_policy() if policy == "bundled" else policy)


@pytest.mark.parametrize("first, last", [(dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
                                         (dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
                                         (dt.date(2025, 12, 1), dt.date(2025, 12, 31))])
def test_a_month_ends_on_its_last_day(first, last):
    assert month_end(first) == last


def test_a_month_credited_is_keyed_by_person_month_and_payer_and_posts_what_the_rule_allocates():
    decision = decide()
    assert decision.key == "per_1:2026-01:emp_1"
    assert decision.request == {"person_id": "per_1", "period": "2026-01", "base_fen": 1_000_000,
                                "employer_id": "emp_1"}
    allocation = decision.allocate(bundled_policy())
    assert allocation.amount_fen == 20_000  # 2% of the base
    postings, memo, details = decision.entry(allocation)
    assert [(p.account_id, p.amount_fen) for p in postings] == [(acct.personal("per_1"), 20_000),
                                                                (acct.contribution_clearing("110105"), -20_000)]
    assert memo == "2026-01 缴费划入" and details["rule"] == allocation.rule.as_dict()
    answer = decision.answer(allocation, entry_id="ent_1", balance_fen=20_000)
    assert (answer["contribution_id"], answer["credited_fen"], answer["balance_fen"]) == ("ent_1", 20_000, 20_000)


def test_a_flexible_worker_pays_for_themselves():
    decision = decide(Found("per_2", "110105", dt.date(1990, 5, 1), Standing(), scheme="employee", flexible=True),
                      base_fen=800_000)
    assert decision.key == "per_2:2026-01:self"


@pytest.mark.parametrize("found, period, base_fen, code", [
    (WORKER, "2026-03", 1_000_000, "contribution.invalid"),  # a future month
    (Found("per_1", "110105", dt.date(1990, 5, 1), Standing(closed=True), scheme="employee"), "2026-01",
     1_000_000, "account.closed"),
    (Found("per_1", "110105", dt.date(1990, 5, 1), Standing("death", dt.date(2025, 12, 20)), scheme="employee"),
     "2026-01", 1_000_000, "contribution.after_life_event"),
    (Found("per_1", "110105", dt.date(1990, 5, 1), Standing()), "2026-01", 1_000_000, "contribution.not_enrolled"),
    (WORKER, "2026-01", 10**10, "contribution.base_out_of_range"),
])
def test_a_month_that_may_not_be_paid_is_refused_in_one_order(found, period, base_fen, code):
    with pytest.raises(errors.DomainError) as refused:
        decide(found, period=period, base_fen=base_fen)
    assert refused.value.code == code


def test_a_future_month_is_refused_before_anything_else():
    closed = Found("per_1", "110105", dt.date(1990, 5, 1), Standing(closed=True))
    with pytest.raises(errors.ContributionInvalid) as refused:
        decide(closed, period="2026-03")
    assert "未来月份" in refused.value.zh and "future month" in refused.value.en


def test_without_a_policy_the_bounds_rule_is_missing():
    with pytest.raises(errors.PolicyRuleMissing):
        decide(policy=None)
