"""Persons, employers, enrolments, institutions and agencies."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.registry import (
    AgencyRead,
    EmployerCreate,
    EmployerRead,
    EmployerUpdate,
    EnrollmentCreate,
    EnrollmentEnd,
    EnrollmentRead,
    InstitutionCreate,
    InstitutionRead,
    PersonCreate,
    PersonId,
    PersonLookup,
    PersonRead,
    PersonUpdate,
    VersionRead,
)
from yibao.domain.masking import mask_id_number, mask_phone, mask_username
from yibao.services import access
from yibao.services.registry import enrolment, institutions

router = APIRouter(tags=["registry"])


def _versions(rows, *, owner: bool) -> list[VersionRead]:
    def masked(data: dict) -> dict:
        data = dict(data)
        if not owner:
            if data.get("id_number"):
                data["id_number"] = mask_id_number(data["id_number"])
            for key in ("phone", "contact_phone"):
                if data.get(key):
                    data[key] = mask_phone(data[key])
        return data

    # The actor may be a self-registered person whose user name is their phone number.
    return [VersionRead(valid_from=v.valid_from, valid_to=v.valid_to, actor=mask_username(v.actor),
                        data=masked(v.data)) for v in rows]


@router.post("/employers", status_code=201, response_model=EmployerRead)
def add_employer(ctx: Ctx, actor: CurrentActor, body: EmployerCreate):
    return EmployerRead.of(enrolment.register_employer(ctx, actor=actor, **body.model_dump()))


@router.get("/employers/{employer_id}", response_model=EmployerRead)
def get_employer(ctx: Ctx, actor: CurrentActor, employer_id: str):
    return EmployerRead.of(enrolment.get_employer(ctx, actor=actor, employer_id=employer_id))


@router.patch("/employers/{employer_id}", response_model=EmployerRead)
def update_employer(ctx: Ctx, actor: CurrentActor, employer_id: str, body: EmployerUpdate):
    return EmployerRead.of(enrolment.update_employer(ctx, actor=actor, employer_id=employer_id,
                                                     **body.model_dump(exclude_unset=True)))


@router.get("/employers/{employer_id}/history", response_model=list[VersionRead])
def employer_history(ctx: Ctx, actor: CurrentActor, employer_id: str):
    return _versions(enrolment.history(ctx, actor=actor, entity="employer", entity_id=employer_id), owner=False)


@router.post("/persons", status_code=201, response_model=PersonId)
def add_person(ctx: Ctx, actor: CurrentActor, body: PersonCreate):
    return PersonId(person_id=enrolment.register_person(ctx, actor=actor, **body.model_dump()).id)


@router.post("/persons/lookup", response_model=PersonId)
def lookup_person(ctx: Ctx, actor: CurrentActor, body: PersonLookup):
    return PersonId(person_id=enrolment.lookup_person(ctx, actor=actor, id_number=body.id_number,
                                                      name=body.name).id)


@router.get("/persons/{person_id}", response_model=PersonRead)
def get_person(ctx: Ctx, actor: CurrentActor, person_id: str):
    person = enrolment.get_person(ctx, actor=actor, person_id=person_id)
    if access.basics_only(actor):
        return PersonRead.basics(person)
    return PersonRead.of(person, owner=access.is_owner(actor, person_id))


@router.patch("/persons/{person_id}", response_model=PersonRead)
def update_person(ctx: Ctx, actor: CurrentActor, person_id: str, body: PersonUpdate):
    person = enrolment.update_person(ctx, actor=actor, person_id=person_id, **body.model_dump(exclude_unset=True))
    return PersonRead.of(person, owner=access.is_owner(actor, person_id))


@router.get("/persons/{person_id}/history", response_model=list[VersionRead])
def person_history(ctx: Ctx, actor: CurrentActor, person_id: str):
    rows = enrolment.history(ctx, actor=actor, entity="person", entity_id=person_id)
    return _versions(rows, owner=access.is_owner(actor, person_id))


@router.get("/persons/{person_id}/enrollments", response_model=list[EnrollmentRead])
def list_enrollments(ctx: Ctx, actor: CurrentActor, person_id: str):
    return [EnrollmentRead.of(e) for e in enrolment.list_enrollments(ctx, actor=actor, person_id=person_id)]


@router.post("/enrollments", status_code=201, response_model=EnrollmentRead)
def add_enrollment(ctx: Ctx, actor: CurrentActor, body: EnrollmentCreate):
    return EnrollmentRead.of(enrolment.enroll(ctx, actor=actor, **body.model_dump()))


@router.post("/enrollments/{enrollment_id}/approve", response_model=EnrollmentRead)
def approve_enrollment(ctx: Ctx, actor: CurrentActor, enrollment_id: str):
    return EnrollmentRead.of(enrolment.approve_enrollment(ctx, actor=actor, enrollment_id=enrollment_id))


@router.post("/enrollments/{enrollment_id}/end", response_model=EnrollmentRead)
def end_enrollment(ctx: Ctx, actor: CurrentActor, enrollment_id: str, body: EnrollmentEnd):
    return EnrollmentRead.of(enrolment.end_enrollment(ctx, actor=actor, enrollment_id=enrollment_id,
                                                      end_date=body.end_date, reason=body.reason))


@router.post("/institutions", status_code=201, response_model=InstitutionRead)
def add_institution(ctx: Ctx, actor: CurrentActor, body: InstitutionCreate):
    return InstitutionRead.of(institutions.add_institution(ctx, actor=actor, **body.model_dump()), ctx.today())


@router.get("/institutions", response_model=list[InstitutionRead])
def list_institutions(ctx: Ctx, actor: CurrentActor, region: str | None = None):
    today = ctx.today()
    return [InstitutionRead.of(i, today) for i in institutions.list_institutions(ctx, actor=actor, region=region)]


@router.get("/institutions/{code}", response_model=InstitutionRead)
def get_institution(ctx: Ctx, actor: CurrentActor, code: str):
    return InstitutionRead.of(institutions.get_institution(ctx, actor=actor, code=code), ctx.today())


@router.get("/agencies", response_model=list[AgencyRead])
def find_agency(ctx: Ctx, actor: CurrentActor, region: str):
    return [AgencyRead.of(institutions.find_agency(ctx, region=region))]
