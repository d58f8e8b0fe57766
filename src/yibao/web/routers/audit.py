"""The auditor's console (read-only), /audit: the audit trail by person, entity, actor and date, the verification of
the books and the last checkpoint, policy versions and their differences. No page here changes money or cases: its
two forms that post find a person by ID number (kept out of the address) and run the verification."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request

from yibao.domain import errors
from yibao.domain.masking import mask_id_number, mask_name
from yibao.domain.users import Actor, Role
from yibao.services.audit import inspection
from yibao.services.policy import sets
from yibao.services.registry import enrolment
from yibao.web import csrf, render, session
from yibao.web.forms import FormErrors, period
from yibao.web.labels import N_
from yibao.web.routers.public import regions

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard), Depends(session.role(Role.AUDITOR))])

Auditor = Annotated[Actor, Depends(session.role(Role.AUDITOR))]
From = Annotated[str, Query(alias="from", max_length=20)]
Short = Annotated[str, Query(max_length=64)]

ENTITIES = {
    "person": N_("Insured person"),
    "application": N_("Benefit application"),
    "settlement": N_("Settlement"),
    "card": N_("Card"),
    "evoucher": N_("E-voucher"),
    "bank_account": N_("Bank account"),
    "document": N_("Document"),
    "enrollment": N_("Enrolment"),
    "family_grant": N_("Family grant"),
    "filing": N_("Filing"),
    "cash_voucher": N_("Cash voucher"),
    "voucher": N_("Printed voucher"),
    "disbursement_batch": N_("Bank batch"),
    "reversal": N_("Correction"),
    "employer": N_("Unit"),
    "institution": N_("Institution"),
    "user": N_("User"),
    "policy_set": N_("Policy set"),
    "checkpoint": N_("Checkpoint"),
}
CHANGES = {"added": N_("Added"), "removed": N_("Retired"), "changed": N_("Changed")}
ITEM_KINDS = {"rule": N_("Rule"), "parameter": N_("Parameter")}
NO_PERSON = N_("No insured person has this ID number.")
NO_REGION = N_("Choose a region from the list.")


def _ctx(request: Request):
    return request.app.state.ctx


def shown(value) -> str:
    """A detail's value as the auditor reads it: rules by their id and reference, other structures as JSON."""
    if isinstance(value, list) and value and all(isinstance(v, dict) and "rule_id" in v for v in value):
        return "; ".join(f"{v['rule_id']} ({v['reference']})" if v.get("reference") else v["rule_id"] for v in value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return "—" if value is None or value == "" else str(value)


def _entity_choices(request: Request) -> list[tuple[str, str]]:
    _ = render.gettext(request)
    return [("", _("Any kind")), *((code, _(text)) for code, text in ENTITIES.items())]


def _person_named(request: Request, actor: Actor, person_id: str):
    """Who the trail is filtered by, masked; None when the id names nobody."""
    try:
        person = enrolment.get_person(_ctx(request), actor=actor, person_id=person_id)
    except errors.PersonNotFound:
        return None
    return {"name": mask_name(person.name), "id_number": mask_id_number(person.id_number)}


@router.get("/audit")
def trail(request: Request, actor: Auditor, person: Short = "", entity: Short = "", entity_id: Short = "",
          who: Short = "", date_from: From = "", to: Annotated[str, Query(max_length=20)] = "",
          page: Annotated[str, Query(max_length=6)] = "1"):
    """The audit trail, searched by every filter given, one page at a time, oldest first."""
    values = {"person": person.strip(), "entity": entity.strip(), "entity_id": entity_id.strip(), "who": who.strip(),
              "from": date_from, "to": to}
    return _trail_page(request, actor, values, page=page)


def _trail_page(request: Request, actor: Actor, values: dict, *, page: str = "1", problems: FormErrors | None = None,
                id_number: str = ""):
    problems = problems if problems is not None else FormErrors(request)
    day_from, day_to = period(problems, values["from"], values["to"])
    number = int(page) if page.isdigit() and int(page) > 0 else 1
    found = None
    searched = any(values.values())
    if searched and not problems:
        found = inspection.search(_ctx(request), actor=actor, person_id=values["person"] or None,
                                  entity=values["entity"] or None, entity_id=values["entity_id"] or None,
                                  username=values["who"] or None, day_from=day_from, day_to=day_to, page=number)
    query = {k: v for k, v in values.items() if v}
    links = {n: "/audit?" + urlencode({**query, "page": n}) for n in (number - 1, number + 1)}
    return render.page(request, "audit/trail.html", status_code=422 if problems else 200, values=values,
                       field_errors=problems, found=found, links=links, entities=_entity_choices(request),
                       entity_names=ENTITIES, shown=shown, id_number=id_number,
                       person=_person_named(request, actor, values["person"]) if values["person"] else None)


@router.post("/audit/person")
def find_person(request: Request, actor: Auditor, id_number: Annotated[str, Form(max_length=40)] = ""):
    """Find a person by ID number (never put in the address), then show their trail."""
    problems = FormErrors(request)
    empty = {"person": "", "entity": "", "entity_id": "", "who": "", "from": "", "to": ""}
    if not problems.need("id_number", id_number):
        return _trail_page(request, actor, empty, problems=problems)
    try:
        found = enrolment.lookup_person(_ctx(request), actor=actor, id_number=id_number)
    except errors.PersonNotFound:
        problems.add("id_number", NO_PERSON)
        return _trail_page(request, actor, empty, problems=problems)
    except errors.DomainError as exc:
        problems.add("id_number", exc)
        return _trail_page(request, actor, empty, problems=problems)
    return session.redirect(request, "/audit?" + urlencode({"person": found.id}))


# --- the books ------------------------------------------------------------------------------------------------


def _verify_page(request: Request, actor: Actor, result=None):
    return render.page(request, "audit/verify.html", result=result,
                       last=inspection.last_checkpoint(_ctx(request), actor=actor))


@router.get("/audit/verify")
def verify_form(request: Request, actor: Auditor):
    """The last checkpoint signed, and the button that verifies the books."""
    return _verify_page(request, actor)


@router.post("/audit/verify")
def verify(request: Request, actor: Auditor):
    """Verify every chain, balance and seal now (it writes nothing), and show the result."""
    return _verify_page(request, actor, result=inspection.verify_books(_ctx(request), actor=actor))


# --- policy ---------------------------------------------------------------------------------------------------


@router.get("/audit/policy")
def policy(request: Request, actor: Auditor, region: Short = "", date_from: From = "",
           to: Annotated[str, Query(max_length=20)] = ""):
    """What changed in a region's policy between two days, with the references, and what is in force on the second."""
    ctx, problems = _ctx(request), FormErrors(request)
    choices = regions(request)
    values = {"region": region.strip() or (choices[0][0] if choices else ""),
              "from": date_from or dt.date(ctx.today().year, 1, 1).isoformat(), "to": to or ctx.today().isoformat()}
    day_from, day_to = period(problems, values["from"], values["to"])
    if values["region"] not in dict(choices):
        problems.add("region", NO_REGION)
    changes, in_force = [], None
    if not problems:
        changes = sets.changes(ctx, region=values["region"], day_from=day_from, day_to=day_to)
        in_force = sets.rules_in_force(ctx, region=values["region"], day=day_to)
    return render.page(request, "audit/policy.html", status_code=422 if problems else 200, values=values,
                       field_errors=problems, regions=choices, changes=changes, in_force=in_force,
                       shown=shown, statuses=CHANGES, kinds=ITEM_KINDS)
