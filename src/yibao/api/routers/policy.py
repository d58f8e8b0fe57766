"""Policy: the rules in force, what changed between two days, the 12333 answer, and a person's notices."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.common import NoticeRead
from yibao.api.schemas.policy import ExplainCreate, ExplainRead, PolicyChangeRead, PolicyRead
from yibao.services.policy import explain, sets

router = APIRouter(tags=["policy"])


@router.get("/policies/{region}", response_model=PolicyRead)
def rules_in_force(ctx: Ctx, actor: CurrentActor, region: str, date: dt.date | None = None):
    return sets.rules_in_force(ctx, region=region, day=date)


@router.get("/policies/{region}/changes", response_model=list[PolicyChangeRead])
def changes(ctx: Ctx, actor: CurrentActor, region: str, date_from: Annotated[dt.date, Query(alias="from")],
            date_to: Annotated[dt.date, Query(alias="to")]):
    return [c.as_dict() for c in sets.changes(ctx, region=region, day_from=date_from, day_to=date_to)]


@router.post("/policy/explain", response_model=ExplainRead)
def explain_action(ctx: Ctx, actor: CurrentActor, body: ExplainCreate):
    fields = body.model_dump()
    return explain.explain(ctx, actor=actor, day=fields.pop("date"), **fields)


@router.get("/persons/{person_id}/notices", response_model=list[NoticeRead])
def notices(ctx: Ctx, actor: CurrentActor, person_id: str):
    return sets.notices_of(ctx, actor=actor, person_id=person_id)
