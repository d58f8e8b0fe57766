"""The person's money pages: /me/history (with the chart and the statement PDF), /me/evoucher (the QR that
refreshes every minute), /me/cards, /me/bank and /me/notices."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from yibao.domain import errors
from yibao.domain.masking import mask_account_no, mask_name
from yibao.domain.users import Actor, Role
from yibao.services import notices
from yibao.services.accounts import balances, statement_pdf
from yibao.services.credentials import cards, evouchers, payment_codes
from yibao.services.policy import sets
from yibao.services.registry import enrolment
from yibao.web import charts, csrf, i18n, labels, render, session
from yibao.web.forms import FormErrors, period
from yibao.web.labels import N_

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])

Person = Annotated[Actor, Depends(session.role(Role.PERSON))]
Text = Annotated[str, Form()]
From = Annotated[str, Query(alias="from")]
REFRESH_SECONDS = payment_codes.VALID_SECONDS - 10  # a new code is on the screen before the old one lapses

CARD_STATUSES = {
    "issued": N_("Issued, not activated yet"),
    "active": N_("In use"),
    "lost": N_("Reported lost"),
    "frozen": N_("Frozen by the agency"),
    "expired": N_("Expired"),
    "replaced": N_("Replaced"),
}
CHANNELS = {"app": N_("Mobile app"), "miniprogram": N_("Mini program"), "web": N_("This website")}
BAD_KIND = N_("Choose a kind from the list.")
PINS_DIFFER = N_("The two PINs are not the same.")


def _ctx(request: Request):
    return request.app.state.ctx


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- history ------------------------------------------------------------------------------------------------


def _period(request: Request, date_from: str, date_to: str, kind: str = "") -> tuple[dict, FormErrors]:
    """The filter as typed, parsed: dates (YYYY-MM-DD or empty) and an entry kind (or all)."""
    problems = FormErrors(request)
    day_from, day_to = period(problems, date_from, date_to)
    found = {"from": day_from, "to": day_to, "kind": None}
    kind = (kind or "").strip()
    if kind and kind not in labels.ENTRY_KINDS:
        problems.add("kind", BAD_KIND)
    found["kind"] = kind or None
    return found, problems


def _query(period: dict) -> str:
    return urlencode({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in period.items() if v})


@router.get("/me/history")
def history(request: Request, actor: Person, date_from: From = "", to: str = "", kind: str = ""):
    """The statement of a period, filtered by kind, with the monthly chart and figures."""
    period, problems = _period(request, date_from, to, kind)
    values = {"from": date_from, "to": to, "kind": kind}
    _ = render.gettext(request)
    kinds = [("", _("All kinds")), *((code, _(text)) for code, text in labels.ENTRY_KINDS.items())]
    if problems:
        return render.page(request, "me/history.html", status_code=422, field_errors=problems, values=values,
                           kinds=kinds, labels=labels.ENTRY_KINDS, statement=None, lines=[], months=[], query="")
    statement = balances.statement(_ctx(request), actor=actor, person_id=actor.person_id,
                                   date_from=period["from"], date_to=period["to"])
    lines = [line for line in statement.lines if period["kind"] in (None, line.kind)]
    return render.page(request, "me/history.html", field_errors=problems, values=values, kinds=kinds,
                       labels=labels.ENTRY_KINDS, statement=statement, lines=list(reversed(lines)),
                       months=charts.monthly(statement.lines, statement.opening_balance_fen),
                       query=_query({"from": period["from"], "to": period["to"]}))


@router.get("/me/history/chart.svg")
def history_chart(request: Request, actor: Person, date_from: From = "", to: str = ""):
    """The monthly chart of the period as an SVG image of its own."""
    period, problems = _period(request, date_from, to)
    if problems:
        raise errors.RequestInvalid(summary="from, to")
    statement = balances.statement(_ctx(request), actor=actor, person_id=actor.person_id,
                                   date_from=period["from"], date_to=period["to"])
    _, locale = render.gettext(request), render.locale_of(request)
    texts = charts.Texts(flows_title=_("Money in and out each month"), balance_title=_("Balance at each month's end"),
                         inflow=_("In"), outflow=_("Out"), balance=_("Balance"), empty=_("Nothing in this period."))
    svg = charts.history_svg(charts.monthly(statement.lines, statement.opening_balance_fen),
                             money=lambda fen: i18n.money(fen, locale), texts=texts,
                             title=_("Monthly inflow, outflow and balance"))
    return Response(svg, media_type="image/svg+xml",
                    headers={"Content-Security-Policy": charts.CHART_POLICY, "Cache-Control": "private, no-store"})


@router.post("/me/history/statement.pdf")
def history_pdf(request: Request, actor: Person, date_from: Annotated[str, Form(alias="from")] = "",
                to: Text = ""):
    """The printed statement of the period (each print is recorded with its verification code, so it is asked
    for by a form, not a link)."""
    period, problems = _period(request, date_from, to)
    if problems:
        raise errors.RequestInvalid(summary="from, to")
    document, code = statement_pdf.render_statement(_ctx(request), actor=actor, person_id=actor.person_id,
                                                    date_from=period["from"], date_to=period["to"])
    return Response(document, media_type="application/pdf", headers={
        "X-Voucher-Code": code, "Content-Disposition": f'attachment; filename="statement-{code}.pdf"'})


# --- e-voucher ----------------------------------------------------------------------------------------------


def _grouped(code: str, size: int = 4) -> str:
    return " ".join(code[i:i + size] for i in range(0, len(code), size))


def _evoucher_page(request: Request, actor: Actor, *, status_code: int = 200, field_errors=None, values=None,
                   error: errors.DomainError | None = None, paused: bool = False):
    ctx = _ctx(request)
    person = enrolment.get_person(ctx, actor=actor, person_id=actor.person_id)
    vouchers = evouchers.list_evouchers(ctx, actor=actor, person_id=actor.person_id)
    active = [v for v in vouchers if v.status == "active"]
    shown = qr = None
    if active and error is None:
        try:
            shown = payment_codes.issue_for_owner(ctx, actor=actor, address=_address(request))
            qr = segno.make(shown.code, error="m").svg_data_uri(scale=6, border=2)
        except errors.AccessForbidden:
            raise
        except errors.DomainError as exc:  # too many codes asked for, or the account may not pay now
            error, status_code = exc, exc.status
    return render.page(request, "me/evoucher.html", status_code=status_code, vouchers=vouchers, active=active,
                       masked_name=mask_name(person.name), channels=CHANNELS, code=shown, qr=qr,
                       digits=_grouped(shown.code) if shown else "", refresh=None if paused else REFRESH_SECONDS,
                       field_errors=field_errors or {}, values=values or {}, error=error)


@router.get("/me/evoucher")
def evoucher(request: Request, actor: Person, refresh: str = ""):
    """The code renews itself every minute; `?refresh=off` stops that (the time limit can be turned off,
    WCAG 2.2.1): the code shown still lapses after its minute, and a button asks for a new one."""
    return _evoucher_page(request, actor, paused=refresh == "off")


@router.post("/me/evoucher/activate")
def evoucher_activate(request: Request, actor: Person, name: Text = "", id_number: Text = ""):
    """Activate the e-voucher on the web channel after the real-name check."""
    problems = FormErrors(request)
    values = {"name": name, "id_number": id_number}
    name, id_number = problems.need("name", name), problems.need("id_number", id_number)
    if problems:
        return _evoucher_page(request, actor, status_code=422, field_errors=problems, values=values)
    try:
        evouchers.activate_evoucher(_ctx(request), actor=actor, person_id=actor.person_id, id_number=id_number,
                                    name=name, channel="web")
    except errors.EVoucherIdentityMismatch as exc:
        problems.add("id_number", exc)
        return _evoucher_page(request, actor, status_code=exc.status, field_errors=problems, values=values)
    except errors.DomainError as exc:
        return _evoucher_page(request, actor, status_code=exc.status, values=values, error=exc)
    _ = render.gettext(request)
    return session.redirect(request, "/me/evoucher", flash=("success", _("Your e-voucher is active.")))


# --- cards --------------------------------------------------------------------------------------------------

CARD_FIELDS = {errors.CardIdentityMismatch: "id_number", errors.PinWrong: "old_pin", errors.PinLocked: "old_pin"}


def _cards_page(request: Request, actor: Actor, *, selected: str | None = None, status_code: int = 200,
                field_errors=None, error: errors.DomainError | None = None):
    ctx = _ctx(request)
    today = ctx.today()
    owned = cards.list_cards(ctx, actor=actor, person_id=actor.person_id)
    rows = [{"card": c, "status": c.status_on(today).value} for c in owned]
    actionable = [r for r in rows if r["status"] in ("issued", "active")]
    chosen = next((r for r in actionable if r["card"].card_no == selected), actionable[0] if actionable else None)
    return render.page(request, "me/cards.html", status_code=status_code, rows=rows, chosen=chosen,
                       several=len(actionable) > 1, statuses=CARD_STATUSES, field_errors=field_errors or {},
                       error=error)


@router.get("/me/cards")
def cards_page(request: Request, actor: Person, card: str = ""):
    """The person's cards, with the forms for the one chosen (or the first that can be acted on)."""
    return _cards_page(request, actor, selected=card or None)


