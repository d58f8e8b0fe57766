"""Contributions as collected (征缴到账): a payment, a declaration, the collector's confirmation, arrears."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.accounts import (
    ArrearsPage,
    ContributionCreate,
    ContributionRead,
    DeclarationConfirmed,
    DeclarationRead,
)
from yibao.services.accounts import collection

router = APIRouter(tags=["contributions and accounts"])


@router.post("/contributions", status_code=201, response_model=ContributionRead | DeclarationRead,
             responses={202: {"model": DeclarationRead,
                              "description": "declared by a unit or a flexible worker: pending, nothing credited "
                                             "until the collector confirms the payment"}})
def pay_contribution(ctx: Ctx, actor: CurrentActor, body: ContributionCreate, response: Response):
    """The collector or an administrator credits at once (201); a unit or a flexible worker declares (202)."""
    collected, answer = collection.submit(ctx, actor=actor, **body.model_dump())
    if not collected:
        response.status_code = 202
    return answer


@router.post("/contributions/{declaration_id}/confirm", response_model=DeclarationConfirmed)
def confirm_declaration(ctx: Ctx, actor: CurrentActor, declaration_id: str):
    """The collector confirms the payment: the month credits by the period's rule, once however often confirmed."""
    return collection.confirm(ctx, actor=actor, declaration_id=declaration_id)


@router.get("/contributions/arrears", response_model=ArrearsPage)
def list_arrears(ctx: Ctx, actor: CurrentActor,
                 employer_id: Annotated[str | None, Query(max_length=24)] = None,
                 person_id: Annotated[str | None, Query(max_length=24)] = None):
    """Declarations never collected whose month is over (欠费)."""
    items = collection.arrears(ctx, actor=actor, employer_id=employer_id, person_id=person_id)
    return {"items": items, "total_base_fen": sum(x["base_fen"] for x in items)}
