"""RFC 9457 problem+json for domain errors, request validation and everything unexpected."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def _domain(_request: Request, exc: errors.DomainError):
        return from_domain(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        # Never echo the input back: it may hold an ID number or a PIN.
        details = [{"field": _field(e["loc"]), "problem": e["msg"], "kind": e["type"]} for e in exc.errors()]
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
        err = errors.RequestInvalid(summary=summary)
        return problem(422, err.code, err.zh, err.en, errors=details)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError):
        # A value the database refuses to store (too long, a NUL character) is bad input, not a crash.
        log.warning("value refused by the database on %s %s: %s", request.method, request.url.path,
                    type(exc.orig).__name__)
        err = errors.RequestInvalid(summary="a value is too long or contains characters that cannot be stored")
        return problem(422, err.code, err.zh, err.en)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        codes = {404: ("request.not_found", "未找到请求的资源", "Not found"),
                 405: ("request.method_not_allowed", "不支持该请求方法", "Method not allowed")}
        code, zh, en = codes.get(exc.status_code, ("request.error", "请求错误", str(exc.detail)))
        return problem(exc.status_code, code, zh, en)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "server.error", "系统内部错误，请稍后再试", "Internal error; please try again later")
