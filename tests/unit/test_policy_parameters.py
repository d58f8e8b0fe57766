"""Dated parameters: the value in force on a day, retirement by null, and every mistake named by line and key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.policy.parameters import parse_parameters
from yibao.policy.source import PolicyFileError, read

D = dt.date
FILE = """\
parameters:
  settlement.limit.institution_daily:
    description: {zh: 同一定点机构每日个人账户支付上限, en: Personal-account payments at one institution a day}
    unit: fen
    reference: seed 004
    values:
      2019-01-01: 50000
      2026-07-01: 60000
      2027-01-01: null
  contribution.employee.rate:
    description: 在职职工个人缴费划入比例
    unit: rate
    reference: 国办发〔2021〕14号
    values:
      2022-01-01: 0.02
  settlement.on_limit:
    description: {zh: 达到限额时, en: On reaching a limit}
    unit: choice
    choices: [partial, refuse]
    reference: seed 004
    values:
      2019-01-01: partial
"""


def parsed(text: str = FILE):
    return parse_parameters(read(Path("beijing.yaml"), text))


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(PolicyFileError) as caught:
        parsed(text)
    return [(p.line, p.key, p.message_en) for p in caught.value.problems]


def test_the_value_in_force_on_a_day():
    limit = parsed()["settlement.limit.institution_daily"]
    assert limit.at(D(2018, 12, 31)) is None  # before it existed
    assert limit.at(D(2019, 1, 1)) == (50_000, D(2019, 1, 1))  # the day it takes effect
    assert limit.at(D(2026, 6, 30)) == (50_000, D(2019, 1, 1))
    assert limit.at(D(2026, 7, 1)) == (60_000, D(2026, 7, 1))
    assert limit.at(D(2027, 1, 1)) is None  # retired
    assert limit.description_zh.startswith("同一定点机构") and limit.reference == "seed 004"


def test_rates_are_exact_decimals_not_floats():
    rate, since = parsed()["contribution.employee.rate"].at(D(2026, 1, 1))
    assert rate == Decimal("0.02") and since == D(2022, 1, 1)
    assert int(1_234_567 * rate) == 24_691


LIMIT = "parameters.settlement.limit.institution_daily"
RATE = "parameters.contribution.employee.rate"


@pytest.mark.parametrize("old, new, line, key, message", [
    ("      2026-07-01: 60000\n", "      2026-07-01: 60000\n      2026-08-01: -1\n", 9,
     f"{LIMIT}.values.2026-08-01", "must be a whole number of fen, not negative"),
    ("      2026-07-01: 60000\n", "      2026-07-01: 600.5\n", 8, f"{LIMIT}.values.2026-07-01",
     "must be a whole number of fen"),
    ("      2026-07-01: 60000\n", "      2018-07-01: 60000\n", 8, f"{LIMIT}.values.2018-07-01", "strictly ascending"),
    ("      2022-01-01: 0.02\n", "      2022-01-01: 2\n", 15, f"{RATE}.values.2022-01-01", "a rate between 0 and 1"),
    ("      2019-01-01: partial\n", "      2019-01-01: part\n", 22, "parameters.settlement.on_limit.values.2019-01-01",
     "one of: partial, refuse"),
    ("    unit: fen\n", "    unit: yuan\n", 4, f"{LIMIT}.unit", "unknown unit yuan"),
    ("    reference: 国办发〔2021〕14号\n", "    reference: ''\n", 13, f"{RATE}.reference", "a reference is needed"),
    ("    reference: 国办发〔2021〕14号\n", "    reference: x\n    rounding: down\n", 14, f"{RATE}.rounding",
     "unknown key rounding"),
    ("      2019-01-01: 50000\n", "      2019-01-01: null\n", 7, f"{LIMIT}.values.2019-01-01",
     "the first value cannot be null"),
    ("      2019-01-01: 50000\n", "      2019-01-01 10:00:00: 50000\n", 7, f"{LIMIT}.values.2019-01-01T10:00:00",
     "an effective date must be YYYY-MM-DD"),
])
def test_each_mistake_is_named_by_line_and_key(old, new, line, key, message):
    assert old in FILE
    found = problems(FILE.replace(old, new, 1))
    assert [(n, k) for n, k, m in found if message in m] == [(line, key)], found


def test_a_missing_field_is_named_at_its_parameter():
    text = FILE.replace("    unit: rate\n", "")
    assert problems(text) == [(10, "parameters.contribution.employee.rate", "unit is missing")]
