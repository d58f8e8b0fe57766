"""Amounts read the Chinese way, exactly as Babel's zh_CN currency format shows them."""

from decimal import Decimal

import pytest
from babel.numbers import format_currency

from yibao.domain.money import yuan


@pytest.mark.parametrize("fen", [0, 1, 5, 99, 100, 12_345, 123_456, 100_000_000, 10**14 + 7, -1, -1_250, -100_000])
def test_yuan_reads_as_babel_formats_it(fen):
    assert yuan(fen) == format_currency(Decimal(fen).scaleb(-2), "CNY", locale="zh_CN")


def test_yuan_examples():
    assert (yuan(50_000), yuan(1_000_000), yuan(5)) == ("¥500.00", "¥10,000.00", "¥0.05")
