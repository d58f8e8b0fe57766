"""The cashier's desk of a designated hospital or pharmacy, /institution: the payment code or the card and PIN,
the items, a preview of what the account would pay, the settlement and its receipt, refunds, and the day's list
with its reconciliation. The institution is always the session's (`actor.institution_code`), never the form's."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.application_texts import local_minute
from yibao.domain.ids import new_id
from yibao.domain.money import YuanTextInvalid, fen_from_yuan
from yibao.domain.settlement_request import MAX_ITEM_FEN
from yibao.domain.users import Actor, Role
from yibao.services.registry import institutions
from yibao.services.settlement import payments, receipts
from yibao.web import csrf, i18n, render, session
from yibao.web.forms import BAD_DATE, REQUIRED
from yibao.web.labels import N_

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard),
                                                          Depends(session.role(Role.INSTITUTION))])

Cashier = Annotated[Actor, Depends(session.role(Role.INSTITUTION))]
ROWS = 5
CSV_TYPE = "text/csv; charset=utf-8"
METHODS = {"code": N_("Payment code of the e-voucher"), "card": N_("Social security card and PIN")}
FIELDS = {"method": N_("How the person pays"), "code": N_("Payment code"), "card_no": N_("Card number"),
          "pin": N_("PIN"), "items": N_("Items"), "amount": N_("Amount to refund")}
AMOUNT_PROBLEMS = {"format": N_("Type the amount in yuan, like 12.50."),
                   "decimals": N_("Give at most two decimals (fen)."),
                   "not_positive": N_("The amount must be more than zero."),
                   "too_large": N_("The amount is too large for one line.")}
LIMITS = {"limit.per_transaction": N_("the limit for one payment"),
          "limit.institution_daily": N_("the day's limit at this institution"),
          "limit.daily": N_("the day's limit at all institutions"),
          "limit.yearly": N_("the year's limit"),
          "limit.daily_count": N_("the number of payments a day"),
          "balance.insufficient": N_("the balance of the account"),
          "category.not_covered": N_("an item the account does not pay for")}
STATUSES = {"settled": N_("Settled"), "partly_refunded": N_("Partly refunded"), "refunded": N_("Refunded")}
NO_ITEMS = N_("Enter at least one item with its amount.")
BAD_CATEGORY = N_("Choose a category from the list.")
BAD_CODE = N_("The payment code is 20 digits.")
BAD_COUNT = N_("Give a whole number, 0 or more.")
CREDENTIAL_FIELDS = {"payment_code.": "code", "evoucher.": "code", "credential.": "code", "card.pin_": "pin",
                     "card.": "card_no"}


def _ctx(request: Request):
    return request.app.state.ctx


@dataclass
class Bill:
    """The desk's form as typed and as parsed: the credential, the item rows, and each field's own problem."""

    values: dict
    credential: dict | None = None
    items: list = field(default_factory=list)
    problems: dict = field(default_factory=dict)


def _read_bill(request: Request, form) -> Bill:
    """The credential and the item rows from the desk's form; empty rows are ignored."""
    _ = render.gettext(request)
    values = {name: str(form.get(name) or "")[:40] for name in ("method", "code", "card_no")}
    for row in range(ROWS):
        values[f"category_{row}"] = str(form.get(f"category_{row}") or "")[:20]
        values[f"amount_{row}"] = str(form.get(f"amount_{row}") or "")[:20]
    bill = Bill(values)
    method, pin = values["method"], str(form.get("pin") or "")[:12]
    if method == "code":
        code = "".join(values["code"].split())
        if not code:
            bill.problems["code"] = _(REQUIRED)
        elif not (code.isdigit() and len(code) == 20):
            bill.problems["code"] = _(BAD_CODE)
        bill.credential = {"type": "evoucher_code", "code": code}
    elif method == "card":
        card_no = values["card_no"].strip()
        for name, given in (("card_no", card_no), ("pin", pin)):
            if not given:
                bill.problems[name] = _(REQUIRED)
        bill.credential = {"type": "card", "card_no": card_no, "pin": pin}
    else:
        bill.problems["method"] = _(REQUIRED)
    for row in range(ROWS):
        category, amount = values[f"category_{row}"], values[f"amount_{row}"].strip()
        if not amount:
            continue
        if category not in v.Category:
            bill.problems[f"category_{row}"] = _(BAD_CATEGORY)
        try:
            bill.items.append({"category": category, "amount_fen": fen_from_yuan(amount, max_fen=MAX_ITEM_FEN)})
        except YuanTextInvalid as exc:
            bill.problems[f"amount_{row}"] = _(AMOUNT_PROBLEMS[exc.reason])
    if not bill.items and not any(k.startswith("amount_") for k in bill.problems):
        bill.problems["items"] = _(NO_ITEMS)
    return bill


