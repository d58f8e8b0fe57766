"""Rendering a page: one Jinja2 environment per locale with its catalog installed, the Babel formats as filters,
and what every page shows (who is signed in, the menu of their role, the language switch, flashed messages)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from yibao.domain import errors
from yibao.web import csrf, i18n, labels, session

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _label(term: Any, locale: str) -> str:
    """A vocabulary term (a StrEnum with zh/en) or a domain error, in the page's language."""
    if term is None:
        return "—"
    if isinstance(term, errors.DomainError):
        return term.zh if locale == "zh_CN" else term.en
    zh, en = getattr(term, "zh", None), getattr(term, "en", None)
    if zh is None or en is None:
        return str(term)
    return zh if locale == "zh_CN" else en


@cache
def environment(locale: str) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             extensions=["jinja2.ext.i18n"], undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)
    env.filters["money"] = lambda fen: i18n.money(fen, locale)
    env.filters["day"] = lambda value: i18n.day(value, locale)
    env.filters["moment"] = lambda value: i18n.moment(value, locale)
    env.filters["label"] = lambda term: _label(term, locale)
    env.globals["locale"] = locale
    env.globals["html_lang"] = i18n.HTML_LANG[locale]
    env.globals["consoles"] = labels.CONSOLES
    return env


def locale_of(request: Request) -> str:
    cached = getattr(request.state, "locale", None)
    if cached is None:
        cached = i18n.choose(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE),
                             request.headers.get("accept-language"))
        request.state.locale = cached
    return cached


def gettext(request: Request):
    """The page's `_()`: a message of the catalog in the request's language (extracted like the templates')."""
    locale = locale_of(request)
    return lambda message, **values: i18n.gettext(locale, message, **values)


def error_text(request: Request, exc: errors.DomainError) -> str:
    return _label(exc, locale_of(request))


def _switch_url(request: Request, to: str) -> str:
    return "/lang?" + urlencode({"to": to, "next": session.same_site_path(str(request.url.path) + (
        "?" + request.url.query if request.url.query else ""))})


def page(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    locale = locale_of(request)
    actor = session.optional_actor(request)
    other = "en" if locale == "zh_CN" else "zh_CN"
    token = csrf.token_for(request)
    body = environment(locale).get_template(template).render(
        request=request, actor=actor, csrf_token=token, flashes=session.take_flashes(request),
        switch_to=other, switch_url=_switch_url(request, other), switch_name=i18n.language_name(other),
        path=request.url.path, **values)
    response = HTMLResponse(body, status_code=status_code)
    csrf.keep_cookie(request, response)
    session.clear_flashes(request, response)
    return response
