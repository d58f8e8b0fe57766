"""The agency's counter (窗口), /counter: finding a person, registration and life events with documents, applications taken in person, bank accounts, freezes, cash vouchers and appointment slots.

A person is found by ID number (posted, never in a URL) and from then on named by their id in the path; the
services check what the counter may do with them. Who acts is the session's counter user."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.applications import ApplicationStatus
from yibao.domain.clock import SHANGHAI
from yibao.domain.masking import mask_account_no, mask_id_number
from yibao.domain.users import Actor, Role
from yibao.services.accounts import balances, freezes
from yibao.services.applications import appointments, cases, cash_vouchers, documents
from yibao.services.credentials import evouchers
from yibao.services.registry import enrolment, institutions, life_events
from yibao.web import csrf, forms, render, session
from yibao.web.forms import FormErrors
from yibao.web.labels import N_
from yibao.web.routers.cases import APPLICATION_STATES
from yibao.web.routers.money import BANK_FIELDS
from yibao.web.routers.public import regions

Counter = Annotated[Actor, Depends(session.role(Role.COUNTER))]
router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard), Depends(session.role(Role.COUNTER))])

Text = Annotated[str, Form(max_length=100)]
Short = Annotated[str, Form(max_length=40)]
S = ApplicationStatus
PERSON_FIELDS = {"id_number": N_("ID card number"), "name": N_("Name as on the ID card"),
                 "phone": N_("Mobile number"), "region": N_("Region")}
PERSON_FIELD_OF = {errors.PersonDuplicate: "id_number", errors.IdNumberInvalid: "id_number",
                   errors.NameInvalid: "name", errors.PhoneInvalid: "phone", errors.RegionUnknown: "region"}
EVENT_KINDS = {"death": N_("Death"), "emigration": N_("Settling abroad")}
EVENT_PAPERS = {"death": v.DocumentType.death_certificate, "emigration": v.DocumentType.emigration_proof}
HEIR_FIELD_OF = {errors.HeirMismatch: "heir_id_number", errors.HeirRequired: "heir_id_number",
                 errors.HeirRelationImplausible: "relation"}
CASH_STATES = {"issued": N_("Not paid yet"), "redeemed": N_("Paid out"), "expired": N_("Lapsed")}
BOOKING_STATES = {"booked": N_("Booked"), "used": N_("Used"), "cancelled": N_("Cancelled")}
SLOT_FIELD = {errors.InstitutionNotFound: "institution_code"}
TIME = "%H:%M"


def _ctx(request: Request):
    return request.app.state.ctx


def _done(request: Request, to: str, text: str, **values) -> Response:
    return session.redirect(request, to, flash=("success", render.gettext(request)(text, **values)))


# --- the start page: find a person -------------------------------------------------------------------------


@router.get("/counter")
def start(request: Request, actor: Counter):
    return _start_page(request)


def _start_page(request: Request, status_code: int = 200, **values) -> Response:
    return render.page(request, "counter/index.html", status_code=status_code,
                       **{"values": {}, "field_errors": {}, "not_found": False, **values})


@router.post("/counter/find")
def find(request: Request, actor: Counter, id_number: Short = ""):
    """The person with this ID number, found by the service; the number never goes into a URL."""
    problems = FormErrors(request)
    if problems.need("id_number", id_number):
        try:
            person = enrolment.lookup_person(_ctx(request), actor=actor, id_number=id_number)
        except (errors.IdNumberInvalid, errors.PersonNotFound) as exc:
            problems.add("id_number", exc)
        else:
            return session.redirect(request, f"/counter/persons/{person.id}")
    return _start_page(request, 422, field_errors=problems, not_found="id_number" in problems)


# --- registering a person ----------------------------------------------------------------------------------


@router.get("/counter/persons/new")
def register_form(request: Request, actor: Counter):
    return _register_page(request)


def _register_page(request: Request, status_code: int = 200, **values) -> Response:
    return render.page(request, "counter/register.html", status_code=status_code, labels=PERSON_FIELDS,
                       regions=regions(request), **{"values": {}, "field_errors": {}, "error": None, **values})


@router.post("/counter/persons")
def register(request: Request, actor: Counter, id_number: Short = "", name: Text = "", phone: Short = "",
             region: Annotated[str, Form(max_length=12)] = ""):
    """Register the person whose ID card is in hand: verified at the counter."""
    ctx = _ctx(request)
    given = {"id_number": id_number.strip(), "name": name.strip(), "phone": phone.strip(), "region": region.strip()}
    values = {**given, "id_number": ""}  # a number is typed again, never shown back
    field_errors = enrolment.check_person(ctx, **given)
    if field_errors:
        return _register_page(request, 422, values=values, field_errors=field_errors)
    try:
        person = enrolment.register_person(ctx, actor=actor, **given)
    except errors.DomainError as exc:
        field = PERSON_FIELD_OF.get(type(exc))
        return _register_page(request, exc.status, values=values, field_errors={field: exc} if field else {},
                              error=None if field else exc)
    return _done(request, f"/counter/persons/{person.id}", N_("%(name)s is registered and verified at the counter."),
                 name=person.name)


# --- a person's page ---------------------------------------------------------------------------------------


@router.get("/counter/persons/{person_id}")
def person_page(request: Request, actor: Counter, person_id: str):
    return _person_page(request, actor, person_id)


def _person_page(request: Request, actor: Actor, person_id: str, status_code: int = 200, **values) -> Response:
    """The person as the counter sees them (ID number masked), with a form for each thing the counter does."""
    ctx = _ctx(request)
    person = enrolment.get_person(ctx, actor=actor, person_id=person_id)
    kept = freezes.list_freezes(ctx, actor=actor, person_id=person_id)
    accounts = evouchers.list_bank_accounts(ctx, actor=actor, person_id=person_id)
    zh = render.locale_of(request) == "zh_CN"
    cases_offered = [(r.value, r.zh if zh else r.en) for r in v.WithdrawalReason]
    return render.page(
        request, "counter/person.html", status_code=status_code, person=person,
        masked_id=mask_id_number(person.id_number),
        account=balances.get_account(ctx, actor=actor, person_id=person_id),
        events=[found["event"] for found in life_events.list_events(ctx, actor=actor, person_id=person_id)],
        frozen=next((f for f in kept if f.lifted_at is None), None), freezes=kept,
        accounts=[{"account": a, "masked": mask_account_no(a.account_no)} for a in accounts],
        applications=cases.queue(ctx, actor=actor, person_id=person_id), application_states=APPLICATION_STATES,
        event_kinds=EVENT_KINDS, reasons=cases_offered, relations=forms.choices(request, v.Relation),
        today=ctx.today().isoformat(), **{"values": {}, "field_errors": {}, "error": None, "form": None, **values})


@router.post("/counter/persons/{person_id}/events")
async def record_event(request: Request, actor: Counter, person_id: str):
    form = await request.form()
    paper = form.get("paper")
    files = [("paper", await paper.read(), paper.filename)] if isinstance(paper, UploadFile) and paper.filename else []
    return await run_in_threadpool(_record_event, request, actor, person_id, str(form.get("kind", "")),
                                   str(form.get("event_date", ""))[:20], files)


def _record_event(request: Request, actor: Actor, person_id: str, kind: str, event_date: str,
                  files: forms.Files) -> Response:
    """A death or emigration with its paper (the death certificate, the proof of settling abroad): the event is
    checked first, so a refused one keeps no paper."""
    ctx, problems = _ctx(request), FormErrors(request)
    values = {"kind": kind, "event_date": event_date if forms.day_of(event_date) else ""}
    again = {"values": values, "form": "event"}
    if kind not in EVENT_KINDS:
        problems.add("kind", N_("Choose what happened."))
    day = forms.day_of(event_date)
    if day is None:
        problems.add("event_date", N_("Enter the date as a date."))
    if not files:
        problems.add("paper", N_("Choose the file of this document."))
    if problems:
        return _person_page(request, actor, person_id, 422, field_errors=problems, **again)
    paper_type = EVENT_PAPERS[kind].value
    try:
        documents.check(ctx, type=paper_type, content=files[0][1])
        life_events.check_event(ctx, actor=actor, person_id=person_id, kind=kind, date=day)
    except (errors.DocumentInvalid, errors.DocumentTooLarge) as exc:
        return _person_page(request, actor, person_id, exc.status, field_errors={"paper": exc}, **again)
    except (errors.LifeEventInvalid, errors.LifeEventConflict) as exc:
        return _person_page(request, actor, person_id, exc.status, field_errors={"event_date": exc}, **again)
    paper = documents.upload(ctx, actor=actor, person_id=person_id, type=paper_type, content=files[0][1],
                             filename=files[0][2])
    life_events.record_event(ctx, actor=actor, person_id=person_id, kind=kind, date=day, document_ids=[paper.id])
    return _done(request, f"/counter/persons/{person_id}", N_("The event is recorded with its document."))


@router.post("/counter/persons/{person_id}/bank")
def link_bank(request: Request, actor: Counter, person_id: str, account_no: Text = "", bank_name: Text = "",
              holder_name: Text = "", phone: Short = ""):
    """Link a bank account in the person's own name, the bank confirming it."""
    problems = FormErrors(request)
    values = {"account_no": account_no, "bank_name": bank_name, "holder_name": holder_name, "phone": phone}
    for name in ("account_no", "bank_name", "holder_name"):
        problems.need(name, values[name])
    again = {"values": values, "form": "bank"}
    if problems:
        return _person_page(request, actor, person_id, 422, field_errors=problems, **again)
    try:
        evouchers.link_bank_account(_ctx(request), actor=actor, person_id=person_id, account_no=account_no.strip(),
                                    bank_name=bank_name, holder_name=holder_name, phone=phone.strip() or None)
    except errors.DomainError as exc:
        field = BANK_FIELDS.get(type(exc))
        if field is None:
            return _person_page(request, actor, person_id, exc.status, error=exc, **again)
        problems.add(field, exc)
        return _person_page(request, actor, person_id, exc.status, field_errors=problems, **again)
    return _done(request, f"/counter/persons/{person_id}", N_("The bank account is linked."))


