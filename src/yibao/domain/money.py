"""Money is an integer number of fen; this module shows it as yuan the Chinese way, ¥1,234.50, and reads yuan as
typed back into exact fen."""

from __future__ import annotations

import re
from decimal import Decimal


def yuan(fen: int) -> str:
    """Integer fen as yuan with grouping and two decimals (Babel's zh_CN CNY format, without its cost)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{part:02d}"


class YuanTextInvalid(ValueError):
    """An amount typed in yuan that is not one: `reason` is `format`, `decimals`, `not_positive` or `too_large`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_YUAN_TEXT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?")


def fen_from_yuan(text: str, *, max_fen: int) -> int:
    """Yuan as a cashier types them ("12", "12.5", "12.50", "1,234.50") as exact integer fen: at most two
    decimals, more than zero and at most `max_fen`; anything else raises YuanTextInvalid."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "")
    if cleaned.startswith("-") and _YUAN_TEXT.fullmatch(cleaned[1:]):
        raise YuanTextInvalid("not_positive")
    if not _YUAN_TEXT.fullmatch(cleaned):
        raise YuanTextInvalid("format")
    fen = Decimal(cleaned) * 100
    if fen != fen.to_integral_value():
        raise YuanTextInvalid("decimals")
    if fen <= 0:
        raise YuanTextInvalid("not_positive")
    if fen > max_fen:
        raise YuanTextInvalid("too_large")
    return int(fen)
