"""Life events (death, emigration) and account freezes, recorded and lifted by agency staff."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.accounts import FreezeCreate, FreezeRead
from yibao.api.schemas.registry import LifeEventCreate, LifeEventDetailRead, LifeEventRead
from yibao.services.accounts import freezes
from yibao.services.registry import life_events

router = APIRouter(tags=["life events and freezes"])


@router.post("/persons/{person_id}/life-events", status_code=201, response_model=LifeEventRead)
def record_life_event(ctx: Ctx, actor: CurrentActor, person_id: str, body: LifeEventCreate):
    event = life_events.record_event(ctx, actor=actor, person_id=person_id, kind=body.kind, date=body.date,
                                     document_ids=body.document_ids)
    return LifeEventRead.of(event)


@router.get("/persons/{person_id}/life-events", response_model=list[LifeEventDetailRead])
def list_life_events(ctx: Ctx, actor: CurrentActor, person_id: str):
    return [LifeEventDetailRead.with_settlements(found["event"], found["late_settlements"])
            for found in life_events.list_events(ctx, actor=actor, person_id=person_id)]


@router.post("/persons/{person_id}/freeze", status_code=201, response_model=FreezeRead)
def freeze_account(ctx: Ctx, actor: CurrentActor, person_id: str, body: FreezeCreate):
    return FreezeRead.of(freezes.freeze_person(ctx, actor=actor, person_id=person_id, reason=body.reason))


@router.post("/persons/{person_id}/unfreeze", response_model=FreezeRead)
def unfreeze_account(ctx: Ctx, actor: CurrentActor, person_id: str, body: FreezeCreate | None = None):
    reason = body.reason if body else ""
    return FreezeRead.of(freezes.unfreeze_person(ctx, actor=actor, person_id=person_id, reason=reason))


@router.get("/persons/{person_id}/freezes", response_model=list[FreezeRead])
def list_freezes(ctx: Ctx, actor: CurrentActor, person_id: str):
    return [FreezeRead.of(f) for f in freezes.list_freezes(ctx, actor=actor, person_id=person_id)]
