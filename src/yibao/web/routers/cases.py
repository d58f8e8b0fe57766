"""The person's cases: /me/family (grants), /me/filings (cross-region filing), /me/applications (reimbursement
and withdrawal, from the explain answer to "paid") and /ask (the 12393/12333 answer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yibao.domain import application_texts as texts
from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.applications import ApplicationStatus
from yibao.domain.identity import parse_id_number
from yibao.domain.regions import region_name
from yibao.domain.users import Actor, Role
from yibao.services.applications import cases, disbursement, documents, vouchers
from yibao.services.crossregion import family, filings
from yibao.services.policy import explain, sets
from yibao.services.registry import enrolment, institutions
from yibao.web import csrf, forms, render, session
from yibao.web.labels import N_
from yibao.web.routers.public import regions

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])

Person = Annotated[Actor, Depends(session.role(Role.PERSON))]
Text = Annotated[str, Form(max_length=100)]
S = ApplicationStatus
KIND_ACTION = {"withdrawal": "withdraw", "reimbursement": "reimburse"}
KIND_REASONS = {"withdrawal": v.WithdrawalReason, "reimbursement": v.ReimbursementReason}
ASK_REASONS = {"withdraw": v.WithdrawalReason, "reimburse": v.ReimbursementReason, "file": v.FilingReason}
ASK_QUESTIONS = {"settle": ("settlement",), "withdraw": ("withdrawal",), "reimburse": ("reimbursement",),
                 "file": ("filing",), "family_grant": ("family.",)}
TIMELINE = (S.SUBMITTED, S.UNDER_REVIEW, S.SUPPLEMENT_REQUESTED, S.APPROVED, S.PAID)
KIND_NAMES = {"withdrawal": N_("Withdrawal of the balance"), "reimbursement": N_("Reimbursement claim")}
GRANT_STATES = {"pending": N_("Waiting for the relative to accept"), "active": N_("In force"),
                "revoked": N_("Ended"), "declined": N_("Declined"), "cancelled": N_("Withdrawn")}
FILING_STATES = {"active": N_("In force"), "cancelled": N_("Cancelled"), "replaced": N_("Replaced by a newer one")}
APPLICATION_STATES = {"draft": N_("Draft, not submitted yet"), "submitted": N_("Submitted"),
                      "under_review": N_("Under review"), "supplement_requested": N_("Documents needed"),
                      "resubmitted": N_("Supplement received"), "approved": N_("Approved"),
                      "rejected": N_("Rejected"), "disbursing": N_("Being paid"), "paid": N_("Paid"),
                      "failed": N_("Payment failed"), "withdrawn": N_("Withdrawn")}
TERMS = {"relation_of": {t.value: t for t in v.Relation}, "filing_type_of": {t.value: t for t in v.FilingType},
         "filing_reason_of": {t.value: t for t in v.FilingReason}, "document_of": {t.value: t for t in v.DocumentType},
         "reason_of": {**{t.value: t for t in v.ReimbursementReason}, **{t.value: t for t in v.WithdrawalReason}},
         "grant_states": GRANT_STATES, "kind_names": KIND_NAMES, "filing_states": FILING_STATES,
         "application_states": APPLICATION_STATES}


def _ctx(request: Request):
    return request.app.state.ctx


def _invalid(request: Request, text: str) -> str:
    """A field's problem in the page's language, shown beside it (never echoing what was typed)."""
    return render.gettext(request)(text)


def _page(request: Request, template: str, status_code: int = 200, **values) -> Response:
    """A page of this area, with the names of its terms and states at hand."""
    return render.page(request, template, status_code=status_code, **TERMS, **values)


def _form_state(given: dict, **defaults) -> dict:
    """What a form page shows: the values typed, each field's error and the page's problem, unless given."""
    return {"values": {}, "field_errors": {}, "error": None, **defaults, **given}


def _done(request: Request, to: str, text: str) -> Response:
    return session.redirect(request, to, flash=("success", render.gettext(request)(text)))


def _refused(request: Request, to: str, exc: errors.DomainError) -> Response:
    return session.redirect(request, to, flash=("error", render.error_text(request, exc)))


def _cited(exc: errors.DomainError) -> list[dict]:
    """The rules a refusal cites (a policy refusal carries them)."""
    return list(exc.facts.get("rules", []))


# --- /me/family ------------------------------------------------------------------------------------------


def _family_page(request: Request, actor: Actor, status_code: int = 200, **values) -> Response:
    ctx = _ctx(request)
    return _page(request, "me/family.html", status_code,
                 grants=family.grants_seen_by(ctx, actor=actor, person_id=actor.person_id),
                 paid=family.paid_by_grantees(ctx, actor=actor, owner_id=actor.person_id),
                 relations=forms.choices(request, v.Relation), **_form_state(values, cited=[]))


@router.get("/me/family")
def family_page(request: Request, actor: Person):
    return _family_page(request, actor)


@router.post("/me/family")
def grant(request: Request, actor: Person, id_number: Annotated[str, Form(max_length=40)] = "",
          name: Text = "", relation: Annotated[str, Form(max_length=20)] = ""):
    values = {"id_number": id_number.strip()[:18], "name": name.strip()[:40], "relation": relation}
    field_errors = {}
    try:
        parse_id_number(id_number, today=_ctx(request).today())
    except errors.IdNumberInvalid:
        field_errors["id_number"] = _invalid(request, N_("Enter the relative's ID number: 18 characters."))
    if not name.strip():
        field_errors["name"] = _invalid(request, N_("Enter the relative's name."))
    if relation not in v.Relation:
        field_errors["relation"] = _invalid(request, N_("Choose the relation."))
    if field_errors:
        return _family_page(request, actor, 422, values=values, field_errors=field_errors)
    try:
        family.grant_to_named(_ctx(request), actor=actor, owner_id=actor.person_id, id_number=id_number,
                              name=name, relation=relation)
    except errors.DomainError as exc:
        return _family_page(request, actor, exc.status, values=values, error=exc, cited=_cited(exc))
    return _done(request, "/me/family", N_("The grant is made; it takes effect once your relative accepts it."))


def _grant_step(request: Request, actor: Actor, grant_id: str, step, text: str) -> Response:
    try:
        step(_ctx(request), actor=actor, grant_id=grant_id)
    except (errors.GrantWrongState, errors.RuleRefused, errors.GrantRelationImplausible) as exc:
        return _refused(request, "/me/family", exc)
    return _done(request, "/me/family", text)


@router.post("/me/family/{grant_id}/accept")
def accept_grant(request: Request, actor: Person, grant_id: str):
    return _grant_step(request, actor, grant_id, family.accept, N_("You accepted the grant; it is in force."))


@router.post("/me/family/{grant_id}/decline")
def decline_grant(request: Request, actor: Person, grant_id: str):
    return _grant_step(request, actor, grant_id, family.decline, N_("You declined the grant."))


@router.post("/me/family/{grant_id}/revoke")
def revoke_grant(request: Request, actor: Person, grant_id: str):
    return _grant_step(request, actor, grant_id, family.revoke, N_("The grant is ended."))


# --- /me/filings -----------------------------------------------------------------------------------------


def destinations(request: Request) -> list[tuple[str, str]]:
    """Where a person may file for: every province, and the regions whose policy this agency keeps."""
    provinces = {f"{p}0000": region_name(f"{p}0000") for p in range(11, 66)}
    return sorted({**{c: n for c, n in provinces.items() if n}, **dict(regions(request))}.items())


def _filings_page(request: Request, actor: Actor, status_code: int = 200, **values) -> Response:
    ctx = _ctx(request)
    return _page(request, "me/filings.html", status_code,
                 filings=filings.list_filings(ctx, actor=actor, person_id=actor.person_id),
                 terms=filings.terms(ctx, actor=actor, person_id=actor.person_id),
                 types=forms.choices(request, v.FilingType), reasons=forms.choices(request, v.FilingReason),
                 regions=destinations(request), region_names=dict(destinations(request)),
                 **_form_state(values, cited=[]))


@router.get("/me/filings")
def filings_page(request: Request, actor: Person):
    return _filings_page(request, actor)


@router.post("/me/filings")
def file_filing(request: Request, actor: Person, type: Annotated[str, Form(max_length=20)] = "",
                reason: Annotated[str, Form(max_length=30)] = "",
                destination_region: Annotated[str, Form(max_length=12)] = "",
                start_date: Annotated[str, Form(max_length=20)] = ""):
    values = {"type": type, "reason": reason, "destination_region": destination_region,
              "start_date": start_date if forms.day_of(start_date) else ""}
    field_errors = {}
    if type not in v.FilingType:
        field_errors["type"] = _invalid(request, N_("Choose the kind of filing."))
    if reason not in v.FilingReason:
        field_errors["reason"] = _invalid(request, N_("Choose why you file."))
    if destination_region not in dict(destinations(request)):
        field_errors["destination_region"] = _invalid(request, N_("Choose where you will be treated."))
    start = forms.day_of(start_date) if start_date.strip() else None
    if start_date.strip() and start is None:
        field_errors["start_date"] = _invalid(request, N_("Enter the start date as a date."))
    if field_errors:
        return _filings_page(request, actor, 422, values=values, field_errors=field_errors)
    try:
        filings.file(_ctx(request), actor=actor, person_id=actor.person_id, type=type, reason=reason,
                     destination_region=destination_region, start_date=start)
    except errors.DomainError as exc:
        return _filings_page(request, actor, exc.status, values=values, error=exc, cited=_cited(exc))
    return _done(request, "/me/filings", N_("Your filing is made."))


@router.post("/me/filings/{filing_id}/cancel")
def cancel_filing(request: Request, actor: Person, filing_id: str):
    try:
        filings.cancel(_ctx(request), actor=actor, filing_id=filing_id)
    except (errors.RuleRefused, errors.FilingWrongState) as exc:
        return _filings_page(request, actor, exc.status, error=exc, cited=_cited(exc))
    return _done(request, "/me/filings", N_("The filing is cancelled."))


# --- /me/applications ------------------------------------------------------------------------------------


def _documents_needed(answer: dict) -> list[v.DocumentType]:
    return [v.DocumentType(r["value"]) for r in answer["requirements"]
            if r["kind"] == "document" and r["value"] in v.DocumentType]


def _applications_page(request: Request, actor: Actor, status_code: int = 200, **values) -> Response:
    ctx = _ctx(request)
    return _page(request, "me/applications.html", status_code,
                 applications=cases.queue(ctx, actor=actor, person_id=actor.person_id),
                 cases=_case_choices(request), categories=forms.choices(request, v.Category),
                 **_form_state(values, answer=None, needed=[], apply_form=False))


def _case(kind: str, reason: str) -> bool:
    return kind in KIND_REASONS and reason in KIND_REASONS[kind]


def _explain_case(request: Request, actor: Actor, kind: str, reason: str) -> dict:
    return explain.explain(_ctx(request), actor=actor, person_id=actor.person_id, action=KIND_ACTION[kind],
                           reason=reason, channel="online")


@router.get("/me/applications")
def applications_page(request: Request, actor: Person):
    return _applications_page(request, actor)


def _split_case(case: str) -> tuple[str, str]:
    kind, _, reason = (case or "").partition("/")
    return kind, reason


def _case_choices(request: Request) -> list[tuple[str, str]]:
    """Every case a person may ask about, as one choice: kind and reason."""
    _t = render.gettext(request)
    return [(f"{kind}/{value}", f"{_t(KIND_NAMES[kind])}: {text}") for kind, terms in KIND_REASONS.items()
            for value, text in forms.choices(request, terms)]


@router.post("/me/applications/check")
def check_case(request: Request, actor: Person, case: Annotated[str, Form(max_length=40)] = ""):
    kind, reason = _split_case(case)
    if not _case(kind, reason):
        return _applications_page(request, actor, 422,
                                  field_errors={"case": _invalid(request, N_("Choose a case and its reason."))})
    answer = _explain_case(request, actor, kind, reason)
    return _applications_page(request, actor, values={"case": case, "kind": kind, "reason": reason},
                              answer=answer, needed=_documents_needed(answer), apply_form=answer["allowed"])


def _store(request: Request, actor: Actor, files: forms.Files) -> list[str]:
    """Keep each file (checked before) as one of the person's documents; their ids."""
    return [documents.upload(_ctx(request), actor=actor, person_id=actor.person_id, type=type, content=content,
                             filename=name).id for type, content, name in files]