def _card_action(request: Request, actor: Actor, card_no: str, problems: FormErrors, act, done: str,
                 pin_field: str):
    """Run a card action; refusals go beside the field they concern, or above the form."""
    if problems:
        return _cards_page(request, actor, selected=card_no, status_code=422, field_errors=problems)
    try:
        act()
    except errors.AccessForbidden:
        raise
    except (errors.PinFormatInvalid, errors.PinTooSimple) as exc:
        problems.add(pin_field, exc)
        return _cards_page(request, actor, selected=card_no, status_code=exc.status, field_errors=problems)
    except errors.DomainError as exc:
        field = CARD_FIELDS.get(type(exc))
        if field is None:
            return _cards_page(request, actor, selected=card_no, status_code=exc.status, error=exc)
        problems.add(field, exc)
        return _cards_page(request, actor, selected=card_no, status_code=exc.status, field_errors=problems)
    return session.redirect(request, "/me/cards", flash=("success", render.gettext(request)(done)))


@router.post("/me/cards/{card_no}/activate")
def card_activate(request: Request, actor: Person, card_no: str, id_number: Text = "", pin: Text = "",
                  pin_again: Text = ""):
    """Activate an issued card with the ID number and a new PIN typed twice."""
    problems = FormErrors(request)
    id_number, pin = problems.need("id_number", id_number), problems.need("pin", pin)
    if problems.need("pin_again", pin_again) and pin and pin != pin_again:
        problems.add("pin_again", PINS_DIFFER)
    return _card_action(request, actor, card_no, problems, lambda: cards.activate(
        _ctx(request), actor=actor, card_no=card_no, id_number=id_number, pin=pin),
        N_("The card is activated."), "pin")


