"""Request dependencies: the service context and the signed-in actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yibao.domain import errors
from yibao.domain.users import Actor
from yibao.services.context import Context
from yibao.services.credentials import auth

_bearer = HTTPBearer(auto_error=False)


async def get_ctx(request: Request) -> Context:
    """No I/O, so it runs on the event loop: a plain function would cost every request a hop to the thread pool."""
    return request.app.state.ctx


def get_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise errors.AuthRequired()
    return auth.authenticate(request.app.state.ctx, credentials.credentials)


Ctx = Annotated[Context, Depends(get_ctx)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