def _claim_fields(request: Request, form) -> tuple[dict, dict, list[dict] | None, int | None]:
    """The amount, or the one invoice of a claim, as typed: (values kept, field errors, invoices, amount)."""
    kind = form.get("kind", "")
    values = {k: str(form.get(k, ""))[:40] for k in ("kind", "reason", "invoice_number", "invoice_issuer",
                                                      "invoice_date", "invoice_category")}
    field_errors = {}
    amount = forms.fen_of(str(form.get("amount", "")))
    if amount is None or amount <= 0:
        field_errors["amount"] = _invalid(request, N_("Enter the amount in yuan, like 150 or 150.50."))
    else:
        values["amount"] = str(form.get("amount", ""))[:12]
    if kind != "reimbursement":
        return values, field_errors, None, amount
    if not values["invoice_number"].strip():
        field_errors["invoice_number"] = _invalid(request, N_("Enter the invoice number."))
    if not values["invoice_issuer"].strip():
        field_errors["invoice_issuer"] = _invalid(request, N_("Enter the code of the institution that issued it."))
    day = forms.day_of(values["invoice_date"])
    if day is None:
        field_errors["invoice_date"] = _invalid(request, N_("Enter the invoice date as a date."))
    if values["invoice_category"] not in v.Category:
        field_errors["invoice_category"] = _invalid(request, N_("Choose what the invoice paid for."))
    if field_errors:
        return values, field_errors, None, amount
    invoice = {"number": values["invoice_number"].strip(), "issuer": values["invoice_issuer"].strip(),
               "date": day.isoformat(), "items": [{"category": values["invoice_category"], "amount_fen": amount}]}
    return values, field_errors, [invoice], None


