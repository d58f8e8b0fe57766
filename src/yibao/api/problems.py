"""RFC 9457 problem+json for domain errors, request validation, a database out of reach and everything unexpected.

No problem and no log line repeats a value of the request: a validation error names the field and what is wrong
with it, never the value given (nor a key of the body that is not a plain field name); logs name the route's
template, not the path with its values.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.api.access_log import MASK, shown_path
from yibao.domain import errors

log = logging.getLogger("yibao.api")

RESERVED = {"type", "title", "status", "detail", "code", "message_zh", "message_en", "instance"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def problem(status: int, code: str, message_zh: str, message_en: str, /, **facts: Any) -> JSONResponse:
    # Positional-only, so a fact named like a parameter (a card's `status`) cannot collide with it.
    body = {
        "type": f"urn:yibao:problem:{code}",
        "title": message_en,
        "status": status,
        "detail": message_zh,
        "code": code,
        "message_zh": message_zh,
        "message_en": message_en,
    }
    body.update({k: _jsonable(v) for k, v in facts.items() if k not in RESERVED})
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def from_domain(exc: errors.DomainError) -> JSONResponse:
    response = problem(exc.status, exc.code, exc.zh, exc.en, **exc.facts)
    if "retry_after_seconds" in exc.facts:  # 429: when to try again, for clients that read the header
        response.headers["Retry-After"] = str(exc.facts["retry_after_seconds"])
    return response


_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
_SOURCES = ("body", "query", "path", "form", "header", "cookie")


def _field(loc: tuple) -> str:
    """Where the error is: field names and positions; a key that is no plain field name is masked."""
    parts = [p for p in loc if p not in _SOURCES]
    return ".".join(str(p) if isinstance(p, int) or _FIELD_NAME.match(str(p)) else MASK for p in parts) or "body"


def _given(value: Any, depth: int = 0):
    """The plain values in what was given for a field (a tag inside an object, an item of a list)."""
    if isinstance(value, dict) and depth < 3:
        for key, inner in list(value.items())[:50]:
            yield str(key)
            yield from _given(inner, depth + 1)
    elif isinstance(value, list | tuple) and depth < 3:
        for inner in value[:50]:
            yield from _given(inner, depth + 1)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


def _what_is_wrong(error: dict) -> str:
    """The validation message, unless it repeats a value given (a discriminator's tag, a validator's words)."""
    text = str(error.get("msg", ""))
    if any(len(v) >= 3 and v in text for v in _given(error.get("input"))):
        return "the value given is not valid here"
    return text


def _outage_answer(request: Request) -> JSONResponse:
    ctx = getattr(request.app.state, "ctx", None)
    seconds = ctx.settings.outage_retry_after_seconds if ctx is not None else 30
    return from_domain(errors.ServiceUnavailable(retry_after_seconds=seconds))


def _lost_race(exc: Exception) -> bool:
    """A transaction the database rolled back to resolve a conflict (SQLSTATE class 40: serialization, deadlock)."""
    return str(getattr(getattr(exc, "orig", None), "sqlstate", "") or "").startswith("40")


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(_request: Request, exc: errors.DomainError):
        return from_domain(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        # Never echo the input back: it may hold an ID number or a PIN.
        details = [{"field": _field(e["loc"]), "problem": _what_is_wrong(e), "kind": e["type"]} for e in exc.errors()]
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
        err = errors.RequestInvalid(summary=summary)
        return problem(422, err.code, err.zh, err.en, errors=details)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError):
        # A value the database refuses to store (too long, a NUL character) is bad input, not a crash.
        log.warning("value refused by the database on %s %s: %s", request.method, shown_path(request.scope),
                    type(exc.orig).__name__)
        err = errors.RequestInvalid(summary="a value is too long or contains characters that cannot be stored")
        return problem(422, err.code, err.zh, err.en)

    async def _unreachable(request: Request, exc: Exception):
        # The database is down, restarting or out of reach: try again later, nothing was written.
        if _lost_race(exc):
            return from_domain(errors.ConcurrentChange())
        log.error("database unavailable on %s %s: %s", request.method, shown_path(request.scope),
                  type(getattr(exc, "orig", None) or exc).__name__)
        return _outage_answer(request)

    for kind in (OperationalError, InterfaceError, DisconnectionError):
        app.add_exception_handler(kind, _unreachable)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        codes = {404: ("request.not_found", "未找到请求的资源", "Not found"),
                 405: ("request.method_not_allowed", "不支持该请求方法", "Method not allowed")}
        code, zh, en = codes.get(exc.status_code, ("request.error", "请求错误", str(exc.detail)))
        return problem(exc.status_code, code, zh, en)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, shown_path(request.scope))
        return problem(500, "server.error", "系统内部错误，请稍后再试", "Internal error; please try again later")
