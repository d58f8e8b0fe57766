"""A policy set frozen on a day decides every day as that day's rules do, and leaves the set in force alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.policy.engine import Engine
from yibao.policy.frozen import as_on
from yibao.policy.interface import SettleFacts
from yibao.policy.loader import load_tree

POLICIES = Path(__file__).resolve().parents[2] / "policies"
TREE = load_tree(POLICIES)


def _limits(engine: Engine, facts: SettleFacts, day: dt.date):
    decision = engine.decide(facts, day)
    return decision.allowed, {k: (v["limit"], v["on_reach"]) for k, v in decision.details.get("limits", {}).items()}


FACTS = [SettleFacts(region=r, institution_region=i, institution_kind=k, items=(), has_filing=True,
                     emergency=e, scheme=None)
         for r, i in (("110000", "110000"), ("210200", "210200"), ("110000", "310000"))
         for k in ("hospital", "pharmacy") for e in (False, True)]
DAYS = [dt.date(2019, 6, 1), dt.date(2024, 1, 1), dt.date(2026, 3, 3), dt.date(2030, 1, 1)]


@pytest.mark.parametrize("day", DAYS)
def test_the_frozen_set_decides_every_day_as_its_day(day):
    frozen, live = Engine(as_on(TREE, day)), Engine(TREE)
    for facts in FACTS:
        expected = _limits(live, facts, day)
        for other in (dt.date(2001, 1, 1), *DAYS):
            assert _limits(frozen, facts, other) == expected, (facts, other)


def test_freezing_changes_what_an_earlier_day_decides_when_rules_changed_since():
    # some settlement figure changed between 2019 and 2026 in the bundled tree, or freezing proves nothing
    live = Engine(TREE)
    assert any(_limits(live, f, DAYS[0]) != _limits(live, f, DAYS[2]) for f in FACTS)
    frozen = Engine(as_on(TREE, DAYS[2]))
    assert any(_limits(frozen, f, DAYS[0]) != _limits(live, f, DAYS[0]) for f in FACTS)


def test_the_set_in_force_is_left_as_it_was():
    before = {c: {n: r.dates for n, r in region.rules.items()} for c, region in TREE.regions.items()}
    frozen = as_on(TREE, DAYS[2])
    assert {c: {n: r.dates for n, r in region.rules.items()} for c, region in TREE.regions.items()} == before
    assert frozen.digest != TREE.digest
