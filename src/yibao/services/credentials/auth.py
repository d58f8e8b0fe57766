"""Users, password sign-in and bearer tokens (R7)."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time

from yibao.domain import errors
from yibao.domain.identity import id_number_of, validate_uscc
from yibao.domain.ids import new_id
from yibao.domain.registry import Employer, Institution, Person
from yibao.domain.users import PASSWORD_MIN_LENGTH, Actor, AuthToken, Role, User
from yibao.services import access
from yibao.services.context import Context, digest
from yibao.services.credentials.throttle import SignInThrottle


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
    access.ensure(actor, "user", "add")
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
        uow.conflict_means(errors.UsernameTaken())
        if uow.one_by(User, username=username):
            raise errors.UsernameTaken()
        if person_id and not uow.get(Person, person_id):
            raise errors.PersonNotFound()
        if employer_id and not uow.get(Employer, employer_id):
            raise errors.EmployerNotFound()
        if institution_code and not uow.get(Institution, institution_code):
            raise errors.InstitutionNotFound()
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


SIGN_IN = Actor.system("sign-in")  # who records a failed sign-in: nobody is proven yet
_RECORD_TRIES = 10
_ADDRESS_MARKS = frozenset(".:-_[]%")  # besides letters and digits, in IPv4, IPv6 and host names


def _bounded_name(username: str | None) -> str:
    return (username or "").strip()[:64]


def _bounded_address(address: str | None) -> str:
    """The client's address as the adapter saw it, bounded and reduced to the characters an address has."""
    kept = "".join(c if c.isascii() and (c.isalnum() or c in _ADDRESS_MARKS) else "?"
                   for c in (address or "unknown")[:64])
    return kept or "unknown"


class _ChainTaken(Exception):
    """A concurrent failure took the next place on the same audit chain."""


def _throttle(ctx: Context) -> SignInThrottle:
    return ctx.extras.setdefault("sign_in_throttle", SignInThrottle(ctx.settings))


def _record_failure(ctx: Context, *, username: str, address: str, reason: str) -> None:
    """Audit a failed sign-in on the user's record, or for a name no user has under the name's digest; never
    the password, nor a name typed that matches no user (it may be a password typed in the wrong field)."""
    name_digest = digest(username.casefold())
    for attempt in range(_RECORD_TRIES):
        try:
            with ctx.uow() as uow:
                uow.conflict_means(_ChainTaken())
                found = uow.one_by(User, username=username) if username else None
                # the user's row locked: parallel failures append to its chain one after another
                user = uow.get(User, found.id, for_update=True) if found else None
                entity, entity_id = ("user", user.id) if user else ("sign_in", name_digest[:32])
                ctx.audit(uow, SIGN_IN, "auth.sign_in_failed", entity, entity_id, reason=reason, address=address,
                          username_digest=name_digest)
                uow.commit()
                return
        except _ChainTaken:  # another failure took the chain's next place first: take the one after
            if attempt == _RECORD_TRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))


def login(ctx: Context, *, username: str, password: str, address: str | None = None) -> str:
    """Check a password and issue a bearer token (only its digest is stored). Failures are counted per user
    name and per client address; past the limit every sign-in, a right one too, waits (auth.too_many_attempts)."""
    username, address = _bounded_name(username), _bounded_address(address)
    throttle, user_key = _throttle(ctx), username.casefold()
    wait = throttle.reserve(user_key=user_key, address=address)
    if wait is not None:
        _record_failure(ctx, username=username, address=address, reason="too_many_attempts")
        raise errors.TooManyAttempts(retry_after_seconds=wait)
    token, reason = _try_password(ctx, username, password)
    if token is not None:
        throttle.succeeded(user_key=user_key, address=address)
        return token
    _record_failure(ctx, username=username, address=address, reason=reason)
    raise errors.BadCredentials()


def _try_password(ctx: Context, username: str, password: str) -> tuple[str | None, str]:
    """A new token for the user when the password is theirs, else None and why not."""
    with ctx.uow() as uow:
        user = uow.one_by(User, username=username) if username else None
        # Verify against a hash even for unknown users so timing does not reveal them.
        hashed = user.password_hash if user else ctx.extras.setdefault("dummy_hash", ctx.hash_secret("-"))
        if not (ctx.verify_secret(hashed, password or "") and user is not None and user.active):
            return None, "unknown_user" if user is None else "wrong_password" if user.active else "inactive"
        token = secrets.token_urlsafe(32)
        now = ctx.now()
        uow.add(AuthToken(digest=digest(token), user_id=user.id, issued_at=now,
                          expires_at=now + dt.timedelta(minutes=ctx.settings.token_ttl_minutes)))
        uow.commit()
        return token, ""


def authenticate(ctx: Context, token: str) -> Actor:
    """The actor behind a bearer token (one statement: every API request asks)."""
    with ctx.unit_of_work() as uow:  # no policy look-up: the token is all this read needs
        found = uow.tokens.bearer(digest(token))
    if found is None:
        raise errors.TokenInvalid()
    expires_at, active, actor = found
    if expires_at <= ctx.now() or not active:
        raise errors.TokenInvalid()
    return actor


