"""What logs say of a request: its method and the route it reached, never its query string nor the values in its
path (a mistyped ID number or phone would otherwise land in the access log).

The server's access log (uvicorn's `uvicorn.access` logger) prints the path it received; `RouteOfRequest`
notes the template of the route the path matches (`/api/v1/persons/{person_id}`, as the OpenAPI lists it) as the
answer starts, and `HidePathValues` puts it in
the log line in place of the path. A path no route matched is shown with every segment that holds a digit or
anything but plain letters masked.
"""

from __future__ import annotations

import contextvars
import logging
import re

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_shown: contextvars.ContextVar[str | None] = contextvars.ContextVar("yibao_shown_path", default=None)
_PLAIN = re.compile(r"^(?:[A-Za-z_-]{1,40}|v\d)$")
MASK = "…"


def masked(path: str) -> str:
    """A path without its query, each segment that is not a plain word masked."""
    path = path.split("?", 1)[0]
    return "/".join(s if not s or _PLAIN.match(s) else MASK for s in path.split("/"))


def _templates(app) -> list[tuple[re.Pattern, str]]:
    """The application's path templates (as its OpenAPI lists them), each with the pattern it matches."""
    known = getattr(app.state, "path_templates", None)
    if known is None:
        known = [(compile_path(t)[0], t) for t in app.openapi().get("paths", {})]
        app.state.path_templates = known
    return known


def shown_path(scope: Scope) -> str:
    """The path as logs show it: the template of the route it matches, else the masked path."""
    path, app = scope.get("path", ""), scope.get("app")
    if app is not None and hasattr(app, "openapi"):
        template = next((t for pattern, t in _templates(app) if pattern.match(path)), None)
        if template is not None:
            return template
    return masked(path)


class RouteOfRequest:
    """Notes, as the answer starts, how the request's path is to be shown in the access log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                _shown.set(shown_path(scope))
            await send(message)

        await self.app(scope, receive, noting)


class HidePathValues(logging.Filter):
    """On the server's access log: the route's template (or the masked path) in place of the path and query."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _shown.get() or masked(args[2]), *args[3:])
        return True


_HIDE = HidePathValues()


def hide_path_values() -> None:
    """Install the filter on the server's access log (once, whoever starts the server)."""
    logger = logging.getLogger("uvicorn.access")
    if _HIDE not in logger.filters:
        logger.addFilter(_HIDE)
