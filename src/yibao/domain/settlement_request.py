"""The shape of a settlement request: its lines (category and amount) and its credential, checked once.

The API's request body takes its limits from here and the settlement service parses with these, so a bad
request gets the same refusal whichever door it came through.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain import vocabulary as v

MAX_ITEMS = 200
MAX_ITEM_FEN = 10**10  # ¥100,000,000 a line: anything above is a typing error


def _invalid(zh: str, en: str) -> errors.SettlementInvalid:
    return errors.SettlementInvalid(reason_zh=zh, reason_en=en)


@dataclass(frozen=True)
class SettlementLine:
    """One line of a bill: a category of the vocabulary and a positive amount in fen."""

    category: str
    amount_fen: int

    @classmethod
    def parse(cls, item) -> SettlementLine:
        """A line from a request's item ({category, amount_fen}), or the refusal of a bad one."""
        category, amount = (item or {}).get("category"), (item or {}).get("amount_fen")
        if category not in v.Category:
            raise _invalid(f"类别须为 {'、'.join(v.Category)}", f"category is one of {', '.join(v.Category)}")
        if type(amount) is not int or not 0 < amount <= MAX_ITEM_FEN:
            raise _invalid("金额须为正整数（分）", "amount_fen must be a positive whole number of fen")
        return cls(category, amount)

    def as_dict(self) -> dict:
        return {"category": self.category, "amount_fen": self.amount_fen}


def parse_lines(items) -> list[SettlementLine]:
    """A request's items as lines: 1 to MAX_ITEMS of them, each well formed."""
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise _invalid(f"须有 1 至 {MAX_ITEMS} 项费用", f"1 to {MAX_ITEMS} items are needed")
    return [SettlementLine.parse(item) for item in items]


def parse_credential(credential) -> dict:
    """What pays: a card with its PIN, or an e-voucher's payment code; the long-lived e-voucher token is refused."""
    kind = (credential or {}).get("type")
    if kind == "card" and all(isinstance(credential.get(k), str) for k in ("card_no", "pin")):
        return {"type": "card", "card_no": credential["card_no"], "pin": credential["pin"]}
    if kind == "evoucher_code" and isinstance(credential.get("code"), str):
        return {"type": "evoucher_code", "code": credential["code"]}
    if kind == "evoucher":  # the long-lived token is the app's, to ask for codes: whoever saw it must not pay
        raise errors.TokenNotAccepted()
    raise _invalid("凭证须为 {type: card, card_no, pin} 或 {type: evoucher_code, code}",
                   "credential is {type: card, card_no, pin} or {type: evoucher_code, code}")


def parse_emergency(emergency) -> bool:
    """The institution's statement of an emergency: true or false, nothing else."""
    if type(emergency) is not bool:
        raise _invalid("急诊抢救须为 true 或 false", "emergency is true or false")
    return emergency
