"""The ASGI application: API under /api/v1, web pages under /, OpenAPI at /openapi.json."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from yibao import __version__
from yibao.api import problems
from yibao.api.access_log import RouteOfRequest, hide_path_values
from yibao.api.body_limit import FORM_ROOM_BYTES, BodyLimit
from yibao.api.routers import (
    accounts,
    admin,
    applications,
    auth,
    collection,
    corrections,
    credentials,
    emergencies,
    filings,
    findings,
    life_events,
    payment_codes,
    payouts,
    policy,
    registry,
    residents,
    settlements,
    sign_in,
    vouchers,
)
from yibao.services.context import Context
from yibao.services.jobs import work

API = "/api/v1"


@asynccontextmanager
async def _job_worker(app: FastAPI):
    """Background jobs are worked on beside the server while it serves (services.jobs.work.runner)."""
    runner = work.runner(app.state.ctx)
    runner.start()
    try:
        yield
    finally:
        runner.stop()


def create_app(ctx: Context) -> FastAPI:
    app = FastAPI(title="yibao 医保个人账户", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=_job_worker)
    app.state.ctx = ctx
    problems.install(app)
    from yibao.web import app as web

    document = ctx.settings.document_max_bytes
    app.add_middleware(BodyLimit, max_bytes=ctx.settings.request_max_bytes,
                       larger={f"{API}/documents": document + FORM_ROOM_BYTES,
                               **{path: files * document + FORM_ROOM_BYTES for path, files in web.UPLOADS.items()}},
                       refusal=web.too_large_page)
    app.add_middleware(RouteOfRequest)
    hide_path_values()
    for router in (auth.router, registry.router, credentials.router, accounts.router, collection.router, filings.router, policy.router,
                   settlements.router, vouchers.router, applications.router, payouts.router, life_events.router,
                   residents.router, sign_in.router, emergencies.router, corrections.router,
                   payment_codes.router, findings.router):
        app.include_router(router, prefix=API)
    if ctx.settings.env == "test":
        app.include_router(admin.router, prefix=API)

    @app.get(f"{API}/health", tags=["health"])
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    web.mount(app)
    return app