def _freeze_step(request: Request, actor: Actor, person_id: str, step, field: str, reason: str,
                 text: str) -> Response:
    try:
        step(_ctx(request), actor=actor, person_id=person_id, reason=reason)
    except (errors.FreezeReasonMissing, errors.UnfreezeReasonMissing, errors.RequestInvalid) as exc:
        return _person_page(request, actor, person_id, exc.status, field_errors={field: exc}, form=field)
    except (errors.AccountAlreadyFrozen, errors.AccountNotFrozen) as exc:
        return _person_page(request, actor, person_id, exc.status, error=exc, form=field)
    return _done(request, f"/counter/persons/{person_id}", text)


@router.post("/counter/persons/{person_id}/freeze")
def freeze(request: Request, actor: Counter, person_id: str, freeze_reason: Annotated[str, Form(max_length=400)] = ""):
    """Freeze the person's account, with the reason the service asks for."""
    return _freeze_step(request, actor, person_id, freezes.freeze_person, "freeze_reason", freeze_reason,
                        N_("The account is frozen; every card and e-voucher of the person is refused."))


@router.post("/counter/persons/{person_id}/unfreeze")
def unfreeze(request: Request, actor: Counter, person_id: str,
             unfreeze_reason: Annotated[str, Form(max_length=400)] = ""):
    return _freeze_step(request, actor, person_id, freezes.unfreeze_person, "unfreeze_reason", unfreeze_reason,
                        N_("The freeze is lifted."))


