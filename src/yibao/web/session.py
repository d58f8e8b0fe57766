"""The browser's session: the sign-in token in an HttpOnly, SameSite cookie, the actor behind it, the role a page
needs, safe redirect targets and one-time messages ("flashes") carried to the next page in a signed cookie."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from yibao.domain import errors
from yibao.domain.users import Actor, Role
from yibao.services.credentials import auth

COOKIE = "yibao_session"
FLASH_COOKIE = "yibao_flash"
_FLASH_MAX = 6


class SignInNeeded(Exception):
    """The page needs a signed-in user: the browser goes to /login and comes back after."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def secure_cookies(request: Request) -> bool:
    return request.app.state.ctx.settings.env == "prod"


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None = None,
               same_site: str = "lax") -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite=same_site, path="/",
                        secure=secure_cookies(request))


def optional_actor(request: Request) -> Actor | None:
    if hasattr(request.state, "actor"):
        return request.state.actor
    token = request.cookies.get(COOKIE)
    actor = None
    if token:
        try:
            actor = auth.authenticate(request.app.state.ctx, token)
        except errors.TokenInvalid:
            actor = None
    request.state.actor = actor
    return actor


def signed_in(request: Request) -> Actor:
    actor = optional_actor(request)
    if actor is None:
        raise SignInNeeded(same_site_path(request.url.path + ("?" + request.url.query if request.url.query else "")))
    return actor


def role(*roles: Role) -> Callable[[Request], Actor]:
    """A dependency: the signed-in actor when their role is one of `roles`; else the sign-in page or a refusal."""

    def dependency(request: Request) -> Actor:
        actor = signed_in(request)
        if actor.role not in roles:
            raise errors.AccessForbidden()
        return actor

    return dependency


def same_site_path(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site: a path, never a scheme or another host."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(c < " " for c in target):
        return default
    return target


def home_of(actor: Actor) -> str:
    """The page a role starts from after signing in."""
    from yibao.web.labels import CONSOLES

    if actor.role.value in CONSOLES:
        return CONSOLES[actor.role.value][0]
    return {Role.PERSON: "/me", Role.UNIT: "/unit"}.get(actor.role, "/")


def sign_in(request: Request, response: Response, token: str) -> None:
    ttl = request.app.state.ctx.settings.token_ttl_minutes * 60
    set_cookie(request, response, COOKIE, token, max_age=ttl)


def sign_out(request: Request, response: Response) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        auth.logout(request.app.state.ctx, token)
    response.delete_cookie(COOKIE, path="/")


# --- flashes ---------------------------------------------------------------------------------------------------


def _sign(request: Request, payload: bytes) -> str:
    key = request.app.state.ctx.settings.secret_key.encode()
    return hmac.new(key, b"flash|" + payload, hashlib.sha256).hexdigest()[:32]


def redirect(request: Request, to: str, *, flash: tuple[str, str] | None = None) -> RedirectResponse:
    """See the result on the next page (post, redirect, get), with an optional message: (kind, text)."""
    response = RedirectResponse(same_site_path(to), status_code=303)
    if flash is not None:
        kept = [*_read_flashes(request), list(flash)][-_FLASH_MAX:]
        payload = base64.urlsafe_b64encode(json.dumps(kept, ensure_ascii=False).encode()).decode()
        set_cookie(request, response, FLASH_COOKIE, f"{payload}.{_sign(request, payload.encode())}", same_site="strict")
    return response


def _read_flashes(request: Request) -> list[list[str]]:
    raw = request.cookies.get(FLASH_COOKIE, "")
    payload, _, signature = raw.rpartition(".")
    if not payload or not hmac.compare_digest(signature, _sign(request, payload.encode())):
        return []
    try:
        found = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return []
    return [f for f in found if isinstance(f, list) and len(f) == 2 and all(isinstance(x, str) for x in f)]


def take_flashes(request: Request) -> list[list[str]]:
    return _read_flashes(request)


def clear_flashes(request: Request, response: Response) -> None:
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
