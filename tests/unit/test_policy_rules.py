"""Rules in policy files: every mistake a policy officer can make is named by file, line and key, and a
tree with any mistake loads nothing; what loads answers by priority, per day, over the national layer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.policy.engine import Engine
from yibao.policy.interface import ContributeFacts
from yibao.policy.loader import load_files, load_tree
from yibao.policy.source import PolicyFileError

BUNDLED = Path(__file__).resolve().parents[2] / "policies"
HEADER = "region:\n  code: '{code}'\n  name: {{zh: {zh}, en: {en}}}\n"
LIMITS = """\
parameters:
  settlement.limit.daily:
    description: {zh: 每日个人账户支付上限, en: Personal-account payments a day}
    unit: fen
    reference: 种子文章 004
    values:
      2019-01-01: 100000
      2027-01-01: 150000
rules:
  bj.daily:
    question: settlement.limit.daily
    description: {zh: 每日上限, en: Daily limit}
    reference: 种子文章 004
    versions:
      2019-01-01: {limit: settlement.limit.daily, on_reach: partial}
"""
NATIONAL_RULES = """\
rules:
  national.coverage:
    question: settlement.coverage
    description: {zh: 药店可付药品, en: Pharmacies sell drugs}
    reference: 国办发〔2021〕14号
    when: {institution_kind: pharmacy}
    versions:
      2021-01-01: {categories: [drug]}