def actor_of(user: User) -> Actor:
    return Actor(username=user.username, role=Role(user.role), user_id=user.id, person_id=user.person_id,
                 employer_id=user.employer_id, institution_code=user.institution_code)


def logout(ctx: Context, token: str) -> None:
    """Revoke a bearer token: it is refused from now on (revoking it again changes nothing)."""
    with ctx.uow() as uow:
        row = uow.get(AuthToken, digest(token))
        if row is not None:
            user = uow.get(User, row.user_id)
            uow.tokens.remove(row)
            ctx.audit(uow, actor_of(user), "auth.sign_out", "user", user.id)
            uow.commit()


def change_password(ctx: Context, *, actor: Actor, token: str, current_password: str, new_password: str,
                    address: str | None = None) -> int:
    """A user changes their own password with the current one; every other session of theirs is signed out.
    A wrong current password counts as a failed sign-in. Returns how many other sessions were ended."""
    access.ensure(actor, "password", "change")
    if len(new_password or "") < PASSWORD_MIN_LENGTH:
        raise errors.PasswordTooWeak(min_length=PASSWORD_MIN_LENGTH)
    address, throttle, user_key = _bounded_address(address), _throttle(ctx), actor.username.casefold()
    wait = throttle.reserve(user_key=user_key, address=address)
    if wait is not None:
        _record_failure(ctx, username=actor.username, address=address, reason="too_many_attempts")
        raise errors.TooManyAttempts(retry_after_seconds=wait)
    with ctx.uow() as uow:
        user = uow.get(User, actor.user_id, for_update=True)
        if user is not None and ctx.verify_secret(user.password_hash, current_password or ""):
            user.password_hash = ctx.hash_secret(new_password)
            ended = uow.tokens.end_sessions(user.id, keep=digest(token))
            ctx.audit(uow, actor, "user.change_password", "user", user.id, other_sessions_ended=ended,
                      address=address)
            uow.commit()
            throttle.succeeded(user_key=user_key, address=address)
            return ended
    _record_failure(ctx, username=actor.username, address=address, reason="wrong_current_password")
    raise errors.CurrentPasswordWrong()


def set_password(ctx: Context, *, actor: Actor, username: str, new_password: str) -> int:
    """An admin gives a user a new password (a forgotten one); every session of the user ends. Returns how many."""
    access.ensure(actor, "password", "set")
    if len(new_password or "") < PASSWORD_MIN_LENGTH:
        raise errors.PasswordTooWeak(min_length=PASSWORD_MIN_LENGTH)
    with ctx.uow() as uow:
        user = uow.one_by(User, username=_bounded_name(username))
        if user is None:
            raise errors.UserNotFound()
        user.password_hash = ctx.hash_secret(new_password)
        ended = uow.tokens.end_sessions(user.id)
        ctx.audit(uow, actor, "user.set_password", "user", user.id, sessions_ended=ended)
        uow.commit()
    _throttle(ctx).clear(user_key=user.username.casefold())
    return ended


def list_users(ctx: Context, *, actor: Actor) -> list[User]:
    """Every user by name, active or not, with their role and the record it acts for (the admin's list)."""
    access.ensure(actor, "user", "list")
    with ctx.uow() as uow:
        return uow.all_by(User, "username")


def deactivate_user(ctx: Context, *, actor: Actor, username: str) -> int:
    """An admin stops a user's sign-in for good; every session of theirs ends. An admin cannot stop themselves.
    Returns how many sessions were ended."""
    access.ensure(actor, "user", "deactivate")
    with ctx.uow() as uow:
        user = uow.one_by(User, username=_bounded_name(username))
        if user is None:
            raise errors.UserNotFound()
        if user.id == actor.user_id:
            raise errors.RequestInvalid(summary="an administrator cannot deactivate their own user")
        if not user.active:
            raise errors.UserInactive()
        user = uow.get(User, user.id, for_update=True)
        user.active = False
        ended = uow.tokens.end_sessions(user.id)
        ctx.audit(uow, actor, "user.deactivate", "user", user.id, sessions_ended=ended)
        uow.commit()
    return ended


def add_user_linked(ctx: Context, *, actor: Actor, username: str, password: str, role: str, link: str = "") -> User:
    """Create a user from what an admin has at hand: for an insured person their ID card number, for a unit its
    unified social credit code, for a cashier the institution's code (other roles link to nothing)."""
    access.ensure(actor, "user", "add")
    link = (link or "").strip()
    needs = {Role.PERSON.value: "person", Role.UNIT.value: "unit", Role.INSTITUTION.value: "institution"}
    kind = needs.get(role)
    if kind is None or not link:
        return add_user(ctx, actor=actor, username=username, password=password, role=role)
    if kind == "institution":
        return add_user(ctx, actor=actor, username=username, password=password, role=role, institution_code=link)
    with ctx.uow() as uow:
        if kind == "person":
            found = uow.one_by(Person, id_number=id_number_of(link))
            missing, links = errors.PersonNotFound(), {"person_id": found.id if found else None}
        else:
            found = uow.one_by(Employer, uscc=validate_uscc(link))
            missing, links = errors.EmployerNotFound(), {"employer_id": found.id if found else None}
    if found is None:
        raise missing
    return add_user(ctx, actor=actor, username=username, password=password, role=role, **links)
