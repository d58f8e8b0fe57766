"""Corrections: an admin asks for a reversal, a second admin approves or rejects it."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.accounts import EntryRead, EntryReverse, ReversalDecision, ReversalPending, ReversalRead
from yibao.services.accounts import corrections

router = APIRouter(tags=["contributions and accounts"])


@router.post("/entries/{entry_id}/reverse", status_code=202, response_model=ReversalPending)
def request_reversal(ctx: Ctx, actor: CurrentActor, entry_id: str, body: EntryReverse):
    """Ask for a reversal; it is posted only when a different admin approves it."""
    return corrections.request_reversal(ctx, actor=actor, entry_id=entry_id, reason=body.reason)


@router.get("/reversals", response_model=list[ReversalRead])
def list_reversals(ctx: Ctx, actor: CurrentActor, status: str | None = "pending"):
    return corrections.list_reversals(ctx, actor=actor, status=status)


@router.post("/reversals/{reversal_id}/approve", status_code=201, response_model=EntryRead)
def approve_reversal(ctx: Ctx, actor: CurrentActor, reversal_id: str, body: ReversalDecision | None = None):
    entry = corrections.approve_reversal(ctx, actor=actor, reversal_id=reversal_id, note=body.note if body else "")
    return EntryRead(entry_id=entry.id, kind=entry.kind, at=entry.at, business_date=entry.business_date,
                     reverses_id=entry.reverses_id,
                     postings=[{"account_id": p.account_id, "amount_fen": p.amount_fen, "bucket": p.bucket}
                               for p in entry.postings])


@router.post("/reversals/{reversal_id}/reject", response_model=ReversalRead)
def reject_reversal(ctx: Ctx, actor: CurrentActor, reversal_id: str, body: ReversalDecision):
    return corrections.reject_reversal(ctx, actor=actor, reversal_id=reversal_id, note=body.note)