def _money(request: Request, fen: int) -> str:
    return i18n.money(fen, render.locale_of(request))


def _credential_field(exc: errors.DomainError) -> str | None:
    """The desk's field a refusal of the credential belongs beside, if any."""
    return next((name for prefix, name in CREDENTIAL_FIELDS.items() if exc.code.startswith(prefix)), None)


def _categories(request: Request) -> list[tuple[str, str]]:
    zh = render.locale_of(request) == "zh_CN"
    return [(c.value, c.zh if zh else c.en) for c in v.Category]


def _institution(request: Request, actor: Actor):
    return institutions.get_institution(_ctx(request), actor=actor, code=actor.institution_code)


def _desk(request: Request, actor: Actor, *, values: dict | None = None, field_errors: dict | None = None,
          error: errors.DomainError | None = None, status_code: int = 200):
    values, institution = values or {"method": "code"}, _institution(request, actor)
    default = "drug" if institution.kind == "pharmacy" else "medical_service"
    for row in range(ROWS):
        values.setdefault(f"category_{row}", default)
    return _not_kept(render.page(request, "institution/desk.html", status_code=status_code, values=values,
                                 field_errors=field_errors or {}, error=error, rows=range(ROWS),
                                 categories=_categories(request), methods=METHODS, labels=FIELDS,
                                 institution=institution))


@router.get("/institution")
def desk(request: Request, actor: Cashier):
    """The desk: the person's payment code (or card and PIN) and the items of the bill."""
    return _desk(request, actor)


def _refused(request: Request, actor: Actor, bill: Bill, exc: errors.DomainError):
    """The desk again with a refusal beside the credential field it concerns, or above the form."""
    name = _credential_field(exc)
    return _desk(request, actor, values=bill.values, field_errors={name: exc} if name else {},
                 error=None if name else exc, status_code=exc.status)


def _preview(request: Request, actor: Actor, bill: Bill):
    try:
        shown = payments.preview(_ctx(request), actor=actor, institution_code=actor.institution_code,
                                 credential=bill.credential, items=bill.items)
    except errors.AccessForbidden:
        raise
    except errors.DomainError as exc:
        return _refused(request, actor, bill, exc)
    carried = {k: x for k, x in bill.values.items() if k != "code" or bill.credential["type"] == "evoucher_code"}
    return _not_kept(render.page(request, "institution/preview.html", shown=shown, carried=carried,
                                 idempotency_key=new_id("pay"), limits=LIMITS, field_errors={}, labels=FIELDS,
                                 categories=dict(_categories(request))))


def _not_kept(response: Response) -> Response:
    """A page that carries a payment code or a person's payment is kept by no cache, the browser's neither."""
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/institution/preview")
async def preview(request: Request, actor: Cashier):
    """What the account would pay for these items and what is left in cash, with the limits that apply:
    nothing is charged and the payment code stays usable."""
    bill = _read_bill(request, await request.form())
    if bill.problems:
        return _desk(request, actor, values=bill.values, field_errors=bill.problems, status_code=422)
    return await run_in_threadpool(_preview, request, actor, bill)


