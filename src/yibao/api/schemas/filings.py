"""Cross-region filings and family grants."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from yibao.api.schemas.common import Body, FilingReason, FilingType, Relation, RuleRead


class FilingCreate(Body):
    person_id: str = Field(max_length=24)
    type: FilingType
    reason: FilingReason
    destination_region: str = Field(min_length=6, max_length=6)
    start_date: dt.date | None = None


class FilingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    filing_id: str = Field(validation_alias="id")
    person_id: str
    type: str
    reason: str
    destination_region: str
    valid_from: dt.date
    valid_to: dt.date | None
    status: str
    rule_id: str
    created_at: dt.datetime
    closed_at: dt.datetime | None = None
    rules: list[RuleRead] = []


class GrantCreate(Body):
    owner_id: str = Field(max_length=24)
    grantee_id: str = Field(max_length=24)
    relation: Relation


class GrantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    grant_id: str = Field(validation_alias="id")
    owner_id: str
    grantee_id: str
    relation: str
    status: str
    rule_id: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None  # when it ended: revoked, declined or cancelled
    accepted_at: dt.datetime | None = None  # when it came into force
    rules: list[RuleRead] = []
