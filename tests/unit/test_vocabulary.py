"""The fixed lists as enums: labels on every term, plain words in and out, and request bodies that take their words
from the lists."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from yibao.api.schemas.filings import FilingCreate, GrantCreate
from yibao.api.schemas.policy import ExplainCreate
from yibao.api.schemas.registry import EnrollmentCreate, InstitutionCreate
from yibao.api.schemas.settlements import ItemCreate
from yibao.domain import vocabulary as v

LISTS = (v.Category, v.InstitutionKind, v.Scheme, v.Relation, v.Channel, v.WithdrawalReason, v.ReimbursementReason,
         v.FilingType, v.FilingReason, v.DocumentType)


@pytest.mark.parametrize("terms", LISTS, ids=lambda terms: terms.__name__)
def test_every_term_is_its_word_with_both_labels(terms):
    for term in terms:
        assert term == term.value == term.name == str(term) == f"{term}"
        assert term.zh and term.en
        assert json.dumps({term: [term]}) == json.dumps({term.value: [term.value]})
    assert dict(terms.labels()) == {term.value: (term.zh, term.en) for term in terms}


def test_plain_words_are_in_their_list_and_nothing_else_is():
    assert "drug" in v.Category and v.Category.drug in v.Category
    assert "spouse" not in v.Category and "" not in v.Category and None not in v.Category
    assert ["drug"] not in v.Category and {"drug": 1} not in v.Category
    assert ", ".join(v.FilingType) == "long_term, temporary"


def test_labels_come_from_the_enum_or_the_mapping_and_unknown_words_stand_for_themselves():
    assert v.label(v.Relation, "spouse") == v.label(v.Relation.labels(), "spouse") == ("配偶", "spouse")
    assert v.label(v.Relation, "cousin") == v.label(v.Relation.labels(), "cousin") == ("cousin", "cousin")
    assert v.label(v.DocumentType, "") == ("", "")


def test_every_filing_reason_has_its_type():
    assert set(v.FILING_TYPE_OF) == set(v.FilingReason)
    assert set(v.FILING_TYPE_OF.values()) == set(v.FilingType)
    assert v.FILING_TYPE_OF["referral"] == "temporary"


FIELDS = [(ItemCreate, "category", v.Category), (GrantCreate, "relation", v.Relation),
          (ExplainCreate, "channel", v.Channel), (EnrollmentCreate, "scheme", v.Scheme),
          (InstitutionCreate, "kind", v.InstitutionKind), (FilingCreate, "type", v.FilingType),
          (FilingCreate, "reason", v.FilingReason)]


def _allowed(schema: dict) -> list:
    return schema["enum"] if "enum" in schema else next(s["enum"] for s in schema["anyOf"] if "enum" in s)


@pytest.mark.parametrize(("body", "field", "terms"), FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_request_fields_show_the_words_of_their_list(body, field, terms):
    shown = body.model_json_schema()["properties"][field]
    assert _allowed(shown) == [term.value for term in terms]
    assert "$ref" not in json.dumps(shown)  # shown in place, as the words, not as a separate schema


def test_a_body_holds_the_term_and_gives_back_the_word():
    item = ItemCreate(category="drug", amount_fen=100)
    assert item.category is v.Category.drug
    assert item.model_dump_json() == '{"category":"drug","amount_fen":100}'
    assert ItemCreate.model_validate_json('{"category": "device", "amount_fen": 1}').category is v.Category.device


def test_a_word_not_in_the_list_is_refused_with_the_words_allowed():
    with pytest.raises(ValidationError) as refused:
        GrantCreate(owner_id="p1", grantee_id="p2", relation="cousin")
    (error,) = refused.value.errors()
    assert error["type"] == "literal_error"
    assert error["msg"] == "Input should be " + ", ".join(f"'{r}'" for r in list(v.Relation)[:-1]) + " or 'grandchild'"
