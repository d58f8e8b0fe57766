"""Yuan as a cashier types them, read into exact fen: at most two decimals, more than zero, not absurd."""

from __future__ import annotations

import pytest

from yibao.domain.money import YuanTextInvalid, fen_from_yuan


@pytest.mark.parametrize("text, fen", [("12.50", 1250), ("12.5", 1250), ("12", 1200), (" 1,234.56 ", 123456),
                                       ("0.01", 1), ("12.500", 1250), ("0.29", 29), ("1.15", 115)])
def test_amounts_in_yuan_become_exact_fen(text, fen):
    assert fen_from_yuan(text, max_fen=10**10) == fen


@pytest.mark.parametrize("text, reason", [("12.345", "decimals"), ("12.505", "decimals"), ("-3", "not_positive"),
                                          ("0", "not_positive"), ("0.00", "not_positive"), ("abc", "format"),
                                          ("1e3", "format"), ("", "format"), ("12.", "format"), ("NaN", "format"),
                                          ("100000000.01", "too_large")])
def test_what_is_not_an_amount_is_refused_with_its_reason(text, reason):
    with pytest.raises(YuanTextInvalid) as refused:
        fen_from_yuan(text, max_fen=10**10)
    assert refused.value.reason == reason
