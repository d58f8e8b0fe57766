"""The residents register feed (admin) and the counter's verification of a person's identity."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.registry import PersonRead, PersonVerify, ResidentsImport, ResidentsImportRead
from yibao.services import access
from yibao.services.registry import residents, verification

router = APIRouter(tags=["registry"])


@router.post("/registry/residents", response_model=ResidentsImportRead)
def import_residents(ctx: Ctx, actor: CurrentActor, body: ResidentsImport):
    rows = [(line, row.model_dump()) for line, row in enumerate(body.rows, start=1)]
    return ResidentsImportRead.of(residents.import_rows(ctx, actor=actor, rows=rows, source=body.source))


@router.post("/persons/{person_id}/verify", response_model=PersonRead)
def verify_person(ctx: Ctx, actor: CurrentActor, person_id: str, body: PersonVerify):
    person = verification.verify_at_counter(ctx, actor=actor, person_id=person_id, **body.model_dump())
    return PersonRead.of(person, owner=access.is_owner(actor, person_id))
