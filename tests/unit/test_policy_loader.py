"""A policy tree loads whole or not at all, and names every problem in every file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.policy.loader import load_tree
from yibao.policy.source import PolicyFileError

REGION = "region:\n  code: '{code}'\n  name: {{zh: {zh}, en: {en}}}\n"
LIMITS = """\
parameters:
  settlement.limit.daily:
    description: {zh: 每日个人账户支付上限, en: Personal-account payments a day}
    unit: fen
    reference: seed 004
    values:
      2019-01-01: 100000
"""


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def good(tmp_path: Path) -> dict[str, str]:
    return {
        "110000-beijing/region.yaml": REGION.format(code="110000", zh="北京市", en="Beijing"),
        "110000-beijing/settlement.yaml": LIMITS,
        "000000-national/region.yaml": REGION.format(code="000000", zh="全国", en="National"),
    }


def problems(root: Path) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        load_tree(root)
    return [f"{p.file}:{p.line}:{p.key}:{p.message_en}" for p in caught.value.problems]


def test_a_good_tree_loads_with_a_digest_of_what_it_read(tmp_path):
    loaded = load_tree(tree(tmp_path, good(tmp_path)))
    assert set(loaded.regions) == {"110000", "000000"}
    assert loaded.regions["110000"].name_zh == "北京市"
    assert loaded.parameter("110000", "settlement.limit.daily").at(dt.date(2026, 3, 1)) == (100_000, dt.date(2019, 1, 1))
    again = load_tree(tmp_path)
    assert again.digest == loaded.digest
    (tmp_path / "110000-beijing/settlement.yaml").write_text(LIMITS.replace("100000", "100001"), encoding="utf-8")
    assert load_tree(tmp_path).digest != loaded.digest


def test_every_problem_in_every_file_is_reported_and_nothing_loads(tmp_path):
    files = good(tmp_path)
    files["110000-beijing/settlement.yaml"] = LIMITS.replace("unit: fen", "unit: yuan")
    files["110000-beijing/withdrawal.yaml"] = "parameters: {}\nlimits: []\n"
    files["210200-dalian/settlement.yaml"] = LIMITS  # no region.yaml
    files["beijing/region.yaml"] = REGION.format(code="110000", zh="北京", en="Beijing")
    found = problems(tree(tmp_path, files))
    assert "110000-beijing/settlement.yaml:4:parameters.settlement.limit.daily.unit:unknown unit yuan; one of: " \
           "fen, count, rate, days, working_days, months, years, minutes, hours, km, km_per_hour, score, flag, choice, " \
           "list, text" in found
    assert "110000-beijing/withdrawal.yaml:2:limits:unknown key limits; allowed here: parameters, rules" in found
    assert "210200-dalian/region.yaml:1::region.yaml (the region's name) is missing" in found
    assert any(p.startswith("beijing:1::a folder is named") for p in found)
    assert len(found) == 4


def test_a_parameter_defined_twice_in_a_region_is_named(tmp_path):
    files = good(tmp_path)
    files["110000-beijing/more.yaml"] = LIMITS
    assert problems(tree(tmp_path, files)) == [
        "110000-beijing/settlement.yaml:2:parameters.settlement.limit.daily:"  # files are read by name
        "parameter settlement.limit.daily is already defined for this region"]


def test_a_region_file_must_match_its_folder(tmp_path):
    files = good(tmp_path)
    files["110000-beijing/region.yaml"] = REGION.format(code="210200", zh="大连市", en="Dalian")
    assert problems(tree(tmp_path, files)) == [
        "110000-beijing/region.yaml:2:region.code:code 210200 does not match the folder's 110000"]


def test_an_empty_tree_is_refused(tmp_path):
    assert problems(tmp_path) == [f"{tmp_path.name}:1::no region folders (<code>-<name>) found"]
