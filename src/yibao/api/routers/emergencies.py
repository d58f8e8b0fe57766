"""Settlements whose institution stated an emergency (急诊抢救): the list reviewers and auditors look at."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.settlements import SettlementRead
from yibao.services.settlement import payments

router = APIRouter(tags=["settlement"])


@router.get("/emergency-settlements", response_model=list[SettlementRead])
def emergency_settlements(ctx: Ctx, actor: CurrentActor, date_from: Annotated[dt.date, Query(alias="from")],
                          date_to: Annotated[dt.date, Query(alias="to")]):
    return payments.emergency_claims(ctx, actor=actor, from_day=date_from, to_day=date_to)
