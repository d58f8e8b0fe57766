"""Money is an integer number of fen; this module shows it as yuan the Chinese way: ¥1,234.50."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """Integer fen as yuan with grouping and two decimals (Babel's zh_CN CNY format, without its cost)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{part:02d}"
