"""Policy files are read with every problem named by file, line and key — and never a traceback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.policy.source import PolicyFileError, read

GOOD = """\
parameters:
  settlement.limit.daily:
    description: {zh: 每日个人账户支付上限, en: Personal-account payments per calendar day}
    unit: fen
    reference: seed 004
    values:
      2019-01-01: 100000
      2026-01-01: 120000
"""


def problems_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(PolicyFileError) as caught:
        read(Path("settlement.yaml"), text)
    return [(p.line, p.key, p.message_en) for p in caught.value.problems]


def test_a_good_file_reads_with_the_line_of_every_key():
    doc = read(Path("settlement.yaml"), GOOD)
    values = doc.data["parameters"]["settlement.limit.daily"]["values"]
    assert values == {dt.date(2019, 1, 1): 100_000, dt.date(2026, 1, 1): 120_000}
    assert doc.line_of(("parameters", "settlement.limit.daily", "values", dt.date(2026, 1, 1))) == 8
    assert doc.line_of(("parameters", "settlement.limit.daily", "unit")) == 4
    problem = doc.problem(("parameters", "settlement.limit.daily", "values", dt.date(2026, 1, 1)), "超出", "too big")
    assert str(problem) == "settlement.yaml:8: parameters.settlement.limit.daily.values.2026-01-01: too big / 超出"


def test_a_key_given_twice_is_named_with_its_line():
    text = GOOD + "      2026-01-01: 130000\n"
    assert problems_of(text) == [
        (9, "parameters.settlement.limit.daily.values.2026-01-01", "this key appears twice")]


def test_a_syntax_error_names_its_line():
    [(line, key, message)] = problems_of(GOOD.replace("unit: fen", "unit: [fen"))
    assert line in (4, 5) and key == "" and message.startswith("YAML syntax error")


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("- a\n- b\n", "the top level must be a mapping of keys"),
    ("a: 2024-02-30\n", "unreadable value '2024-02-30'"),
    ("a: &x [*x]\n", ""),
    ("a: !!python/object:os.system ls\n", "unreadable value"),  # safe loading only
    ("? [1, 2]\n: x\n", "a key must be a plain value"),
    ("base: &b {x: 1}\nother:\n  <<: *b\n", "merge keys (<<) are not supported"),
])
def test_what_cannot_be_read_is_a_named_problem(text, message):
    found = problems_of(text)
    assert found and all(line >= 1 for line, _, _ in found)
    assert any(message in m for _, _, m in found), found


def test_alias_bombs_are_refused_not_expanded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    [(_, _, message)] = problems_of("\n".join(lines) + "\n")
    assert "expands too far" in message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(":-[]{}&*!|>'\"#%@`?,\n\t ab1日期") + ["  ", "\n  ", "2024-01-01", "<<"]),
                max_size=60).map("".join))
def test_malformed_yaml_never_ends_in_a_traceback(text):
    try:
        read(Path("fuzz.yaml"), text)
    except PolicyFileError as exc:
        assert exc.problems and all(p.line >= 1 and p.file == "fuzz.yaml" for p in exc.problems)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_good_file_cut_or_spliced_anywhere_never_ends_in_a_traceback(data):
    cut = data.draw(st.integers(0, len(GOOD)))
    insert = data.draw(st.text(max_size=8))
    try:
        read(Path("fuzz.yaml"), GOOD[:cut] + insert + GOOD[cut + data.draw(st.integers(0, 5)):])
    except PolicyFileError as exc:
        assert exc.problems
