"""Personal accounts and their statements, holds, reversals (contributions: routers.collection)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas import (
    AccountRead,
    EntryRead,
    EntryReverse,
    HoldCapture,
    HoldCreate,
    HoldRead,
    StatementRead,
)
from yibao.services import accounts
from yibao.services import statement_pdf as statement_pdf_service

router = APIRouter(tags=["contributions and accounts"])


@router.get("/accounts/{person_id}", response_model=AccountRead)
def get_account(ctx: Ctx, actor: CurrentActor, person_id: str):
    return AccountRead.model_validate(accounts.get_account(ctx, actor=actor, person_id=person_id))


@router.get("/accounts/{person_id}/entries", response_model=StatementRead, response_model_by_alias=True)
def list_entries(ctx: Ctx, actor: CurrentActor, person_id: str,
                 date_from: Annotated[dt.date | None, Query(alias="from")] = None,
                 date_to: Annotated[dt.date | None, Query(alias="to")] = None):
    return StatementRead.of(accounts.statement(ctx, actor=actor, person_id=person_id, date_from=date_from,
                                               date_to=date_to))


@router.post("/accounts/{person_id}/holds", status_code=201, response_model=HoldRead)
def place_hold(ctx: Ctx, actor: CurrentActor, person_id: str, body: HoldCreate):
    return accounts.place_hold(ctx, actor=actor, person_id=person_id, **body.model_dump())


@router.post("/holds/{hold_id}/capture", response_model=HoldRead)
def capture_hold(ctx: Ctx, actor: CurrentActor, hold_id: str, body: HoldCapture):
    return accounts.capture_hold(ctx, actor=actor, hold_id=hold_id, **body.model_dump())


@router.post("/holds/{hold_id}/void", response_model=HoldRead)
def void_hold(ctx: Ctx, actor: CurrentActor, hold_id: str):
    return accounts.void_hold(ctx, actor=actor, hold_id=hold_id)


@router.post("/entries/{entry_id}/reverse", status_code=201, response_model=EntryRead)
def reverse_entry(ctx: Ctx, actor: CurrentActor, entry_id: str, body: EntryReverse):
    entry = accounts.reverse_entry(ctx, actor=actor, entry_id=entry_id, reason=body.reason)
    return EntryRead(entry_id=entry.id, kind=entry.kind, at=entry.at, business_date=entry.business_date,
                     reverses_id=entry.reverses_id,
                     postings=[{"account_id": p.account_id, "amount_fen": p.amount_fen, "bucket": p.bucket}
                               for p in entry.postings])


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
