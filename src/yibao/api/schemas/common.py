"""Shared pieces of request and response bodies: the strict base, money, the words requests may use, the rules cited
and the notices."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from yibao.domain import vocabulary as v


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value):
        # PostgreSQL cannot store NUL in text; refuse it here, the same on every backend.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


def term_of(terms: type[v.Term]):
    """A field taking one term of a domain list: the enum member in the body, its plain words in JSON and in the
    OpenAPI (checked as a Literal of the words, so a refusal reads the same as a Literal field's)."""
    return Annotated[Literal[tuple(term.value for term in terms)], AfterValidator(terms)]


# The words requests may use, from the domain's one list of each.
Category = term_of(v.Category)
Relation = term_of(v.Relation)
Channel = term_of(v.Channel)
Scheme = term_of(v.Scheme)
InstitutionKind = term_of(v.InstitutionKind)
FilingType = term_of(v.FilingType)
FilingReason = term_of(v.FilingReason)

Fen = Annotated[int, Field(strict=True, gt=0, le=10**12)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=128)]


class RuleRead(BaseModel):
    rule_id: str
    region: str
    effective_from: dt.date
    reference: str


class NoticeRead(BaseModel):
    id: int
    kind: str
    created_at: dt.datetime
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    data: dict
    read_at: dt.datetime | None
