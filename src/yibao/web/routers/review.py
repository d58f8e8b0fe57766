"""The reviewer's queue, /review: applications by filters, their documents inline, approve, reject or ask for a
supplement (never one's own intake), and the bank batches: make, download, upload the return, retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yibao.domain import application_texts as texts
from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.applications import REVIEWABLE, ApplicationStatus
from yibao.domain.masking import mask_account_no, mask_id_number
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases, disbursement, review_desk
from yibao.services.jobs import work
from yibao.services.misuse import findings
from yibao.services.registry import enrolment
from yibao.web import csrf, forms, render, session
from yibao.web.labels import N_
from yibao.web.routers.cases import KIND_NAMES, TERMS
from yibao.web.routers.findings import PATTERNS
from yibao.web.routers.public import regions

router = APIRouter(include_in_schema=False,
                   dependencies=[Depends(csrf.guard), Depends(session.role(Role.REVIEWER))])

Reviewer = Annotated[Actor, Depends(session.role(Role.REVIEWER))]
Note = Annotated[str, Form(max_length=500)]
S = ApplicationStatus
RETURN_MAX_BYTES = 2_000_000
BATCH_STATES = {"sent": N_("With the bank"), "returned": N_("Returned by the bank")}
LINE_STATES = {"pending": N_("Waiting for the bank"), "paid": N_("Paid"), "failed": N_("Returned unpaid")}
LEFT_FOR_LATER = {
    errors.FourEyes.code: N_("another person makes the batch of a case this large that you took in or approved"),
    errors.BankAccountMissing.code: N_("no bank account is linked"),
    errors.BalanceInsufficient.code: N_("the balance no longer covers it"),
}
LEFT_OTHERWISE = N_("left for later")
REVIEW_TERMS = {**TERMS, "batch_states": BATCH_STATES, "line_states": LINE_STATES, "pattern_names": PATTERNS}


def _ctx(request: Request):
    return request.app.state.ctx


def _page(request: Request, template: str, status_code: int = 200, **values) -> Response:
    """A page of the reviewer's console, with the names of its terms and states at hand."""
    return render.page(request, template, status_code=status_code, **REVIEW_TERMS,
                       **{"field_errors": {}, "error": None, **values})


def _done(request: Request, to: str, text: str, **names) -> Response:
    return session.redirect(request, to, flash=("success", render.gettext(request)(text) % names))


def _refused(request: Request, to: str, exc: errors.DomainError) -> Response:
    return session.redirect(request, to, flash=("error", render.error_text(request, exc)))


# --- the queue -----------------------------------------------------------------------------------------------


def _reasons(request: Request) -> list[tuple[str, str]]:
    """Every reason of either kind, once, named with its kind."""
    _t = render.gettext(request)
    found: dict[str, str] = {}
    for kind, terms in (("withdrawal", v.WithdrawalReason), ("reimbursement", v.ReimbursementReason)):
        for code, text in forms.choices(request, terms):
            found.setdefault(code, f"{_t(KIND_NAMES[kind])}: {text}")
    return list(found.items())


def _queue_filter(request: Request) -> tuple[review_desk.QueueFilter, dict, dict]:
    """The filter as asked in the query: (the filter, the values to show again, each field's problem)."""
    asked = {k: str(request.query_params.get(k, "")).strip()[:20] for k in ("region", "kind", "reason", "days",
                                                                             "min", "max")}
    _t, problems = render.gettext(request), {}
    if asked["region"] and asked["region"] not in dict(regions(request)):
        problems["region"] = _t(N_("Choose a region from the list."))
    if asked["kind"] and asked["kind"] not in KIND_NAMES:
        problems["kind"] = _t(N_("Choose a kind from the list."))
    if asked["reason"] and asked["reason"] not in dict(_reasons(request)):
        problems["reason"] = _t(N_("Choose a reason from the list."))
    days = int(asked["days"]) if asked["days"].isdigit() and len(asked["days"]) <= 4 else None
    if asked["days"] and days is None:
        problems["days"] = _t(N_("Enter a whole number of days, like 7."))
    amounts = {}
    for key in ("min", "max"):
        amounts[key] = forms.fen_of(asked[key]) if asked[key] else None
        if asked[key] and amounts[key] is None:
            problems[key] = _t(N_("Enter the amount in yuan, like 150 or 150.50."))
    if not problems and None not in (amounts["min"], amounts["max"]) and amounts["min"] > amounts["max"]:
        problems["max"] = _t(N_("The highest amount is not below the lowest."))
    shown = {k: ("" if k in problems else x) for k, x in asked.items()}
    wanted = review_desk.QueueFilter(region=asked["region"] or None, kind=asked["kind"] or None,
                                     reason=asked["reason"] or None, min_days=days, min_fen=amounts["min"],
                                     max_fen=amounts["max"])
    return wanted, shown, problems


