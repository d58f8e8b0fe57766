"""Signing in and registering: tokens, users, self-registration."""

from __future__ import annotations

from pydantic import BaseModel, Field

from yibao.api.schemas.common import Body
from yibao.domain.users import Role


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"


class MeRead(BaseModel):
    username: str
    role: str
    person_id: str | None = None
    employer_id: str | None = None
    institution_code: str | None = None


class UserCreate(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str
    role: Role
    person_id: str | None = None
    employer_id: str | None = None
    institution_code: str | None = None


class UserRead(BaseModel):
    user_id: str
    username: str
    role: str


class RegisterCreate(Body):
    id_number: str
    name: str
    phone: str
    region: str
    password: str
    username: str | None = Field(default=None, max_length=64)


class Step(BaseModel):
    step: str
    zh: str
    en: str


class RegisterRead(BaseModel):
    person_id: str
    enrollment_id: str
    enrollment_status: str
    username: str
    next_steps: list[Step]
