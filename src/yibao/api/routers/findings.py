"""Misuse findings (R26): listed for reviewers and auditors, decided by a reviewer, and the explicit freeze of a
person's account after a confirmed finding."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.accounts import FreezeRead
from yibao.api.schemas.findings import DispositionCreate, FindingFreezeCreate, FindingRead
from yibao.services.misuse import findings

router = APIRouter(tags=["misuse findings"])


@router.get("/findings", response_model=list[FindingRead])
def list_findings(ctx: Ctx, actor: CurrentActor, status: str | None = None, pattern: str | None = None):
    return [FindingRead.of(f) for f in findings.list_findings(ctx, actor=actor, status=status, pattern=pattern)]


@router.get("/findings/{finding_id}", response_model=FindingRead)
def get_finding(ctx: Ctx, actor: CurrentActor, finding_id: str):
    return FindingRead.of(findings.get_finding(ctx, actor=actor, finding_id=finding_id))


@router.post("/findings/{finding_id}/disposition", response_model=FindingRead)
def decide_finding(ctx: Ctx, actor: CurrentActor, finding_id: str, body: DispositionCreate):
    return FindingRead.of(findings.decide(ctx, actor=actor, finding_id=finding_id, action=body.action,
                                          note=body.note))


@router.post("/findings/{finding_id}/freeze", status_code=201, response_model=FreezeRead)
def freeze_after_finding(ctx: Ctx, actor: CurrentActor, finding_id: str, body: FindingFreezeCreate):
    return FreezeRead.of(findings.freeze_after_confirm(ctx, actor=actor, finding_id=finding_id, reason=body.reason))