"""


def files(**extra: str) -> dict[str, bytes]:
    tree = {
        "000000-national/region.yaml": HEADER.format(code="000000", zh="全国", en="National"),
        "000000-national/rules.yaml": NATIONAL_RULES,
        "110000-beijing/region.yaml": HEADER.format(code="110000", zh="北京市", en="Beijing"),
        "110000-beijing/settlement.yaml": LIMITS,
    }
    tree.update({k.replace("__", "/").replace("_", "-", 1) if "__" in k else k: v for k, v in extra.items()})
    return {name: text.encode() for name, text in tree.items()}


def problems(tree: dict[str, bytes]) -> list[str]:
    with pytest.raises(PolicyFileError) as caught:
        load_files(tree)
    return [f"{p.file}:{p.line}:{p.key}:{p.message_en}" for p in caught.value.problems]


def with_settlement(text: str) -> dict[str, bytes]:
    tree = files()
    tree["110000-beijing/settlement.yaml"] = text.encode()
    return tree


def test_the_good_tree_loads_and_answers():
    engine = Engine(load_files(files()))
    facts = {"institution_kind": "pharmacy", "cross_region": False, "scheme": "employee"}
    answer = engine.answer("110000", "settlement.limit.daily", facts, dt.date(2026, 3, 2))
    assert (answer.rule.id, answer.values["limit"], answer.effective_from) == ("bj.daily", 100_000, dt.date(2019, 1, 1))
    later = engine.answer("110000", "settlement.limit.daily", facts, dt.date(2027, 1, 1))
    assert (later.values["limit"], later.effective_from) == (150_000, dt.date(2027, 1, 1))  # the figure's date
    assert engine.answer("110000", "settlement.limit.daily", facts, dt.date(2018, 12, 31)) is None
    national = engine.answer("110000", "settlement.coverage", {"institution_kind": "pharmacy"}, dt.date(2026, 1, 1))
    assert (national.rule.id, national.rule.region, national.values["categories"]) == (
        "national.coverage", "000000", ("drug",))


@pytest.mark.parametrize("old, new, expected", [
    ("    question: settlement.limit.daily\n", "    question: settlement.limit.dialy\n",
     "110000-beijing/settlement.yaml:11:rules.bj.daily.question:unknown question settlement.limit.dialy"),
    ("    reference: 种子文章 004\n    versions:", "    reference: 种子文章 004\n    owner: agency\n    versions:",
     "110000-beijing/settlement.yaml:14:rules.bj.daily.owner:unknown key owner"),
    ("{limit: settlement.limit.daily, on_reach: partial}", "{limit: settlement.limit.weekly, on_reach: partial}",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01.limit:parameter settlement.limit.weekly "
     "does not exist"),
    ("{limit: settlement.limit.daily, on_reach: partial}", "{limit: 100000, on_reach: partial}",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01.limit:must name a parameter"),
    ("{limit: settlement.limit.daily, on_reach: partial}", "{limit: settlement.limit.daily, on_reach: sometimes}",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01.on_reach:must be one of: partial, refuse"),
    ("{limit: settlement.limit.daily, on_reach: partial}", "{limit: settlement.limit.daily, share: 0.5}",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01.share:settlement.limit.daily has no "
     "field share"),
    ("{limit: settlement.limit.daily, on_reach: partial}", "{on_reach: partial}",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01:field limit is missing"),
    ("    versions:\n      2019-01-01: {limit", "    when: {channel: app}\n    versions:\n      2019-01-01: {limit",
     "110000-beijing/settlement.yaml:14:rules.bj.daily.when.channel:settlement.limit.daily cannot depend on channel"),
    ("    versions:\n      2019-01-01: {limit", "    when: {institution_kind: bakery}\n    versions:\n      2019-01-01: {limit",
     "110000-beijing/settlement.yaml:14:rules.bj.daily.when.institution_kind:unknown value bakery"),
    ("      2019-01-01: {limit: settlement.limit.daily, on_reach: partial}\n",
     "      2020-01-01: {limit: settlement.limit.daily, on_reach: partial}\n"
     "      2019-06-01: {limit: settlement.limit.daily, on_reach: refuse}\n",
     "110000-beijing/settlement.yaml:16:rules.bj.daily.versions.2019-06-01:dates must be strictly ascending"),
    ("      2019-01-01: {limit: settlement.limit.daily, on_reach: partial}\n",
     "      2019-01-01: null\n",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01:the first version cannot be null"),
    ("      2019-01-01: {limit: settlement.limit.daily, on_reach: partial}\n",
     "      2018-01-01: {limit: settlement.limit.daily, on_reach: partial}\n",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2018-01-01:parameter settlement.limit.daily is not "
     "in force on 2018-01-01"),
    ("      2027-01-01: 150000\n", "      2027-01-01: null\n",
     "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01:parameter settlement.limit.daily is not "
     "in force on 2027-01-01"),
])
def test_each_rule_mistake_is_named_by_file_line_and_key(old, new, expected):
    assert old in LIMITS
    found = problems(with_settlement(LIMITS.replace(old, new)))
    assert any(p.startswith(expected) for p in found), found


def test_a_figure_must_have_the_unit_the_field_needs():
    text = LIMITS.replace("unit: fen", "unit: count")
    assert problems(with_settlement(text)) == [
        "110000-beijing/settlement.yaml:15:rules.bj.daily.versions.2019-01-01.limit:parameter settlement.limit.daily"
        " is in count; this field needs fen"]


def test_two_rules_that_could_both_answer_with_the_same_priority_are_refused():
    second = """\
  bj.daily_pharmacy:
    question: settlement.limit.daily
    description: {zh: 药店每日上限, en: Pharmacy daily limit}
    reference: 种子文章 004
    when: {institution_kind: pharmacy}
    versions:
      2020-01-01: {limit: settlement.limit.daily}
"""
    found = problems(with_settlement(LIMITS + second))
    assert found == ["110000-beijing/settlement.yaml:16:rules.bj.daily_pharmacy.priority:rules bj.daily_pharmacy and "
                     "bj.daily (110000) have the same priority and can both apply from 2020-01-01: give the exception "
                     "a higher priority"]
    load_files(with_settlement(LIMITS + second.replace("    when:", "    priority: 10\n    when:")))  # an exception
    disjoint = second.replace("institution_kind: pharmacy", "institution_kind: hospital")
    base_for_pharmacies = LIMITS.replace("    versions:\n      2019", "    when: {institution_kind: pharmacy}\n"
                                         "    versions:\n      2019")
    load_files(with_settlement(base_for_pharmacies + disjoint))  # conditions that never both hold


def test_ages_that_never_overlap_are_not_a_tie_but_ages_that_do_are():
    rules = """\