# --- an application taken in person -----------------------------------------------------------------------


@router.post("/counter/persons/{person_id}/applications")
def take_application(request: Request, actor: Counter, person_id: str, reason: Short = "",
                     amount: Annotated[str, Form(max_length=20)] = "", heir_id_number: Short = "",
                     heir_name: Text = "", relation: Short = ""):
    """Start a withdrawal for the person (or, after a death, for the heir in front of the counter) as a draft:
    its checklist of documents then comes from the policy."""
    ctx, problems = _ctx(request), FormErrors(request)
    values = {"reason": reason, "amount": amount if forms.fen_of(amount) else "", "heir_name": heir_name.strip()[:40],
              "relation": relation}
    again = {"values": values, "form": "application"}
    death = reason == v.WithdrawalReason.death
    if reason not in v.WithdrawalReason:
        problems.add("reason", N_("Choose a case and its reason."))
    request_fields = {"kind": "withdrawal", "reason": reason, "draft": True}
    if death:
        heir = _heir_of(request, actor, problems, heir_id_number, heir_name, relation)
        if heir is not None:
            request_fields |= {"applicant_id": heir.id, "heir": {"id_number": heir_id_number.strip(),
                                                                 "name": heir_name.strip(), "relation": relation}}
    elif reason in v.WithdrawalReason:
        fen = forms.fen_of(amount)
        if not fen:
            problems.add("amount", N_("Enter the amount in yuan, like 150 or 150.50."))
        request_fields["amount_fen"] = fen
    if problems:
        return _person_page(request, actor, person_id, 422, field_errors=problems, **again)
    try:
        app, _rules = cases.submit(ctx, actor=actor, person_id=person_id, **request_fields)
    except errors.DomainError as exc:
        field = HEIR_FIELD_OF.get(type(exc))
        if field:
            return _person_page(request, actor, person_id, exc.status, field_errors={field: exc}, **again)
        return _person_page(request, actor, person_id, exc.status, error=exc, **again)
    return _done(request, f"/counter/applications/{app.id}",
                 N_("The application is started. Take in the documents of the checklist and submit it."))


