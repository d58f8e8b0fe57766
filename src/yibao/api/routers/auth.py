"""Sign-in, self-registration and users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.auth import MeRead, RegisterCreate, RegisterRead, Step, TokenRead, UserCreate, UserRead
from yibao.services.credentials import auth
from yibao.services.registry import enrolment

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenRead,
             responses={429: {"description": "auth.too_many_attempts, with retry_after_seconds and Retry-After"}})
def token(ctx: Ctx, request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]):
    address = request.client.host if request.client else None
    return TokenRead(access_token=auth.login(ctx, username=username, password=password, address=address))


@router.get("/me", response_model=MeRead)
def me(actor: CurrentActor):
    return MeRead(username=actor.username, role=actor.role.value, person_id=actor.person_id,
                  employer_id=actor.employer_id, institution_code=actor.institution_code)


@router.post("/register", status_code=201, response_model=RegisterRead)
def register(ctx: Ctx, body: RegisterCreate):
    person, enrollment, user = enrolment.self_register(ctx, **body.model_dump())
    return RegisterRead(person_id=person.id, enrollment_id=enrollment.id, enrollment_status=enrollment.status,
                        username=user.username, next_steps=[Step(**s) for s in enrolment.NEXT_STEPS])


@router.post("/users", status_code=201, response_model=UserRead)
def add_user(ctx: Ctx, actor: CurrentActor, body: UserCreate):
    user = auth.add_user(ctx, actor=actor, **body.model_dump())
    return UserRead(user_id=user.id, username=user.username, role=user.role)
