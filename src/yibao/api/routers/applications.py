"""Applications: documents, withdrawal and reimbursement applications, review, and bank disbursement."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.applications import (
    ApplicationCreate,
    ApplicationRead,
    ApplicationVoucherRead,
    BatchCreate,
    BatchesRead,
    BatchFileRead,
    BatchRead,
    DocumentRead,
    ReviewCreate,
    SupplementCreate,
)
from yibao.api.schemas.common import NoticeRead
from yibao.domain import errors
from yibao.domain.disbursement import Batch
from yibao.services import notices
from yibao.services.applications import cases, cash_vouchers, disbursement, documents, vouchers

API = "/api/v1"
router = APIRouter(tags=["applications"])


@router.post("/documents", status_code=201, response_model=DocumentRead)
async def upload_document(ctx: Ctx, actor: CurrentActor, file: Annotated[UploadFile, File()],
                          type: Annotated[str, Form(max_length=24)], person_id: Annotated[str, Form(max_length=24)]):
    content = await file.read(ctx.settings.document_max_bytes + 1)
    if len(content) > ctx.settings.document_max_bytes:
        raise errors.DocumentTooLarge(size=file.size or len(content), limit=ctx.settings.document_max_bytes)
    found = documents.upload(ctx, actor=actor, person_id=person_id, type=type, content=content,
                             filename=file.filename or "")
    return DocumentRead.model_validate(found)


@router.get("/documents/{document_id}")
def download_document(ctx: Ctx, actor: CurrentActor, document_id: str):
    found, content = documents.get(ctx, actor=actor, document_id=document_id)
    return Response(content, media_type=found.media_type)


def _read(ctx, view: cases.ApplicationView, rules=()) -> ApplicationRead:
    return ApplicationRead.of(view.application, documents=view.documents, history=view.history, rules=rules,
                              cash_voucher=cash_vouchers.view(view.cash_voucher, ctx.now()))


@router.post("/applications", status_code=201, response_model=ApplicationRead)
def submit_application(ctx: Ctx, actor: CurrentActor, body: ApplicationCreate):
    data = body.model_dump()
    if data["invoices"] is not None:
        data["invoices"] = [{**i, "date": i["date"].isoformat()} for i in data["invoices"]]
    view, rules = cases.submit_with_receipt(ctx, actor=actor, **data)
    return _read(ctx, view, rules)


@router.get("/applications", response_model=list[ApplicationRead])
def review_queue(ctx: Ctx, actor: CurrentActor, status: str | None = None):
    return [ApplicationRead.of(a) for a in cases.queue(ctx, actor=actor, status=status)]


@router.get("/persons/{person_id}/applications", response_model=list[ApplicationRead])
def person_applications(ctx: Ctx, actor: CurrentActor, person_id: str, status: str | None = None):
    return [ApplicationRead.of(a) for a in cases.queue(ctx, actor=actor, person_id=person_id, status=status)]


@router.get("/applications/{application_id}", response_model=ApplicationRead)
def get_application(ctx: Ctx, actor: CurrentActor, application_id: str):
    return _read(ctx, cases.get(ctx, actor=actor, application_id=application_id))


@router.post("/applications/{application_id}/submit", response_model=ApplicationRead)
def submit_draft(ctx: Ctx, actor: CurrentActor, application_id: str):
    app, rules = cases.submit_draft(ctx, actor=actor, application_id=application_id)
    return _read(ctx, cases.get(ctx, actor=actor, application_id=app.id), rules)


@router.post("/applications/{application_id}/review", response_model=ApplicationRead)
def review_application(ctx: Ctx, actor: CurrentActor, application_id: str, body: ReviewCreate):
    app, rules = cases.review(ctx, actor=actor, application_id=application_id, **body.model_dump())
    return _read(ctx, cases.get(ctx, actor=actor, application_id=app.id), rules)


@router.post("/applications/{application_id}/supplement", response_model=ApplicationRead)
def supplement_application(ctx: Ctx, actor: CurrentActor, application_id: str, body: SupplementCreate):
    cases.supplement(ctx, actor=actor, application_id=application_id, document_ids=body.document_ids)
    return _read(ctx, cases.get(ctx, actor=actor, application_id=application_id))


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationRead)
def withdraw_application(ctx: Ctx, actor: CurrentActor, application_id: str):
    cases.withdraw(ctx, actor=actor, application_id=application_id)
    return _read(ctx, cases.get(ctx, actor=actor, application_id=application_id))


@router.get("/applications/{application_id}/vouchers", response_model=list[ApplicationVoucherRead])
def application_vouchers_list(ctx: Ctx, actor: CurrentActor, application_id: str):
    """The vouchers the application's steps give so far; a payment voucher is issued when first printed."""
    return [ApplicationVoucherRead(
        kind=v.kind, title_zh=v.title_zh, title_en=v.title_en, code=v.issued.code if v.issued else None,
        issued_at=v.issued.issued_at if v.issued else None, sha256=v.issued.sha256 if v.issued else None,
        subject=v.issued.subject if v.issued else None,
        pdf=f"{API}/applications/{application_id}/vouchers/{v.kind}.pdf")
        for v in vouchers.list_for(ctx, actor=actor, application_id=application_id)]