def _heir_of(request: Request, actor: Actor, problems: FormErrors, id_number: str, name: str, relation: str):
    """The heir, a registered person found by the ID number they show; each missing or wrong field marked."""
    if relation not in v.Relation:
        problems.add("relation", N_("Choose the relation."))
    if not name.strip():
        problems.add("heir_name", N_("Enter the heir's name."))
    if not problems.need("heir_id_number", id_number):
        return None
    try:
        return enrolment.lookup_person(_ctx(request), actor=actor, id_number=id_number)
    except errors.IdNumberInvalid as exc:
        problems.add("heir_id_number", exc)
    except errors.PersonNotFound:
        problems.add("heir_id_number", N_("The heir is not registered: register them first."))
    return None


@router.get("/counter/applications/{application_id}")
def application_page(request: Request, actor: Counter, application_id: str):
    return _application_page(request, actor, application_id)


def _application_page(request: Request, actor: Actor, application_id: str, status_code: int = 200,
                      **values) -> Response:
    """The application with the policy's checklist: each document asked, taken in or still to scan."""
    ctx = _ctx(request)
    view = cases.get(ctx, actor=actor, application_id=application_id)
    app = view.application
    asked = [v.DocumentType(t) for t in cases.documents_asked(ctx, actor=actor, application_id=application_id)
             if t in v.DocumentType]
    have = {d.type for d in view.documents}
    return render.page(request, "counter/application.html", status_code=status_code, view=view, app=app,
                       person=enrolment.get_person(ctx, actor=actor, person_id=app.person_id),
                       applicant=enrolment.get_person(ctx, actor=actor, person_id=app.applicant_id),
                       checklist=[(t, t.value in have) for t in asked], draft=app.status == S.DRAFT,
                       application_states=APPLICATION_STATES,
                       document_of={t.value: t for t in v.DocumentType},
                       **{"field_errors": {}, "error": None, **values})


@router.post("/counter/applications/{application_id}/submit")
async def submit_application(request: Request, actor: Counter, application_id: str):
    files = await forms.uploads(request)
    return await run_in_threadpool(_submit_application, request, actor, application_id, files)


