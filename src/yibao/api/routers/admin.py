"""The test-mode clock (only mounted when YIBAO_ENV=test)."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.admin import ClockRead, ClockSet
from yibao.services import access

router = APIRouter(tags=["admin"])


@router.post("/admin/clock", response_model=ClockRead)
def set_clock(ctx: Ctx, actor: CurrentActor, body: ClockSet):
    access.ensure(actor, "clock", "set")
    ctx.clock.set(body.now)
    return ClockRead(now=ctx.now(), today=ctx.today())


@router.get("/admin/clock", response_model=ClockRead)
def get_clock(ctx: Ctx, actor: CurrentActor):
    access.ensure(actor, "clock", "read")
    return ClockRead(now=ctx.now(), today=ctx.today())
