"""Misuse findings on the staff pages: the reviewer's list and one finding with its disposition form (and, once it is
confirmed on a person, the separate freeze of the account), and the auditor's read-only list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from yibao.domain import errors
from yibao.domain.findings import Disposition, FindingStatus, Pattern
from yibao.domain.users import Actor, Role
from yibao.services.misuse import findings
from yibao.web import csrf, render, session
from yibao.web.labels import N_

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])

Reviewer = Annotated[Actor, Depends(session.role(Role.REVIEWER))]
Auditor = Annotated[Actor, Depends(session.role(Role.AUDITOR))]
Short = Annotated[str, Query(max_length=40)]
Note = Annotated[str, Form(max_length=500)]

PATTERNS = {
    Pattern.SPLIT_PAYMENTS: N_("Split payments"),
    Pattern.LIMIT_HUGGING: N_("Days at the limit"),
    Pattern.MANY_INSTITUTIONS: N_("Many institutions in a day"),
    Pattern.FAR_APART: N_("Far apart within hours"),
    Pattern.SHARED_BANK_ACCOUNT: N_("Shared bank account"),
    Pattern.DUPLICATE_INVOICE: N_("Invoice claimed twice"),
    Pattern.FAMILY_PATTERN: N_("Family grant pattern"),
    Pattern.INSTITUTION_OUTLIER: N_("Institution far from its peers"),
    Pattern.AFTER_DEATH: N_("Paid after a death"),
    Pattern.EMERGENCY_UNCLAIMED: N_("Emergency without a claim"),
}
STATES = {FindingStatus.OPEN: N_("Open"), FindingStatus.CONFIRMED: N_("Confirmed"),
          FindingStatus.DISMISSED: N_("Dismissed"), FindingStatus.ESCALATED: N_("Escalated")}
SUBJECTS = {"person": N_("Insured person"), "institution": N_("Institution"), "bank_account": N_("Bank account")}
ACTIONS = {Disposition.CONFIRM: N_("Confirm"), Disposition.DISMISS: N_("Dismiss"),
           Disposition.ESCALATE: N_("Escalate")}
DONE = {Disposition.CONFIRM: N_("The finding is confirmed."), Disposition.DISMISS: N_("The finding is dismissed."),
        Disposition.ESCALATE: N_("The finding is escalated.")}
TERMS = {"pattern_names": PATTERNS, "finding_states": STATES, "subject_names": SUBJECTS, "action_names": ACTIONS}


def _ctx(request: Request):
    return request.app.state.ctx


def _choices(request: Request, names: dict, every: str) -> list[tuple[str, str]]:
    _t = render.gettext(request)
    return [("", _t(every))] + [(str(code), _t(text)) for code, text in names.items()]


def _list(request: Request, actor: Actor, template: str, status: str, pattern: str) -> Response:
    """The findings by state and pattern, worst first; a value not in the lists is a 422 with nothing listed."""
    status = status if status in {str(s) for s in FindingStatus} else ("" if not status else None)
    pattern = pattern if pattern in {str(p) for p in Pattern} else ("" if not pattern else None)
    problems = {}
    _t = render.gettext(request)
    if status is None:
        problems["status"] = _t(N_("Choose a state from the list."))
    if pattern is None:
        problems["pattern"] = _t(N_("Choose a pattern from the list."))
    rows = [] if problems else findings.list_findings(_ctx(request), actor=actor, status=status or None,
                                                      pattern=pattern or None)
    return render.page(request, template, status_code=422 if problems else 200, rows=rows, field_errors=problems,
                       values={"status": status or "", "pattern": pattern or ""},
                       status_choices=_choices(request, STATES, N_("Every state")),
                       pattern_choices=_choices(request, PATTERNS, N_("Every pattern")), **TERMS)


@router.get("/review/findings")
def review_findings(request: Request, actor: Reviewer, status: Short = "open", pattern: Short = ""):
    return _list(request, actor, "review/findings.html", status, pattern)


@router.get("/audit/findings")
def audit_findings(request: Request, actor: Auditor, status: Short = "", pattern: Short = ""):
    return _list(request, actor, "audit/findings.html", status, pattern)


def _finding_page(request: Request, actor: Actor, finding_id: str, status_code: int = 200, **values) -> Response:
    found = findings.get_finding(_ctx(request), actor=actor, finding_id=finding_id)
    return render.page(request, "review/finding.html", status_code=status_code, finding=found,
                       may_freeze=found.status == FindingStatus.CONFIRMED and found.subject_kind == "person",
                       action_choices=[(str(code), render.gettext(request)(text)) for code, text in ACTIONS.items()],
                       **TERMS, **{"field_errors": {}, "error": None, "values": {}, **values})


@router.get("/review/findings/{finding_id}")
def finding_page(request: Request, actor: Reviewer, finding_id: str):
    return _finding_page(request, actor, finding_id)


@router.post("/review/findings/{finding_id}/disposition")
def decide(request: Request, actor: Reviewer, finding_id: str, action: Annotated[str, Form(max_length=20)] = "",
           note: Note = ""):
    _t = render.gettext(request)
    if action not in {str(d) for d in Disposition}:
        return _finding_page(request, actor, finding_id, 422, values={"note": note},
                             field_errors={"action": _t(N_("Choose what you decide."))})
    if action == Disposition.DISMISS and not note.strip():
        return _finding_page(request, actor, finding_id, 422, values={"action": action},
                             field_errors={"note": _t(N_("Write why the finding is dismissed."))})
    try:
        findings.decide(_ctx(request), actor=actor, finding_id=finding_id, action=action, note=note)
    except errors.FindingNotFound:
        raise
    except errors.DomainError as exc:
        return _finding_page(request, actor, finding_id, exc.status, error=exc)
    return session.redirect(request, f"/review/findings/{finding_id}", flash=("success", _t(DONE[Disposition(action)])))


@router.post("/review/findings/{finding_id}/freeze")
def freeze(request: Request, actor: Reviewer, finding_id: str, reason: Annotated[str, Form(max_length=200)] = ""):
    _t = render.gettext(request)
    if not reason.strip():
        return _finding_page(request, actor, finding_id, 422,
                             field_errors={"reason": _t(N_("Write the reason for the freeze."))})
    try:
        findings.freeze_after_confirm(_ctx(request), actor=actor, finding_id=finding_id, reason=reason)
    except errors.FindingNotFound:
        raise
    except errors.DomainError as exc:
        return _finding_page(request, actor, finding_id, exc.status, error=exc)
    return session.redirect(request, f"/review/findings/{finding_id}",
                            flash=("success", _t(N_("The account is frozen."))))
