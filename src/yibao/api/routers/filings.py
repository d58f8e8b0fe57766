"""Cross-region filings and family grants."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.common import RuleRead
from yibao.api.schemas.filings import FilingCreate, FilingRead, GrantCreate, GrantRead
from yibao.services.crossregion import family, filings

router = APIRouter(tags=["cross-region filings and family grants"])


def _with_rules(model, found, rules: list[dict]):
    return model.model_validate(found).model_copy(update={"rules": [RuleRead.model_validate(r) for r in rules]})


@router.post("/filings", status_code=201, response_model=FilingRead)
def create_filing(ctx: Ctx, actor: CurrentActor, body: FilingCreate):
    filing, rules = filings.file(ctx, actor=actor, **body.model_dump())
    return _with_rules(FilingRead, filing, rules)


@router.post("/filings/{filing_id}/cancel", response_model=FilingRead)
def cancel_filing(ctx: Ctx, actor: CurrentActor, filing_id: str):
    return FilingRead.model_validate(filings.cancel(ctx, actor=actor, filing_id=filing_id))


@router.get("/persons/{person_id}/filings", response_model=list[FilingRead])
def list_filings(ctx: Ctx, actor: CurrentActor, person_id: str):
    return [FilingRead.model_validate(f) for f in filings.list_filings(ctx, actor=actor, person_id=person_id)]


@router.post("/family-grants", status_code=201, response_model=GrantRead)
def create_grant(ctx: Ctx, actor: CurrentActor, body: GrantCreate):
    found, rules = family.grant(ctx, actor=actor, **body.model_dump())
    return _with_rules(GrantRead, found, rules)


@router.post("/family-grants/{grant_id}/accept", response_model=GrantRead)
def accept_grant(ctx: Ctx, actor: CurrentActor, grant_id: str):
    found, rules = family.accept(ctx, actor=actor, grant_id=grant_id)
    return _with_rules(GrantRead, found, rules)


@router.post("/family-grants/{grant_id}/decline", response_model=GrantRead)
def decline_grant(ctx: Ctx, actor: CurrentActor, grant_id: str):
    return GrantRead.model_validate(family.decline(ctx, actor=actor, grant_id=grant_id))


@router.delete("/family-grants/{grant_id}", response_model=GrantRead)
def revoke_grant(ctx: Ctx, actor: CurrentActor, grant_id: str):
    return GrantRead.model_validate(family.revoke(ctx, actor=actor, grant_id=grant_id))


@router.get("/persons/{person_id}/family-grants", response_model=list[GrantRead])
def list_grants(ctx: Ctx, actor: CurrentActor, person_id: str):
    return [GrantRead.model_validate(g) for g in family.list_grants(ctx, actor=actor, person_id=person_id)]