@router.post("/me/applications")
async def start_application(request: Request, actor: Person):
    form = await request.form()
    kind, reason = str(form.get("kind", "")), str(form.get("reason", ""))
    if not _case(kind, reason):
        return await run_in_threadpool(_applications_page, request, actor, 422, field_errors={
            "case": _invalid(request, N_("Choose a case and its reason."))})
    files = await forms.uploads(request)
    return await run_in_threadpool(_start, request, actor, form, kind, reason, files)


def _start(request: Request, actor: Actor, form, kind: str, reason: str, files: forms.Files) -> Response:
    values, field_errors, invoices, amount = _claim_fields(request, form)
    field_errors |= forms.file_problems(request, files)
    values["case"] = f"{kind}/{reason}"
    named = str(form.get("needed", "")).split(",") + [type for type, _content, _name in files]
    needed = [v.DocumentType(t) for t in dict.fromkeys(named) if t in v.DocumentType]
    again = {"values": values, "needed": needed, "apply_form": True}
    if field_errors:
        return _applications_page(request, actor, 422, field_errors=field_errors, **again)
    ctx = _ctx(request)
    try:
        app, _rules = cases.submit(ctx, actor=actor, person_id=actor.person_id, kind=kind, reason=reason,
                                   amount_fen=amount, invoices=invoices, draft=True)
    except errors.DomainError as exc:
        return _applications_page(request, actor, exc.status, error=exc, **again)
    if files:
        cases.add_documents(ctx, actor=actor, application_id=app.id, document_ids=_store(request, actor, files))
    return _done(request, f"/me/applications/{app.id}",
                 N_("Your application is saved. Check it and submit it below."))