def _submit_application(request: Request, actor: Actor, application_id: str, files: forms.Files) -> Response:
    """Keep the scanned papers as the applicant's documents, attach them and submit: the policy decides now.
    A document of the checklist with no file, or a file not accepted, keeps nothing."""
    ctx = _ctx(request)
    view = cases.get(ctx, actor=actor, application_id=application_id)
    app = view.application
    if app.status != S.DRAFT:
        exc = errors.ApplicationWrongState(status=app.status, action="submit")
        return _application_page(request, actor, application_id, exc.status, error=exc)
    problems = FormErrors(request)
    for field, exc in forms.file_problems(request, files).items():
        problems.add(field, exc)
    given = {type for type, _content, _name in files} | {d.type for d in view.documents}
    for type in cases.documents_asked(ctx, actor=actor, application_id=application_id):
        if type not in given:
            problems.setdefault(f"doc_{type}", render.gettext(request)(N_("Choose the file of this document.")))
    if problems:
        return _application_page(request, actor, application_id, 422, field_errors=problems)
    if files:
        kept = [documents.upload(ctx, actor=actor, person_id=app.applicant_id, type=type, content=content,
                                 filename=name).id for type, content, name in files]
        cases.add_documents(ctx, actor=actor, application_id=application_id, document_ids=kept)
    try:
        cases.submit_draft(ctx, actor=actor, application_id=application_id)
    except (errors.RuleRefused, errors.ApplicationWrongState, errors.ApplicationInvalid) as exc:
        return _application_page(request, actor, application_id, exc.status, error=exc)
    return _done(request, f"/counter/applications/{application_id}",
                 N_("The application is submitted; it waits for a reviewer."))


# --- cash vouchers -----------------------------------------------------------------------------------------


@router.get("/counter/cash")
def cash_page(request: Request, actor: Counter):
    return _cash_page(request)


def _cash_page(request: Request, status_code: int = 200, **values) -> Response:
    return render.page(request, "counter/cash.html", status_code=status_code, cash_states=CASH_STATES,
                       **{"found": None, "code": "", "field_errors": {}, "error": None, "paid": None, **values})


@router.post("/counter/cash/lookup")
def cash_lookup(request: Request, actor: Counter, code: Short = ""):
    """The voucher the holder shows: its holder (masked), amount, state and validity."""
    problems = FormErrors(request)
    if not problems.need("code", code):
        return _cash_page(request, 422, field_errors=problems)
    try:
        found = cash_vouchers.lookup(_ctx(request), actor=actor, code=code)
    except errors.CashVoucherNotFound as exc:
        return _cash_page(request, exc.status, field_errors={"code": exc})
    return _cash_page(request, found=found, code=found["code"])


@router.post("/counter/cash/redeem")
def cash_redeem(request: Request, actor: Counter, code: Short = "", id_number: Short = ""):
    """Pay the voucher out once the holder's ID document is checked: its number must be the holder's."""
    ctx, problems = _ctx(request), FormErrors(request)
    try:
        found = cash_vouchers.lookup(ctx, actor=actor, code=code)
    except errors.CashVoucherNotFound as exc:
        return _cash_page(request, exc.status, field_errors={"code": exc})
    if not problems.need("id_number", id_number):
        return _cash_page(request, 422, found=found, code=found["code"], field_errors=problems)
    try:
        redeemed = cash_vouchers.redeem(ctx, actor=actor, code=code, id_number=id_number)
    except (errors.CashVoucherHolderMismatch, errors.CashVoucherIdentityRequired) as exc:
        return _cash_page(request, exc.status, found=found, code=found["code"], field_errors={"id_number": exc})
    except errors.DomainError as exc:
        return _cash_page(request, exc.status, found=cash_vouchers.lookup(ctx, actor=actor, code=code),
                          code=found["code"], error=exc)
    return _cash_page(request, found=cash_vouchers.lookup(ctx, actor=actor, code=code), code=found["code"],
                      paid=redeemed.cash_voucher.amount_fen)


# --- appointment slots -------------------------------------------------------------------------------------


