"""The contribution base's floor and ceiling (缴费基数上下限) as the policy engine reads them from the bundled tree."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.policy.engine import Engine
from yibao.policy.loader import load_files, load_tree
from yibao.policy.source import PolicyFileError

BUNDLED = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_tree(BUNDLED))


@pytest.mark.parametrize("period, floor, ceiling", [
    (dt.date(2024, 3, 1), 632_600, 3_389_100),  # the base year from July 2023
    (dt.date(2024, 7, 1), 682_100, 3_528_300),  # a new base year starts in July
    (dt.date(2026, 1, 1), 716_200, 3_581_100),
])
def test_beijing_bounds_follow_the_base_year(engine, period, floor, ceiling):
    bounds = engine.contribution_base_bounds(region="110105", scheme="employee", flexible=True, period=period)
    assert (bounds.min_fen, bounds.max_fen) == (floor, ceiling)
    assert bounds.rule.rule_id == "bj.contribution.base_bounds" and "通知" in bounds.rule.reference


def test_a_region_without_its_own_bounds_uses_the_national_fallback(engine):
    bounds = engine.contribution_base_bounds(region="210200", scheme="employee", flexible=False,
                                             period=dt.date(2026, 1, 1))
    assert (bounds.min_fen, bounds.max_fen, bounds.rule.region) == (300_000, 4_000_000, "000000")
    assert "演示值" in bounds.rule.reference  # a demo range, marked as such


def test_the_resident_scheme_has_no_base_bounds(engine):
    assert engine.contribution_base_bounds(region="110000", scheme="resident", flexible=False,
                                           period=dt.date(2026, 1, 1)) is None


def test_a_bound_that_is_not_a_parameter_is_refused_when_loaded():
    files = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(BUNDLED.glob("*/*.yaml"))}
    files["110000-beijing/collection.yaml"] = files["110000-beijing/collection.yaml"].replace(
        b"{floor: contribution.base.floor,", b"{floor: 716200,")
    with pytest.raises(PolicyFileError) as refused:
        load_files(files)
    assert any(p.file == "110000-beijing/collection.yaml" and "floor" in p.key for p in refused.value.problems)