parameters:
  amount.young: {description: 年轻, unit: fen, reference: 演示, values: {2023-01-01: 10000}}
  amount.old: {description: 年长, unit: fen, reference: 演示, values: {2023-01-01: 11000}}
rules:
  young:
    question: contribution.allocation
    description: 不满70周岁
    reference: 演示
    when: {retired: true, age: {max: 69}}
    versions: {2023-01-01: {amount: amount.young}}
  old:
    question: contribution.allocation
    description: 70周岁及以上
    reference: 演示
    when: {retired: true, age: {min: AGE}}
    versions: {2023-01-01: {amount: amount.old}}
"""
    tree = files()
    tree["110000-beijing/accounts.yaml"] = rules.replace("AGE", "70").encode()
    engine = Engine(load_files(tree))
    facts = ContributeFacts(region="110000", scheme="employee", retired=True, birth_date=dt.date(1956, 3, 2),
                            base_fen=0)
    assert engine.decide(facts, dt.date(2026, 3, 1)).details["amount_fen"] == 10_000  # 69
    assert engine.decide(facts, dt.date(2026, 3, 2)).details["amount_fen"] == 11_000  # 70 today
    tree["110000-beijing/accounts.yaml"] = rules.replace("AGE", "69").encode()
    assert [p.split(":")[3] for p in problems(tree)] == [
        "rules old and young (110000) have the same priority and can both apply from 2023-01-01"]


def test_a_region_rule_may_not_reuse_a_national_rule_id():
    tree = files()
    tree["110000-beijing/more.yaml"] = NATIONAL_RULES.encode()
    found = problems(tree)
    assert "110000-beijing/more.yaml:2:rules.national.coverage:rule id national.coverage is also a national rule" \
           in found


def test_the_bundled_policies_load():
    loaded = load_tree(BUNDLED)
    assert {"000000", "110000", "210200", "410000"} <= set(loaded.regions)
    for region in loaded.regions.values():
        for rule in region.rules.values():
            assert rule.reference.strip() and rule.description_zh.strip() and rule.description_en.strip(), rule.id


_BUNDLED_FILES = {f"{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(BUNDLED.glob("*/*.yaml"))}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_bundled_file_cut_spliced_or_retyped_anywhere_is_refused_with_named_problems_never_a_traceback(data):
    name = data.draw(st.sampled_from(sorted(_BUNDLED_FILES)))
    text = _BUNDLED_FILES[name].decode()
    lines = text.splitlines(keepends=True)
    i = data.draw(st.integers(0, max(0, len(lines) - 1)))
    how = data.draw(st.sampled_from(["cut", "duplicate", "retype", "dedent"]))
    if how == "cut":
        lines = lines[:i] + lines[i + 1:]
    elif how == "duplicate":
        lines = lines[:i + 1] + lines[i:]
    elif how == "retype" and lines:
        word = data.draw(st.sampled_from(["null", "-1", "0.5", "[]", "{}", "yes", "2024-13-01", "abc", "'x'"]))
        key, sep, _ = lines[i].partition(":")
        lines[i] = f"{key}{sep} {word}\n" if sep else f"{word}\n"
    elif lines:
        lines[i] = lines[i].lstrip()
    tree = dict(_BUNDLED_FILES)
    tree[name] = "".join(lines).encode()
    try:
        load_files(tree)
    except PolicyFileError as exc:
        assert exc.problems and all(p.file and p.line >= 1 for p in exc.problems)


def test_the_policy_guide_lists_every_question_and_its_facts():
    from yibao.policy.schema import QUESTIONS

    guide = (Path(__file__).resolve().parents[2] / "docs/policy.md").read_text(encoding="utf-8")
    for question in QUESTIONS.values():
        [row] = [line for line in guide.splitlines() if line.startswith(f"| `{question.name}` |")]
        listed = row.split("|")[2]
        assert listed.strip() == "as above" or all(fact in listed for fact in question.facts), (question.name, row)
        assert all(f"`{field}`" in row for field in question.fields), row