def _timeline(view: cases.ApplicationView) -> list[dict]:
    """The five stages a case passes, each reached or not, with when it was reached last."""
    reached = {}
    for step in view.history:
        status = S.SUBMITTED if step.to_status == S.RESUBMITTED else S(step.to_status)
        reached[status] = step.at
    if S.DISBURSING in reached and S.APPROVED not in reached:
        reached[S.APPROVED] = reached[S.DISBURSING]
    return [{"status": s, "at": reached.get(s), "current": s == view.application.status} for s in TIMELINE]


STAGE_NAMES = {S.SUBMITTED: N_("Submitted"), S.UNDER_REVIEW: N_("Under review"),
               S.SUPPLEMENT_REQUESTED: N_("Supplement"), S.APPROVED: N_("Approved"), S.PAID: N_("Paid")}


@router.get("/me/applications/{application_id}")
def application_page(request: Request, actor: Person, application_id: str):
    return _application_page(request, actor, application_id)


def _application_page(request: Request, actor: Actor, application_id: str, status_code: int = 200,
                      **values) -> Response:
    ctx = _ctx(request)
    view = cases.get(ctx, actor=actor, application_id=application_id)
    app = view.application
    missing = [v.DocumentType(m) for m in app.details.get("supplement", {}).get("missing", []) if m in v.DocumentType]
    asked = cases.documents_asked(ctx, actor=actor, application_id=application_id) if app.status == S.DRAFT else []
    return _page(request, "me/application.html", status_code, view=view, app=app,
                 timeline=_timeline(view), stage_names=STAGE_NAMES, missing=missing,
                 needed=[v.DocumentType(t) for t in asked if t in v.DocumentType],
                 vouchers=vouchers.list_for(ctx, actor=actor, application_id=application_id),
                 estimate=cases.arrival_if_approved_today(ctx, actor=actor, application_id=application_id),
                 steps=[(step, texts.title(step.to_status, step.data)) for step in view.history],
                 statuses=S, **_form_state(values, cited=[]))


