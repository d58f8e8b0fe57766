"""Signing out, and changing one's own password and card PIN."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.credentials import CardRead, PasswordChange, PasswordChanged, PinChange
from yibao.services.credentials import auth, cards

router = APIRouter(tags=["auth"])
Bearer = Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer(auto_error=False))]


@router.post("/auth/logout", status_code=204, response_class=Response)
def logout(ctx: Ctx, actor: CurrentActor, bearer: Bearer):
    """The token of this session is revoked: it is refused from now on."""
    auth.logout(ctx, bearer.credentials)
    return Response(status_code=204)


@router.post("/auth/password", response_model=PasswordChanged)
def change_password(ctx: Ctx, actor: CurrentActor, bearer: Bearer, request: Request, body: PasswordChange):
    """The current password is needed; every other session of the user is signed out, this one stays."""
    ended = auth.change_password(ctx, actor=actor, token=bearer.credentials, address=request.client.host
                                 if request.client else None, **body.model_dump())
    return PasswordChanged(other_sessions_ended=ended)


@router.post("/cards/{card_no}/change-pin", response_model=CardRead)
def change_pin(ctx: Ctx, actor: CurrentActor, card_no: str, body: PinChange):
    """The holder's own card: the old PIN is needed, and a wrong one counts towards the card's lock."""
    return CardRead.of(cards.change_pin(ctx, actor=actor, card_no=card_no, **body.model_dump()), ctx.today())
