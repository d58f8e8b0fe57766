"""Cross-site request forgery: every form carries a token that only a page of this site could have given.

A random seed lives in an HttpOnly, SameSite=Strict cookie; the form's token is an HMAC of that seed and the
session cookie under the server's secret (a signed double-submit token, bound to the session). A POST whose
token does not match is refused before anything is read or written."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response

from yibao.domain import errors
from yibao.web import session

COOKIE = "yibao_csrf"
FIELD = "csrf_token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class FormExpired(errors.Forbidden):
    code = "web.form_expired"
    message_zh = "表单已失效或不是从本网站提交的，请刷新页面后重试"
    message_en = "The form has expired or was not sent from this site; reload the page and try again"


def _seed(request: Request) -> str:
    seed = getattr(request.state, "csrf_seed", None)
    if seed is None:
        seed = request.cookies.get(COOKIE) or ""
        if len(seed) != 43:  # token_urlsafe(32)
            seed = secrets.token_urlsafe(32)
            request.state.csrf_new = True
        request.state.csrf_seed = seed
    return seed


def _token(request: Request, seed: str) -> str:
    key = request.app.state.ctx.settings.secret_key.encode()
    bound = f"csrf|{seed}|{request.cookies.get(session.COOKIE, '')}".encode()
    return hmac.new(key, bound, hashlib.sha256).hexdigest()


def token_for(request: Request) -> str:
    return _token(request, _seed(request))


def keep_cookie(request: Request, response: Response) -> None:
    if getattr(request.state, "csrf_new", False):
        session.set_cookie(request, response, COOKIE, request.state.csrf_seed, same_site="strict")


async def guard(request: Request) -> None:
    """A router dependency: on every unsafe method, the form's token must match the cookies'."""
    if request.method in SAFE:
        return
    seed = request.cookies.get(COOKIE)
    form = await request.form()
    given = form.get(FIELD)
    if not seed or not isinstance(given, str) or not hmac.compare_digest(given, _token(request, seed)):
        raise FormExpired()