def _papers_refused(request: Request, actor: Actor, app, files: forms.Files, *, status: str, action: str,
                    wanted: list[str]) -> Response | None:
    """The page again when papers cannot be taken now (nothing kept): a case in another state, no file, a file
    not accepted, or a document asked for with no file; None when they can."""
    application_id = app.id
    if app.status != status:
        exc = errors.ApplicationWrongState(status=app.status, action=action)
        return _application_page(request, actor, application_id, exc.status, error=exc)
    problems = forms.file_problems(request, files)
    given = {type for type, _content, _name in files}
    for type in wanted:
        if type not in given:
            problems.setdefault(f"doc_{type}", _invalid(request, N_("Choose the file of this document.")))
    if not files:
        problems["documents"] = _invalid(request, N_("Choose at least one file."))
    if problems:
        return _application_page(request, actor, application_id, 422, field_errors=problems)
    return None


@router.post("/me/applications/{application_id}/documents")
async def add_documents(request: Request, actor: Person, application_id: str):
    files = await forms.uploads(request)
    return await run_in_threadpool(_add_documents, request, actor, application_id, files)


def _add_documents(request: Request, actor: Actor, application_id: str, files: forms.Files) -> Response:
    app = cases.get(_ctx(request), actor=actor, application_id=application_id).application  # or refused
    refused = _papers_refused(request, actor, app, files, status=S.DRAFT, action="add_documents", wanted=[])
    if refused is not None:
        return refused
    cases.add_documents(_ctx(request), actor=actor, application_id=application_id,
                        document_ids=_store(request, actor, files))
    return _done(request, f"/me/applications/{application_id}", N_("The documents are added."))


@router.post("/me/applications/{application_id}/submit")
def submit_application(request: Request, actor: Person, application_id: str):
    try:
        cases.submit_draft(_ctx(request), actor=actor, application_id=application_id)
    except (errors.RuleRefused, errors.ApplicationWrongState, errors.ApplicationInvalid) as exc:
        return _application_page(request, actor, application_id, exc.status, error=exc, cited=_cited(exc))
    return _done(request, f"/me/applications/{application_id}", N_("Your application is submitted."))


@router.post("/me/applications/{application_id}/withdraw")
def withdraw_application(request: Request, actor: Person, application_id: str):
    try:
        cases.withdraw(_ctx(request), actor=actor, application_id=application_id)
    except errors.ApplicationWrongState as exc:
        return _application_page(request, actor, application_id, exc.status, error=exc)
    return _done(request, f"/me/applications/{application_id}", N_("Your application is withdrawn."))


@router.post("/me/applications/{application_id}/retry")
def retry_payout(request: Request, actor: Person, application_id: str):
    try:
        disbursement.retry(_ctx(request), actor=actor, application_id=application_id)
    except (errors.ApplicationWrongState, errors.BankAccountMissing) as exc:
        return _application_page(request, actor, application_id, exc.status, error=exc)
    return _done(request, f"/me/applications/{application_id}", N_("The payout is asked for again."))


@router.post("/me/applications/{application_id}/supplement")
async def supplement(request: Request, actor: Person, application_id: str):
    files = await forms.uploads(request)
    return await run_in_threadpool(_supplement, request, actor, application_id, files)


def _supplement(request: Request, actor: Actor, application_id: str, files: forms.Files) -> Response:
    ctx = _ctx(request)
    app = cases.get(ctx, actor=actor, application_id=application_id).application  # someone else's: refused
    refused = _papers_refused(request, actor, app, files, status=S.SUPPLEMENT_REQUESTED, action="supplement",
                              wanted=app.details.get("supplement", {}).get("missing", []))
    if refused is not None:
        return refused
    try:
        cases.supplement(ctx, actor=actor, application_id=application_id, document_ids=_store(request, actor, files))
    except (errors.RuleRefused, errors.ApplicationWrongState) as exc:
        return _application_page(request, actor, application_id, exc.status, error=exc)
    return _done(request, f"/me/applications/{application_id}", N_("The documents are sent; the review goes on."))


