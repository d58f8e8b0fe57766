"""Personal accounts and their statements (contributions: routers.collection; reversals: routers.corrections)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.accounts import AccountRead, StatementRead
from yibao.services.accounts import balances
from yibao.services.accounts import statement_pdf as statement_pdf_service

router = APIRouter(tags=["contributions and accounts"])


@router.get("/accounts/{person_id}", response_model=AccountRead)
def get_account(ctx: Ctx, actor: CurrentActor, person_id: str):
    return AccountRead.model_validate(balances.get_account(ctx, actor=actor, person_id=person_id))


@router.get("/accounts/{person_id}/entries", response_model=StatementRead, response_model_by_alias=True)
def list_entries(ctx: Ctx, actor: CurrentActor, person_id: str,
                 date_from: Annotated[dt.date | None, Query(alias="from")] = None,
                 date_to: Annotated[dt.date | None, Query(alias="to")] = None):
    return StatementRead.of(balances.statement(ctx, actor=actor, person_id=person_id, date_from=date_from,
                                               date_to=date_to))


@router.get("/accounts/{person_id}/statement.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def statement_pdf(ctx: Ctx, actor: CurrentActor, person_id: str,
                  date_from: Annotated[dt.date | None, Query(alias="from")] = None,
                  date_to: Annotated[dt.date | None, Query(alias="to")] = None):
    """The statement as a printable PDF with a verification code (each print is recorded)."""
    document, code = statement_pdf_service.render_statement(ctx, actor=actor, person_id=person_id,
                                                            date_from=date_from, date_to=date_to)
    return Response(document, media_type="application/pdf", headers={
        "X-Voucher-Code": code, "Content-Disposition": f'attachment; filename="statement-{code}.pdf"'})