def _settle(request: Request, actor: Actor, bill: Bill, key: str):
    _ = render.gettext(request)
    try:
        paid = payments.settle(_ctx(request), actor=actor, idempotency_key=key,
                               institution_code=actor.institution_code, credential=bill.credential,
                               items=bill.items)
    except errors.AccessForbidden:
        raise
    except errors.DomainError as exc:
        return _refused(request, actor, bill, exc)
    return session.redirect(request, f"/institution/settlements/{paid['settlement_id']}", flash=("success", _(
        "Settled: the account paid %(paid)s, the cash part is %(cash)s.", paid=_money(request, paid["account_paid_fen"]),
        cash=_money(request, paid["cash_fen"]))))


@router.post("/institution/settle")
async def settle(request: Request, actor: Cashier):
    """Charge what the preview showed; the page's idempotency key makes a second submit the same payment."""
    form = await request.form()
    bill = _read_bill(request, form)
    key = str(form.get("idempotency_key") or "")[:64]
    if not key:  # not the preview's form: its key is what makes a second submit the same payment
        return _desk(request, actor, values=bill.values, error=errors.RequestInvalid(summary="idempotency_key"),
                     status_code=422)
    if bill.problems:
        return _desk(request, actor, values=bill.values, field_errors=bill.problems, status_code=422)
    return await run_in_threadpool(_settle, request, actor, bill, key)


# --- one settlement: its receipt and refunds -------------------------------------------------------------------


def _settlement_page(request: Request, actor: Actor, settlement_id: str, *, field_errors: dict | None = None,
                     status_code: int = 200):
    found = payments.get_settlement(_ctx(request), actor=actor, settlement_id=settlement_id)
    return _not_kept(render.page(
        request, "institution/settlement.html", status_code=status_code, s=found,
        refundable=found["account_paid_fen"] - found["refunded_fen"], limits=LIMITS, statuses=STATUSES,
        categories=dict(_categories(request)), field_errors=field_errors or {}, labels=FIELDS,
        idempotency_key=new_id("rfk")))


@router.get("/institution/settlements/{settlement_id}")
def settlement(request: Request, actor: Cashier, settlement_id: str):
    """One settlement of this institution: its items and decision, the receipt, and a refund form."""
    return _settlement_page(request, actor, settlement_id)


@router.post("/institution/settlements/{settlement_id}/receipt.pdf")
def receipt(request: Request, actor: Cashier, settlement_id: str):
    """The receipt (凭条) to print; each print is recorded with its verification code, so it is a form."""
    document, code = receipts.render_receipt(_ctx(request), actor=actor, settlement_id=settlement_id)
    return Response(document, media_type="application/pdf", headers={
        "X-Voucher-Code": code, "Content-Disposition": f'attachment; filename="receipt-{settlement_id}.pdf"'})


@router.post("/institution/settlements/{settlement_id}/refund")
def refund(request: Request, actor: Cashier, settlement_id: str,
           amount: Annotated[str, Form(max_length=20)] = "",
           idempotency_key: Annotated[str, Form(max_length=64)] = ""):
    """Give back all of what the account paid (amount left empty) or a part of it."""
    ctx, _ = _ctx(request), render.gettext(request)
    payments.get_settlement(ctx, actor=actor, settlement_id=settlement_id)  # another institution's: refused
    if not idempotency_key:  # not the settlement page's form: its key is what makes a second submit one refund
        return _settlement_page(request, actor, settlement_id, status_code=422,
                                field_errors={"amount": errors.RequestInvalid(summary="idempotency_key")})
    amount_fen = None
    if amount.strip():
        try:
            amount_fen = fen_from_yuan(amount, max_fen=MAX_ITEM_FEN)
        except YuanTextInvalid as exc:
            return _settlement_page(request, actor, settlement_id, status_code=422,
                                    field_errors={"amount": _(AMOUNT_PROBLEMS[exc.reason])})
    try:
        done = payments.refund(ctx, actor=actor, settlement_id=settlement_id,
                               idempotency_key=idempotency_key, amount_fen=amount_fen)
    except errors.AccessForbidden:
        raise
    except errors.DomainError as exc:
        return _settlement_page(request, actor, settlement_id, status_code=exc.status, field_errors={"amount": exc})
    return session.redirect(request, f"/institution/settlements/{settlement_id}", flash=("success", _(
        "Refunded %(amount)s to the personal account.", amount=_money(request, done["amount_fen"]))))