@router.get("/review")
def queue_page(request: Request, actor: Reviewer):
    wanted, shown, problems = _queue_filter(request)
    rows = [] if problems else review_desk.queue(_ctx(request), actor=actor, wanted=wanted)
    risk = findings.risk_flags(_ctx(request), actor=actor, person_ids=[r.application.applicant_id for r in rows])
    return _page(request, "review/queue.html", 422 if problems else 200, rows=rows, values=shown, risk=risk,
                 field_errors=problems, regions=regions(request), reasons=_reasons(request),
                 kinds=[(k, render.gettext(request)(name)) for k, name in KIND_NAMES.items()],
                 region_names=dict(regions(request)))


# --- one case ------------------------------------------------------------------------------------------------


def _case_page(request: Request, actor: Actor, application_id: str, status_code: int = 200,
               **values) -> Response:
    ctx = _ctx(request)
    view = cases.get(ctx, actor=actor, application_id=application_id)
    app = view.application
    person = enrolment.get_person(ctx, actor=actor, person_id=app.person_id)
    applicant = person if app.applicant_id == app.person_id else enrolment.get_person(
        ctx, actor=actor, person_id=app.applicant_id)
    try:
        decision = cases.decision_now(ctx, actor=actor, application_id=application_id)
    except errors.DomainError:
        decision = None
    risk = findings.risk_flags(ctx, actor=actor, person_ids=[applicant.id])
    return _page(request, "review/case.html", status_code, view=view, app=app, person=person, risk=risk,
                 applicant=applicant, masked_id=mask_id_number(applicant.id_number),
                 region_names=dict(regions(request)), decision=decision, in_review=app.status in REVIEWABLE,
                 statuses=S, document_types=forms.choices(request, v.DocumentType),
                 steps=[(step, texts.title(step.to_status, step.data)) for step in view.history],
                 **{"values": {}, **values})


@router.get("/review/cases/{application_id}")
def case_page(request: Request, actor: Reviewer, application_id: str):
    return _case_page(request, actor, application_id)


def _decide(request: Request, actor: Actor, application_id: str, action: str, note: str,
            missing: list[str] | None = None) -> Response:
    """One review step through the service; its refusal (one's own intake, a state that moved on, the policy)
    is shown on the case page, nothing changed."""
    try:
        cases.review(_ctx(request), actor=actor, application_id=application_id, action=action, note=note,
                     missing=missing)
    except errors.ApplicationNotFound:
        raise
    except errors.DomainError as exc:
        cited = list(exc.facts.get("rules", []))
        return _case_page(request, actor, application_id, exc.status, error=exc, cited=cited)
    done = {"approve": N_("The application is approved."), "reject": N_("The application is rejected."),
            "request_supplement": N_("The applicant is asked for the documents.")}
    return _done(request, f"/review/cases/{application_id}", done[action])


@router.post("/review/cases/{application_id}/approve")
def approve(request: Request, actor: Reviewer, application_id: str, note: Note = ""):
    return _decide(request, actor, application_id, "approve", note)


@router.post("/review/cases/{application_id}/reject")
def reject(request: Request, actor: Reviewer, application_id: str, note: Note = ""):
    if not note.strip():
        return _case_page(request, actor, application_id, 422, field_errors={
            "reject_note": render.gettext(request)(N_("Write the reason for the rejection."))})
    return _decide(request, actor, application_id, "reject", note)


@router.post("/review/cases/{application_id}/supplement")
async def ask_supplement(request: Request, actor: Reviewer, application_id: str):
    form = await request.form()
    missing = [str(m) for m in form.getlist("missing")][:len(v.DocumentType)]
    note = str(form.get("guidance", ""))[:500]
    if not missing or any(m not in v.DocumentType for m in missing):
        return await run_in_threadpool(_case_page, request, actor, application_id, 422, values={"guidance": note},
                                       field_errors={"missing": render.gettext(request)(
                                           N_("Tick the documents the applicant is to send."))})
    return await run_in_threadpool(_decide, request, actor, application_id, "request_supplement", note, missing)


@router.get("/review/cases/{application_id}/documents/{document_id}")
def case_document(request: Request, actor: Reviewer, application_id: str, document_id: str):
    document, content = review_desk.document(_ctx(request), actor=actor, application_id=application_id,
                                             document_id=document_id)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(document.media_type, "bin")
    return Response(content, media_type=document.media_type, headers={
        "Content-Disposition": f'inline; filename="{document.id}.{extension}"',
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "private, no-store"})


# --- disbursement: the bank batches ---------------------------------------------------------------------------


def _waiting(request: Request, actor: Actor) -> list:
    """The approved cases paid by bank that wait for a batch."""
    return [a for a in cases.queue(_ctx(request), actor=actor, status=S.APPROVED.value) if a.payout == "bank"]


