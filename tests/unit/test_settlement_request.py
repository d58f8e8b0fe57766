"""A settlement request's shape is checked once: the domain parses lines and credentials, and the API's request
body takes the same limits."""

from __future__ import annotations

import pytest

from yibao.api.schemas.settlements import SettlementCreate
from yibao.domain import errors
from yibao.domain.settlement_request import (
    MAX_ITEM_FEN,
    MAX_ITEMS,
    SettlementLine,
    parse_credential,
    parse_emergency,
    parse_lines,
)


def test_good_lines_and_credentials_are_kept_as_given():
    assert parse_lines([{"category": "drug", "amount_fen": 100}]) == [SettlementLine("drug", 100)]
    assert SettlementLine("device", MAX_ITEM_FEN).as_dict() == {"category": "device", "amount_fen": MAX_ITEM_FEN}
    assert parse_credential({"type": "card", "card_no": "1", "pin": "2", "x": 3}) == {
        "type": "card", "card_no": "1", "pin": "2"}
    assert parse_credential({"type": "evoucher_code", "code": "9"}) == {"type": "evoucher_code", "code": "9"}
    assert parse_emergency(True) is True


@pytest.mark.parametrize("items, reason_en", [
    ([], f"1 to {MAX_ITEMS} items are needed"),
    ([{"category": "drug", "amount_fen": 1}] * (MAX_ITEMS + 1), f"1 to {MAX_ITEMS} items are needed"),
    ("drug", f"1 to {MAX_ITEMS} items are needed"),
    ([{"category": "food", "amount_fen": 1}], "category is one of medical_service, drug, device, consumable"),
    ([None], "category is one of medical_service, drug, device, consumable"),
    ([{"category": "drug", "amount_fen": 0}], "amount_fen must be a positive whole number of fen"),
    ([{"category": "drug", "amount_fen": 1.5}], "amount_fen must be a positive whole number of fen"),
    ([{"category": "drug", "amount_fen": True}], "amount_fen must be a positive whole number of fen"),
    ([{"category": "drug", "amount_fen": MAX_ITEM_FEN + 1}], "amount_fen must be a positive whole number of fen"),
])
def test_bad_lines_are_refused_with_the_reason(items, reason_en):
    with pytest.raises(errors.SettlementInvalid) as refused:
        parse_lines(items)
    assert refused.value.facts["reason_en"] == reason_en


def test_bad_credentials_are_refused_and_the_long_lived_token_never_pays():
    with pytest.raises(errors.TokenNotAccepted):
        parse_credential({"type": "evoucher", "token": "t"})
    for bad in (None, {"type": "card", "card_no": "1"}, {"type": "cash"}, {"type": "evoucher_code", "code": 9}):
        with pytest.raises(errors.SettlementInvalid):
            parse_credential(bad)
    with pytest.raises(errors.SettlementInvalid):
        parse_emergency("yes")


def test_the_request_body_takes_the_domain_limits():
    shape = SettlementCreate.model_json_schema()
    assert (shape["properties"]["items"]["minItems"], shape["properties"]["items"]["maxItems"]) == (1, MAX_ITEMS)
    assert shape["$defs"]["ItemCreate"]["properties"]["amount_fen"]["maximum"] == MAX_ITEM_FEN