@router.get("/applications/{application_id}/vouchers/{kind}.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def application_voucher_pdf(ctx: Ctx, actor: CurrentActor, application_id: str, kind: str):
    """A voucher's PDF (approval, payment, cash_voucher, redemption): the same document and code every time."""
    document, issued = vouchers.pdf(ctx, actor=actor, application_id=application_id, kind=kind)
    return Response(document, media_type="application/pdf", headers={
        "X-Voucher-Code": issued.code, "Content-Disposition": f'inline; filename="{kind}-{issued.code}.pdf"'})


@router.post("/applications/{application_id}/retry", response_model=ApplicationRead)
def retry_payout(ctx: Ctx, actor: CurrentActor, application_id: str):
    disbursement.retry(ctx, actor=actor, application_id=application_id)
    return _read(ctx, cases.get(ctx, actor=actor, application_id=application_id))


def _batch(batch: Batch) -> BatchRead:
    return BatchRead.model_validate({k: x for k, x in vars(batch).items() if k != "file"})


@router.post("/disbursements/batches", status_code=201, response_model=BatchesRead)
def make_batches(ctx: Ctx, actor: CurrentActor, body: BatchCreate | None = None):
    made, skipped = disbursement.make_batches(ctx, actor=actor, bank_name=body.bank_name if body else None)
    shown = [BatchFileRead.model_validate(vars(b)) for b in made]
    return BatchesRead(**shown[0].model_dump(), batches=shown, skipped=skipped)


@router.get("/disbursements/batches/{batch_id}", response_model=BatchRead)
def get_batch(ctx: Ctx, actor: CurrentActor, batch_id: str):
    return _batch(disbursement.get_batch(ctx, actor=actor, batch_id=batch_id))


@router.post("/disbursements/batches/{batch_id}/returns", response_model=BatchRead,
             openapi_extra={"requestBody": {"content": {
                 "text/csv": {"schema": {"type": "string"}},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "file": {"type": "string", "format": "binary"}}}}}}})
async def bank_returns(ctx: Ctx, actor: CurrentActor, batch_id: str, request: Request):
    """The bank's signed return file, byte for byte: as the body itself or a multipart upload (`file`)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        raw = await upload.read() if hasattr(upload, "read") else (upload or "").encode()
    else:
        raw = await request.body()
    return _batch(disbursement.apply_returns(ctx, actor=actor, batch_id=batch_id, content=raw))


@router.post("/disbursements/batches/{batch_id}/returns/fetch", response_model=BatchRead)
def fetch_bank_returns(ctx: Ctx, actor: CurrentActor, batch_id: str):
    """Fetch the bank's signed return file for the batch from the bank and apply it."""
    return _batch(disbursement.fetch_returns(ctx, actor=actor, batch_id=batch_id))


@router.post("/persons/{person_id}/notices/{notice_id}/read", response_model=NoticeRead)
def read_notice(ctx: Ctx, actor: CurrentActor, person_id: str, notice_id: int):
    return notices.mark_read(ctx, actor=actor, person_id=person_id, notice_id=notice_id)