@router.post("/me/applications/{application_id}/vouchers/{kind}")
def voucher_pdf(request: Request, actor: Person, application_id: str, kind: str):
    content, issued = vouchers.pdf(_ctx(request), actor=actor, application_id=application_id, kind=kind)
    name = f"{application_id}-{issued.kind}.pdf"
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- /ask ------------------------------------------------------------------------------------------------

ACTION_NAMES = {"settle": N_("Paying at a hospital or pharmacy"), "withdraw": N_("Withdrawing the balance"),
                "reimburse": N_("Claiming reimbursement"), "file": N_("Filing for treatment in another region"),
                "family_grant": N_("Letting a relative use my account")}


def _ask_page(request: Request, status_code: int = 200, **values) -> Response:
    _t = render.gettext(request)
    reasons = [(code, f"{_t(ACTION_NAMES[a])}: {text}") for a, t in ASK_REASONS.items()
               for code, text in forms.choices(request, t)]
    return _page(request, "ask.html", status_code,
                 actions=[(a, _t(text)) for a, text in ACTION_NAMES.items()], reasons=reasons,
                 relations=forms.choices(request, v.Relation), regions=regions(request), person=_is_person(request),
                 **_form_state(values, answer=None, rules=None, agency=None))


def _rules_about(ctx, region: str, action: str) -> list[dict]:
    """The rules in force for a place that answer an action's questions."""
    wanted = ASK_QUESTIONS[action]
    return [r for r in sets.rules_in_force(ctx, region=region)["rules"]
            if any(r["question"] == w or (w.endswith(".") and r["question"].startswith(w)) for w in wanted)]


def _home_region(request: Request, actor: Actor) -> str:
    return enrolment.get_person(_ctx(request), actor=actor, person_id=actor.person_id).region


def _is_person(request: Request) -> bool:
    actor = session.optional_actor(request)
    return actor is not None and actor.role == Role.PERSON


@router.get("/ask")
def ask_page(request: Request):
    return _ask_page(request)


@router.post("/ask")
def ask(request: Request, action: Annotated[str, Form(max_length=20)] = "",
        reason: Annotated[str, Form(max_length=30)] = "", relation: Annotated[str, Form(max_length=20)] = "",
        amount: Annotated[str, Form(max_length=20)] = "", region: Annotated[str, Form(max_length=12)] = ""):
    ctx = _ctx(request)
    values = {"action": action, "reason": reason, "relation": relation, "region": region,
              "amount": amount if forms.fen_of(amount) is not None else ""}
    field_errors = {}
    if action not in ACTION_NAMES:
        field_errors["action"] = _invalid(request, N_("Choose what you want to do."))
    elif reason and action in ASK_REASONS and reason not in ASK_REASONS[action]:
        field_errors["reason"] = _invalid(request, N_("Choose a reason from the list."))
    if (relation and relation not in v.Relation) or (action == "family_grant" and not relation
                                                       and _is_person(request)):
        field_errors["relation"] = _invalid(request, N_("Choose the relation."))
    if amount.strip() and forms.fen_of(amount) is None:
        field_errors["amount"] = _invalid(request, N_("Enter the amount in yuan, like 150 or 150.50."))
    person = _is_person(request) and action != "settle"  # a payment's answer needs the institution: its rules
    if _is_person(request) and not person:
        region = _home_region(request, session.optional_actor(request))
    if not person and region not in dict(regions(request)):
        field_errors["region"] = _invalid(request, N_("Choose your region."))
    if field_errors:
        return _ask_page(request, 422, values=values, field_errors=field_errors)
    if person:
        actor = session.optional_actor(request)
        try:
            answer = explain.explain(ctx, actor=actor, person_id=actor.person_id, action=action,
                                     reason=reason or None, relation=relation or None,
                                     amount_fen=forms.fen_of(amount) if amount.strip() else None)
        except errors.DomainError as exc:
            return _ask_page(request, exc.status, values=values, error=exc)
        return _ask_page(request, values=values, answer=answer, agency=answer["agency"])
    try:
        agency = institutions.find_agency(ctx, region=region)
    except errors.AgencyNotFound:
        agency = None
    return _ask_page(request, values=values, rules=_rules_about(ctx, region, action), agency=agency)
