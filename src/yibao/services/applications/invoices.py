"""Invoices reimbursed once (R18, R23): every invoice an application claims is written to `invoice_claims`
in the application's own unit of work, under a unique key per normalised issuer and number (and per national
e-invoice code), so a second claim of the same invoice, by the same person or another, now or at the same
moment, is refused `application.invoice_duplicate` naming the earlier application. A direct settlement's
receipt (its settlement id) is refused the same way, naming the settlement, whoever the invoice names as its
issuer; so is an invoice for the very purchase the person settled at its issuer that day (same items). Every
invoice names its issuer by a registered institution's code.

A claim holds its invoices from the moment it is filed (a draft included) until it is rejected or withdrawn,
which releases them: a claim refused on its merits may be filed again, corrected. A paid, approved or failed
claim keeps them for good.
"""

from __future__ import annotations

import datetime as dt

from yibao.domain import errors
from yibao.domain.applications import Application
from yibao.domain.invoices import keys_of, normal_number, settlement_receipt
from yibao.domain.registry import Institution
from yibao.domain.settlement import Settlement
from yibao.domain.users import Actor
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork


def _earlier_claims(uow: UnitOfWork, keys: list[str]) -> str | None:
    return uow.invoices.first_claim(keys)


def with_issuers(uow: UnitOfWork, invoices: list[dict]) -> list[dict]:
    """The invoices with each issuer written as the code of the registered institution it names (its code,
    however spaced or cased); an issuer no institution has is refused, naming the invoice by its place only."""
    named = []
    for position, invoice in enumerate(invoices, start=1):
        written = (invoice.get("issuer") or "").strip()
        institution = uow.get(Institution, written) or uow.get(Institution, normal_number(written))
        if institution is None:
            raise errors.InvoiceIssuerUnknown(position=position)
        named.append({**invoice, "issuer": institution.code})
    return named


def _same_items(settlement: Settlement, invoice: dict) -> bool:
    def lines(items: list[dict]) -> list[tuple[str, int]]:
        return sorted((item["category"], item["amount_fen"]) for item in items)
    return lines(settlement.items) == lines(invoice.get("items") or [])


def _settled_directly(uow: UnitOfWork, person_id: str, invoices: list[dict]) -> str | None:
    """The settlement an invoice is, if any: one whose receipt number (its settlement id) it bears, whoever
    issued it, or the person's own settlement at the issuer that day for the very same items."""
    for invoice in invoices:
        receipt = settlement_receipt(invoice.get("number") or "")
        if receipt and uow.get(Settlement, receipt) is not None:
            return receipt
        day = dt.date.fromisoformat(str(invoice["date"]))
        for settlement in uow.invoices.settled_on(person_id, invoice["issuer"], day):
            if _same_items(settlement, invoice):
                return settlement.id
    return None


def claim(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application, invoices: list[dict]) -> None:
    """Claim the application's invoices (its row already flushed, their issuers found by `with_issuers`); an
    invoice claimed before, or a purchase settled directly, is refused and nothing of the application is
    written."""
    if not invoices:
        return
    if settled := _settled_directly(uow, app.person_id, invoices):
        raise errors.InvoiceDuplicate(earlier=settled, settlement_id=settled)
    rows = {k.key: k.kind for invoice in invoices for k in keys_of(invoice)}
    if earlier := _earlier_claims(uow, list(rows)):
        raise errors.InvoiceDuplicate(earlier=earlier, application_id=earlier)
    now = ctx.now()
    if not uow.invoices.claim(rows, application_id=app.id, person_id=app.person_id, at=now):
        uow.rollback()  # another claim of the same invoice committed at the same moment
        earlier = _earlier_claims(uow, list(rows)) or ""
        raise errors.InvoiceDuplicate(earlier=earlier, application_id=earlier)
    ctx.audit(uow, actor, "application.invoices_claim", "application", app.id, invoices=len(invoices),
              keys=len(rows))


def release(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application) -> int:
    """A rejected or withdrawn application gives its invoices back: they may be claimed again."""
    released = uow.invoices.release(app.id)
    if released:
        ctx.audit(uow, actor, "application.invoices_release", "application", app.id, keys=released)
    return released