# --- the day's list and its reconciliation ------------------------------------------------------------------


TILL = {"count": N_("Number of payments"), "total": N_("Total of the bills"),
        "account_paid": N_("Paid by the accounts"), "cash": N_("Paid in cash")}
TILL_OF_SUMMARY = {"count": "count", "total": "total_fen", "account_paid": "account_paid_fen", "cash": "cash_fen"}


def _day_of(request: Request, text: str, problems: dict) -> dt.date:
    text = (text or "").strip()
    if not text:
        return _ctx(request).today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems["date"] = render.gettext(request)(BAD_DATE)
        return _ctx(request).today()


def _till(request: Request, typed: dict, problems: dict) -> dict:
    """The till's own figures as the cashier typed them (those left empty are not compared)."""
    _ = render.gettext(request)
    found = {}
    for name, text in typed.items():
        text = (text or "").strip()
        if not text:
            continue
        if name == "count":
            if text.isdigit() and len(text) <= 9:
                found[name] = int(text)
            else:
                problems[name] = _(BAD_COUNT)
            continue
        try:
            found[name] = fen_from_yuan(text, max_fen=10**14)
        except YuanTextInvalid as exc:
            if exc.reason == "not_positive" and not text.startswith("-"):
                found[name] = 0  # a till with nothing in it
            else:
                problems[name] = _(AMOUNT_PROBLEMS[exc.reason])
    return found


@router.get("/institution/day")
def day(request: Request, actor: Cashier, date: str = "", count: str = "", total: str = "",
        account_paid: str = "", cash: str = ""):
    """The day's settlements and totals; with the till's figures typed in, what matches and what differs."""
    ctx, problems = _ctx(request), {}
    typed = {"count": count[:20], "total": total[:20], "account_paid": account_paid[:20], "cash": cash[:20]}
    chosen = _day_of(request, date[:20], problems)
    till = _till(request, typed, problems)
    summary = payments.daily_summary(ctx, actor=actor, code=actor.institution_code, day=chosen)
    listed = payments.institution_settlements(ctx, actor=actor, code=actor.institution_code, day=chosen)
    compared = [{"name": name, "ours": summary[TILL_OF_SUMMARY[name]], "theirs": till[name],
                 "difference": till[name] - summary[TILL_OF_SUMMARY[name]]} for name in TILL if name in till]
    return render.page(request, "institution/day.html", status_code=422 if problems else 200, day=chosen,
                       summary=summary, listed=listed, compared=compared, values={**typed, "date": date[:20]},
                       field_errors=problems, till=TILL, statuses=STATUSES, categories=dict(_categories(request)),
                       csv_query=urlencode({"date": chosen.isoformat()}))


@router.get("/institution/day.csv")
def day_csv(request: Request, actor: Cashier, date: str = ""):
    """The day's settlements as a CSV file (with a byte-order mark, so Excel reads the Chinese right)."""
    ctx, problems, _ = _ctx(request), {}, render.gettext(request)
    chosen = _day_of(request, date[:20], problems)
    if problems:
        raise errors.RequestInvalid(summary="date")
    listed = payments.institution_settlements(ctx, actor=actor, code=actor.institution_code, day=chosen)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Receipt number"), _("Time"), _("Total of the bills"), _("Paid by the accounts"),
                     _("Paid in cash"), _("Refunded"), _("Status")])
    for s in listed:
        status = STATUSES.get(s["status"])
        writer.writerow([s["settlement_id"], local_minute(dt.datetime.fromisoformat(s["at"])),
                         *(_fen_text(s[k]) for k in ("total_fen", "account_paid_fen", "cash_fen", "refunded_fen")),
                         _(status) if status else s["status"]])
    name = f"settlements-{actor.institution_code}-{chosen.isoformat()}.csv"
    return Response(("\ufeff" + out.getvalue()).encode("utf-8"), media_type=CSV_TYPE,
                    headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"})


def _fen_text(fen: int) -> str:
    """Fen as a plain yuan figure for a spreadsheet: 1234.50."""
    return f"{fen // 100}.{fen % 100:02d}"
