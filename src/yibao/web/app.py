"""The web pages under `/`: static files, the offline API docs, security headers, the page errors and the
routers of each role's area. Pages call the same services as the API, never the API over HTTP."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.domain import errors
from yibao.web import render, session

HERE = Path(__file__).resolve().parent

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI styles its own elements inline; it is still served from this site only.
DOCS_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
# The page forms that carry documents, with how many files one form may carry (each within the document limit).
UPLOADS = {
    "/me/applications": 4,
    "/me/applications/{application_id}/documents": 4,
    "/me/applications/{application_id}/supplement": 4,
    "/admin/residents": 2,  # an extract of the register, up to twice a document's size
}
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Every answer says what the browser may load and run: only this site's own files, nothing inline."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] == "/docs" else PAGE_POLICY

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", policy.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/static/") or path == "/openapi.json")


def too_large_page(scope, error: errors.RequestTooLarge):
    """A page's form whose body is over its limit is answered with a page in its language (None elsewhere)."""
    request = Request(scope)
    return render.page(request, "error.html", status_code=413, error=error) if _is_page(request) else None


def _install_errors(app: FastAPI) -> None:
    """Pages answer with a page; the API keeps its problem+json (the handlers installed before these)."""
    api_domain = app.exception_handlers[errors.DomainError]
    api_invalid = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(session.SignInNeeded)
    async def _sign_in(request: Request, exc: session.SignInNeeded):
        return RedirectResponse("/login?" + _next_query(exc.next_path), status_code=303)

    @app.exception_handler(errors.DomainError)
    async def _domain(request: Request, exc: errors.DomainError):
        if not _is_page(request):
            return await api_domain(request, exc)
        return render.page(request, "error.html", status_code=exc.status, error=exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if not _is_page(request):
            return await api_invalid(request, exc)
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        return render.page(request, "error.html", status_code=422,
                           error=errors.RequestInvalid(summary=f"check the fields: {fields}"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if not _is_page(request) or exc.status_code not in (404, 405):
            return await api_http(request, exc)
        return render.page(request, "not_found.html", status_code=exc.status_code)


def _next_query(path: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"next": path})


def _docs(app: FastAPI) -> None:
    """Swagger UI from this site's own copy of its files, so /docs works with no network beyond this server."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs():
        response = get_swagger_ui_html(openapi_url="/openapi.json", title="yibao API",
                                       swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                       swagger_css_url="/static/swagger/swagger-ui.css",
                                       swagger_favicon_url="/static/swagger/favicon-32x32.png")
        # the page's inline start-up script moves to a file of ours, so no script runs inline
        body = response.body.decode()
        start, end = body.index("<script>"), body.index("</script>", body.index("<script>")) + len("</script>")
        body = body[:start] + '<script src="/static/docs-init.js"></script>' + body[end:]
        return render.HTMLResponse(body)


def mount(app: FastAPI) -> None:
    from yibao.web.routers import (
        admin,
        audit,
        cases,
        counter,
        findings,
        institution,
        jobs,
        money,
        person,
        public,
        review,
        unit,
    )

    app.add_middleware(SecurityHeaders)
    _install_errors(app)
    _docs(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in (public.router, person.router, money.router, cases.router, unit.router, institution.router,
                   counter.router, review.router, audit.router, admin.router, jobs.router, findings.router):
        app.include_router(router)
