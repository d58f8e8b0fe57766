"""A request body over its size limit is refused (413 `request.too_large`) before the application has read it.

Every route has the request limit (`YIBAO_REQUEST_MAX_BYTES`), signed in or not; a document upload has its own,
larger one (`YIBAO_DOCUMENT_MAX_BYTES` and room for the form around the file). A declared Content-Length over
the limit is refused unread. Whatever is declared, or if nothing is, the bytes are counted as the application
reads them: at the first byte past the limit the reading stops, and whatever the application would have
answered is replaced by the 413, so no body larger than its limit is ever held.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao.api.problems import from_domain
from yibao.domain import errors

FORM_ROOM_BYTES = 64 * 1024  # a multipart upload's boundaries, headers and small fields around the file


class _TooLarge(HTTPException):
    """Raised into the application's read of the body; frameworks pass an HTTP exception on unwrapped."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


Refusal = Callable[[Scope, errors.RequestTooLarge], Response | None]


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None,
                 refusal: Refusal | None = None) -> None:
        """`larger`: the paths allowed a larger body than `max_bytes`, with their own limit; a `{name}` segment
        stands for any one segment (`/me/applications/{application_id}/documents`). `refusal` answers the 413
        where it gives a response (a page for a page's form); elsewhere it is the API's problem."""
        self.app, self.max_bytes, self.refusal = app, max_bytes, refusal
        self.larger = {tuple(path.strip("/").split("/")): limit for path, limit in (larger or {}).items()}

    def limit_for(self, path: str) -> int:
        asked = tuple(path.strip("/").split("/"))
        for pattern, limit in self.larger.items():
            if len(pattern) == len(asked) and all(p == a or (p.startswith("{") and p.endswith("}") and a)
                                                  for p, a in zip(pattern, asked, strict=True)):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, limit, send)
            return
        received, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _TooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge()
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if exceeded:  # what the application says of a body it could not read is not sent
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, limit, send)

    async def _refuse(self, scope: Scope, limit: int, send: Send) -> None:
        error = errors.RequestTooLarge(limit_bytes=limit)
        response = (self.refusal(scope, error) if self.refusal else None) or from_domain(error)
        response.headers["Connection"] = "close"  # the rest of the body is not read: do not reuse the connection
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
