"""The settlement receipt (结算凭条, R9): a Chinese PDF of one settlement at an institution — its items, what the
personal account paid, the cash part, the limits that applied — with a verification code that GET /vouchers/{code}
confirms. Its receipt number is the settlement id, so a claim for the same purchase is recognised."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.application_texts import local_minute
from yibao.domain.masking import mask_id_number, mask_name
from yibao.domain.money import yuan
from yibao.domain.registry import Institution, Person
from yibao.domain.settlement import Settlement
from yibao.domain.users import Actor
from yibao.services import access, vouchers
from yibao.services.context import Context

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
KIND = "settlement_receipt"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def render_receipt(ctx: Context, *, actor: Actor, settlement_id: str) -> tuple[bytes, str]:
    """The receipt of a settlement as a PDF and its verification code (recorded): for the institution that
    settled, the payer, the account's owner, or agency staff."""
    from weasyprint import HTML  # heavy: loaded only when a PDF is made

    code = vouchers.new_code()
    with ctx.uow() as uow:
        found = uow.get(Settlement, settlement_id)
        if found is None:
            raise errors.SettlementNotFound()
        access.ensure(actor, "settlement", "read", owners=(found.payer_id, found.owner_id),
                      institution_code=found.institution_code)
        payer, institution = uow.get(Person, found.payer_id), uow.get(Institution, found.institution_code)
        owner = payer if found.owner_id == found.payer_id else uow.get(Person, found.owner_id)
        html = _env.get_template("institution/receipt_pdf.html").render(
            s=found, institution=institution, payer_name=mask_name(payer.name),
            payer_id_number=mask_id_number(payer.id_number),
            owner_name=None if owner is payer else mask_name(owner.name),
            categories={c.value: c.zh for c in v.Category}, yuan=yuan, at=local_minute(found.at),
            code=vouchers.display(code), printed=local_minute(ctx.now()))
        document = HTML(string=html).write_pdf()
        subject = {"settlement_id": found.id, "receipt_no": found.id, "institution_code": found.institution_code,
                   "business_date": found.business_date.isoformat(), "total_fen": found.total_fen,
                   "account_paid_fen": found.account_paid_fen, "cash_fen": found.cash_fen,
                   "refunded_fen": found.refunded_fen}
        vouchers.record(ctx, uow, actor, code=code, kind=KIND, person_id=found.payer_id, subject=subject,
                        document=document)
        uow.commit()
    return document, vouchers.display(code)