@router.get("/counter/slots")
def slots_page(request: Request, actor: Counter, institution: str = "", day: str = ""):
    return _slots_page(request, actor, institution, forms.day_of(day) or _ctx(request).today())


def _slots_page(request: Request, actor: Actor, institution_code: str, day: dt.date, status_code: int = 200,
                **values) -> Response:
    """An institution's slots of a day with their bookings, and the form to publish one."""
    ctx = _ctx(request)
    places = [(i.code, f"{i.name} ({i.code})") for i in institutions.list_institutions(ctx, actor=actor)]
    chosen = institution_code if institution_code in dict(places) else (places[0][0] if places else "")
    slots = appointments.list_slots(ctx, actor=actor, institution_code=chosen, day=day) if chosen else []
    return render.page(request, "counter/slots.html", status_code=status_code, places=places, chosen=chosen,
                       day=day, booking_states=BOOKING_STATES, slots=[
                           {"slot": s, "starts": s.starts_at.astimezone(SHANGHAI).strftime(TIME),
                            "ends": s.ends_at.astimezone(SHANGHAI).strftime(TIME),
                            "bookings": appointments.bookings(ctx, actor=actor, slot_id=s.id)} for s in slots],
                       **{"values": {"day": day.isoformat(), "institution_code": chosen}, "field_errors": {},
                          "error": None, **values})


def _slots_url(institution_code: str, day: dt.date) -> str:
    return "/counter/slots?" + urlencode({"institution": institution_code, "day": day.isoformat()})


def _clock(text: str) -> dt.time | None:
    try:
        return dt.datetime.strptime((text or "").strip(), TIME).time()
    except ValueError:
        return None


@router.post("/counter/slots")
def publish_slot(request: Request, actor: Counter, institution_code: Short = "", day: Short = "",
                 starts: Short = "", ends: Short = "", capacity: Short = ""):
    """Open a time slot at an institution for so many people."""
    problems = FormErrors(request)
    values = {"institution_code": institution_code, "day": day if forms.day_of(day) else "", "starts": starts[:5],
              "ends": ends[:5], "capacity": capacity[:4]}
    on, start, end = forms.day_of(day), _clock(starts), _clock(ends)
    if on is None:
        problems.add("day", N_("Enter the date as a date."))
    if start is None:
        problems.add("starts", N_("Enter a time like 09:00."))
    if end is None:
        problems.add("ends", N_("Enter a time like 09:00."))
    if not capacity.strip().isdigit():
        problems.add("capacity", N_("Enter the number of places, like 10."))
    shown = on or _ctx(request).today()
    if problems:
        return _slots_page(request, actor, institution_code, shown, 422, values=values, field_errors=problems)
    try:
        appointments.publish_slot(_ctx(request), actor=actor, institution_code=institution_code,
                                  starts_at=dt.datetime.combine(on, start, SHANGHAI),
                                  ends_at=dt.datetime.combine(on, end, SHANGHAI), capacity=int(capacity))
    except (errors.AppointmentInvalid, errors.InstitutionNotFound) as exc:
        field = SLOT_FIELD.get(type(exc), "ends" if "capacity" not in exc.facts else "capacity")
        return _slots_page(request, actor, institution_code, shown, exc.status, values=values,
                           field_errors={field: exc})
    return _done(request, _slots_url(institution_code, on),
                 N_("The slot is published."))


@router.post("/counter/appointments/{appointment_id}/cancel")
def cancel_booking(request: Request, actor: Counter, appointment_id: str, institution: Short = "", day: Short = ""):
    """Cancel a booking for the person; its place is free again."""
    back = _slots_url(institution, forms.day_of(day) or _ctx(request).today())
    try:
        appointments.cancel(_ctx(request), actor=actor, appointment_id=appointment_id)
    except (errors.AppointmentNotFound, errors.AppointmentUsed, errors.AppointmentCancelled) as exc:
        return session.redirect(request, back, flash=("error", render.error_text(request, exc)))
    return _done(request, back, N_("The booking is cancelled; its place is free again."))
