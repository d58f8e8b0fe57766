"""Users, password sign-in and bearer tokens (R7)."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa

from yibao.domain import errors
from yibao.domain.ids import new_id
from yibao.domain.registry import Employer, Institution, Person
from yibao.domain.users import PASSWORD_MIN_LENGTH, Actor, AuthToken, Role, User
from yibao.services import access
from yibao.services.context import Context, digest
from yibao.store.tables import auth_tokens, users


def add_user(
    ctx: Context,
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    person_id: str | None = None,
    employer_id: str | None = None,
    institution_code: str | None = None,
) -> User:
    """Create a user with a role and the record that role acts for."""
    access.require(actor, Role.ADMIN)
    try:
        role_ = Role(role)
    except ValueError:
        raise errors.RequestInvalid(summary=f"role must be one of {', '.join(r.value for r in Role)}") from None
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise errors.RequestInvalid(summary="username must be 1 to 64 characters")
    if len(password or "") < PASSWORD_MIN_LENGTH:
        raise errors.PasswordTooWeak(min_length=PASSWORD_MIN_LENGTH)
    User.check_links(role_, person_id=person_id, employer_id=employer_id, institution_code=institution_code)
    with ctx.uow() as uow:
        uow.conflict_means(errors.UsernameTaken(username=username))
        if uow.one_by(User, username=username):
            raise errors.UsernameTaken(username=username)
        if person_id and not uow.get(Person, person_id):
            raise errors.PersonNotFound()
        if employer_id and not uow.get(Employer, employer_id):
            raise errors.EmployerNotFound()
        if institution_code and not uow.get(Institution, institution_code):
            raise errors.InstitutionNotFound(code_=institution_code)
        user = User(
            id=new_id("usr"), username=username, password_hash=ctx.hash_secret(password), role=role_.value,
            created_at=ctx.now(),
            person_id=person_id if role_ == Role.PERSON else None,
            employer_id=employer_id if role_ == Role.UNIT else None,
            institution_code=institution_code if role_ == Role.INSTITUTION else None,
        )
        uow.add(user)
        ctx.audit(uow, actor, "user.add", "user", user.id, username=username, role=role_.value)
        uow.commit()
        return user


def login(ctx: Context, *, username: str, password: str) -> str:
    """Check a password and issue a bearer token (only its digest is stored)."""
    with ctx.uow() as uow:
        user = uow.one_by(User, username=username)
        # Verify against a hash even for unknown users so timing does not reveal them.
        hashed = user.password_hash if user else ctx.extras.setdefault("dummy_hash", ctx.hash_secret("-"))
        if not ctx.verify_secret(hashed, password) or user is None or not user.active:
            raise errors.BadCredentials()
        token = secrets.token_urlsafe(32)
        now = ctx.now()
        uow.add(AuthToken(digest=digest(token), user_id=user.id, issued_at=now,
                          expires_at=now + dt.timedelta(minutes=ctx.settings.token_ttl_minutes)))
        uow.commit()
        return token


_TOKEN_USER = (sa.select(auth_tokens.c.expires_at, users.c.active, users.c.username, users.c.role, users.c.id,
                         users.c.person_id, users.c.employer_id, users.c.institution_code)
               .join_from(auth_tokens, users, users.c.id == auth_tokens.c.user_id)
               .where(auth_tokens.c.digest == sa.bindparam("digest", type_=sa.String)))


def authenticate(ctx: Context, token: str) -> Actor:
    """The actor behind a bearer token (one statement: every API request asks)."""
    with ctx.read() as conn:
        row = conn.execute(_TOKEN_USER, {"digest": digest(token)}).first()
    if row is None or row.expires_at <= ctx.now() or not row.active:
        raise errors.TokenInvalid()
    return Actor(username=row.username, role=Role(row.role), user_id=row.id, person_id=row.person_id,
                 employer_id=row.employer_id, institution_code=row.institution_code)


def actor_of(user: User) -> Actor:
    return Actor(username=user.username, role=Role(user.role), user_id=user.id, person_id=user.person_id,
                 employer_id=user.employer_id, institution_code=user.institution_code)


def logout(ctx: Context, token: str) -> None:
    """Revoke a bearer token."""
    with ctx.uow() as uow:
        row = uow.get(AuthToken, digest(token))
        if row is not None:
            uow.session.delete(row)
            uow.commit()