@router.post("/me/cards/{card_no}/pin")
def card_change_pin(request: Request, actor: Person, card_no: str, old_pin: Text = "", new_pin: Text = "",
                    new_pin_again: Text = ""):
    """Change a card's PIN: the current one, and the new one typed twice."""
    problems = FormErrors(request)
    old_pin, new_pin = problems.need("old_pin", old_pin), problems.need("new_pin", new_pin)
    if problems.need("new_pin_again", new_pin_again) and new_pin and new_pin != new_pin_again:
        problems.add("new_pin_again", PINS_DIFFER)
    return _card_action(request, actor, card_no, problems, lambda: cards.change_pin(
        _ctx(request), actor=actor, card_no=card_no, old_pin=old_pin, new_pin=new_pin),
        N_("The PIN is changed."), "new_pin")


@router.post("/me/cards/{card_no}/lost")
def card_lost(request: Request, actor: Person, card_no: str):
    """Report a card lost: it stops paying at once."""
    return _card_action(request, actor, card_no, FormErrors(request), lambda: cards.report_lost(
        _ctx(request), actor=actor, card_no=card_no), N_("The card is reported lost; it can no longer pay."), "")


# --- bank accounts ------------------------------------------------------------------------------------------

BANK_FIELDS = {errors.BankAccountInvalid: "account_no", errors.BankAccountDuplicate: "account_no",
               errors.BankAccountLinkedElsewhere: "account_no", errors.BankHolderMismatch: "holder_name",
               errors.BankNameMissing: "bank_name", errors.PhoneInvalid: "phone"}


