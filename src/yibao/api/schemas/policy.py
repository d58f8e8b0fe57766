"""The policy: explanations of what a person may do, the rules and parameters in force, their changes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from yibao.api.schemas.common import Body, Category, Channel, Relation
from yibao.domain import vocabulary as v
from yibao.services.policy.explain import ACTIONS

Action = Literal[tuple(ACTIONS)]  # what a person may ask about


class ExplainCreate(Body):
    person_id: str = Field(max_length=24)
    action: Action
    amount_fen: Annotated[int, Field(strict=True, ge=0, le=10**12)] | None = None
    institution_code: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, max_length=32,
                               description=f"withdraw: {', '.join(v.WithdrawalReason)}; reimburse: "
                                           f"{', '.join(v.ReimbursementReason)}; file: the filing reason")
    date: dt.date | None = None
    relation: Relation | None = None
    category: Category | None = None
    channel: Channel | None = None
    by_proxy: bool | None = None


class ReasonRead(BaseModel):
    rule_id: str
    region: str
    effective_from: dt.date
    reference: str
    message_zh: str
    message_en: str


class RequirementRead(BaseModel):
    kind: str
    value: str | int | list | None
    met: bool | None
    message_zh: str
    message_en: str


class AgencyBrief(BaseModel):
    region: str
    name: str
    address: str
    phone: str
    hours: str
    website: str


class ExplainRead(BaseModel):
    person_id: str
    date: dt.date
    action: str
    question_zh: str
    question_en: str
    allowed: bool
    max_amount_fen: int | None
    code: str | None
    limited_by: list[str]
    requirements: list[RequirementRead]
    reasons: list[ReasonRead]
    details: dict
    explanation_zh: str
    explanation_en: str
    answer_zh: str
    answer_en: str
    agency: AgencyBrief | None
    policy_set: dict


class PolicyItemRead(BaseModel):
    model_config = ConfigDict(extra="allow")  # a rule's question, conditions and figures; a parameter's value

    kind: str
    region: str
    name: str
    effective_from: dt.date
    version_from: dt.date
    loaded_at: dt.datetime | None
    description_zh: str
    description_en: str
    reference: str


class PolicyRead(BaseModel):
    region: str
    policy_region: str
    name_zh: str | None
    name_en: str | None
    date: dt.date
    policy_set: dict
    rules: list[PolicyItemRead]
    parameters: list[PolicyItemRead]


class PolicyChangeRead(BaseModel):
    status: Literal["added", "removed", "changed"]
    kind: str
    region: str
    name: str
    on: dt.date | None
    before: dict | None
    after: dict | None