def _banks(waiting: list) -> list[str]:
    return sorted({a.details["payee"]["bank_name"] for a in waiting if a.details.get("payee")})


@router.get("/review/batches")
def batches_page(request: Request, actor: Reviewer):
    waiting = _waiting(request, actor)
    last = next((job for job in work.mine(_ctx(request), actor=actor) if job.kind == disbursement.BATCH_JOB), None)
    left = _left_for_later(request, (last.result or {}).get("skipped", [])) if last else []
    return _page(request, "review/batches.html", batches=review_desk.batches(_ctx(request), actor=actor),
                 waiting=waiting, bank_choices=[(name, name) for name in _banks(waiting)], last_job=last,
                 left_for_later=left)


def _left_for_later(request: Request, skipped: list[dict]) -> list[str]:
    """Each case the batch left out, with why, in the page's language."""
    _t = render.gettext(request)
    return [f"{left['application_id']}: {_t(LEFT_FOR_LATER.get(left['code'], LEFT_OTHERWISE))}" for left in skipped]


@router.post("/review/batches")
def make_batches(request: Request, actor: Reviewer, bank: Annotated[str, Form(max_length=60)] = ""):
    """Make the bank batches in the background; the job's page shows its progress, then what it made."""
    if bank and bank not in _banks(_waiting(request, actor)):
        return session.redirect(request, "/review/batches", flash=("error", render.gettext(request)(
            N_("No approved case waits for that bank."))))
    job = disbursement.submit_batches(_ctx(request), actor=actor, bank_name=bank or None)
    return session.redirect(request, f"/jobs/{job.id}")


def _batch_page(request: Request, actor: Actor, batch_id: str, status_code: int = 200, **values) -> Response:
    batch = disbursement.get_batch(_ctx(request), actor=actor, batch_id=batch_id)
    lines = [{**line, "account_shown": mask_account_no(line["account_no"])} for line in batch.lines]
    return _page(request, "review/batch.html", status_code, batch=batch, lines=lines, **values)


@router.get("/review/batches/{batch_id}")
def batch_page(request: Request, actor: Reviewer, batch_id: str):
    return _batch_page(request, actor, batch_id)


@router.get("/review/batches/{batch_id}/file")
def batch_file(request: Request, actor: Reviewer, batch_id: str):
    batch = disbursement.get_batch(_ctx(request), actor=actor, batch_id=batch_id)
    return Response(batch.file.encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{batch.file_name}"'})


@router.post("/review/batches/{batch_id}/return")
async def bank_return(request: Request, actor: Reviewer, batch_id: str,
                      return_file: Annotated[UploadFile | None, File()] = None):
    content = await return_file.read(RETURN_MAX_BYTES + 1) if return_file is not None else b""
    return await run_in_threadpool(_take_return, request, actor, batch_id, content)


def _take_return(request: Request, actor: Actor, batch_id: str, content: bytes) -> Response:
    _t = render.gettext(request)
    if not content or len(content) > RETURN_MAX_BYTES:
        return _batch_page(request, actor, batch_id, 422, field_errors={
            "return_file": _t(N_("Choose the return file the bank signed."))})
    try:
        batch = disbursement.apply_returns(_ctx(request), actor=actor, batch_id=batch_id, content=content)
    except errors.BatchNotFound:
        raise
    except disbursement.REFUSALS as exc:
        return _batch_page(request, actor, batch_id, exc.status, field_errors={"return_file": exc})
    paid = sum(line["status"] == "paid" for line in batch.lines)
    failed = sum(line["status"] == "failed" for line in batch.lines)
    return _done(request, f"/review/batches/{batch_id}",
                 N_("The bank's return is recorded: %(paid)s paid, %(failed)s returned unpaid."),
                 paid=paid, failed=failed)


@router.post("/review/batches/{batch_id}/lines/{line_no}/retry")
def retry_line(request: Request, actor: Reviewer, batch_id: str, line_no: int):
    ctx = _ctx(request)
    batch = disbursement.get_batch(ctx, actor=actor, batch_id=batch_id)
    line = next((x for x in batch.lines if x["line_no"] == line_no and x["status"] == "failed"), None)
    to = f"/review/batches/{batch_id}"
    if line is None:
        return session.redirect(request, to, flash=("error", render.gettext(request)(
            N_("Only a line the bank returned unpaid is paid again."))))
    try:
        app = disbursement.retry(ctx, actor=actor, application_id=line["application_id"])
    except (errors.ApplicationWrongState, errors.BankAccountMissing) as exc:
        return _refused(request, to, exc)
    if app.status == S.APPROVED:
        return _done(request, to, N_("The payout goes on the next bank batch."))
    return _done(request, to, N_("The bank account changed: the case is back in the queue for review."))