def _bank_page(request: Request, actor: Actor, *, status_code: int = 200, field_errors=None, values=None,
               error: errors.DomainError | None = None):
    accounts = evouchers.list_bank_accounts(_ctx(request), actor=actor, person_id=actor.person_id)
    return render.page(request, "me/bank.html", status_code=status_code,
                       accounts=[{"account": a, "masked": mask_account_no(a.account_no)} for a in accounts],
                       field_errors=field_errors or {}, values=values or {}, error=error)


@router.get("/me/bank")
def bank(request: Request, actor: Person):
    """The linked bank accounts and the form to link one."""
    return _bank_page(request, actor)


@router.post("/me/bank/link")
def bank_link(request: Request, actor: Person, account_no: Text = "", bank_name: Text = "", holder_name: Text = "",
              phone: Text = "", primary: Text = ""):
    """Link a bank account in the person's own name (the service checks the holder and asks the bank)."""
    problems = FormErrors(request)
    values = {"account_no": account_no, "bank_name": bank_name, "holder_name": holder_name, "phone": phone,
              "primary": bool(primary)}
    for name in ("account_no", "bank_name", "holder_name"):
        problems.need(name, values[name])
    if problems:
        return _bank_page(request, actor, status_code=422, field_errors=problems, values=values)
    try:
        evouchers.link_bank_account(_ctx(request), actor=actor, person_id=actor.person_id,
                                    account_no=account_no.strip(), bank_name=bank_name, holder_name=holder_name,
                                    primary=True if primary else None, phone=phone.strip() or None)
    except errors.DomainError as exc:
        field = BANK_FIELDS.get(type(exc))
        if field is None:
            return _bank_page(request, actor, status_code=exc.status, values=values, error=exc)
        problems.add(field, exc)
        return _bank_page(request, actor, status_code=exc.status, field_errors=problems, values=values)
    return session.redirect(request, "/me/bank", flash=("success", render.gettext(request)(
        N_("The bank account is linked."))))


@router.post("/me/bank/{account_id}/primary")
def bank_primary(request: Request, actor: Person, account_id: str):
    """Make one of the person's accounts the primary one."""
    evouchers.set_primary(_ctx(request), actor=actor, account_id=account_id)
    return session.redirect(request, "/me/bank", flash=("success", render.gettext(request)(
        N_("Payouts now go to this account."))))


@router.post("/me/bank/{account_id}/unlink")
def bank_unlink(request: Request, actor: Person, account_id: str):
    """Unlink one of the person's accounts."""
    evouchers.unlink_bank_account(_ctx(request), actor=actor, account_id=account_id)
    return session.redirect(request, "/me/bank", flash=("success", render.gettext(request)(
        N_("The bank account is unlinked."))))


# --- notices ------------------------------------------------------------------------------------------------


@router.get("/me/notices")
def inbox(request: Request, actor: Person):
    """The inbox, newest first, unread marked."""
    messages = sets.notices_of(_ctx(request), actor=actor, person_id=actor.person_id)
    return render.page(request, "me/notices.html", messages=messages,
                       unread=sum(1 for m in messages if m.get("read_at") is None))


@router.post("/me/notices/{notice_id}/read")
def notice_read(request: Request, actor: Person, notice_id: int):
    """Mark one of the person's own messages read."""
    notices.mark_read(_ctx(request), actor=actor, person_id=actor.person_id, notice_id=notice_id)
    return session.redirect(request, f"/me/notices#n-{notice_id}")
