"""Settlements at designated institutions, refunds, and what an institution reconciles against."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.settlements import (
    RefundCreate,
    RefundRead,
    SettlementCreate,
    SettlementRead,
    SettlementSummaryRead,
)
from yibao.services.settlement import payments

router = APIRouter(tags=["settlement"])


@router.post("/settlements", status_code=201, response_model=SettlementRead)
def settle(ctx: Ctx, actor: CurrentActor, body: SettlementCreate):
    return payments.settle(ctx, actor=actor, **body.model_dump())


@router.post("/settlements/{settlement_id}/refund", response_model=RefundRead)
def refund(ctx: Ctx, actor: CurrentActor, settlement_id: str, body: RefundCreate):
    return payments.refund(ctx, actor=actor, settlement_id=settlement_id, **body.model_dump())


@router.get("/settlements/{settlement_id}", response_model=SettlementRead)
def get_settlement(ctx: Ctx, actor: CurrentActor, settlement_id: str):
    return payments.get_settlement(ctx, actor=actor, settlement_id=settlement_id)


@router.get("/institutions/{code}/settlements", response_model=list[SettlementRead])
def institution_settlements(ctx: Ctx, actor: CurrentActor, code: str, date: dt.date | None = None):
    return payments.institution_settlements(ctx, actor=actor, code=code, day=date)


@router.get("/institutions/{code}/settlements/summary", response_model=SettlementSummaryRead)
def daily_summary(ctx: Ctx, actor: CurrentActor, code: str, date: dt.date | None = None):
    return payments.daily_summary(ctx, actor=actor, code=code, day=date)


@router.get("/persons/{person_id}/settlements", response_model=list[SettlementRead])
def person_settlements(ctx: Ctx, actor: CurrentActor, person_id: str):
    return payments.person_settlements(ctx, actor=actor, person_id=person_id)
