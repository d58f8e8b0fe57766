"""The printed statement (个人账户对账单, R9): a Chinese PDF with an embedded CJK font and a verification code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from yibao.domain.clock import SHANGHAI
from yibao.domain.masking import mask_id_number
from yibao.domain.money import yuan
from yibao.domain.regions import region_name
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.services import vouchers
from yibao.services.accounts import balances
from yibao.services.context import Context

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
KIND_ZH = {
    "contribution": "缴费划入", "settlement": "结算支付", "refund": "退费", "hold_capture": "支取",
    "year_end": "年度结转", "reversal": "冲正", "quota_grant": "额度", "quota_use": "报销占用额度",
}
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def render_statement(ctx: Context, *, actor: Actor, person_id: str, date_from: dt.date | None = None,
                     date_to: dt.date | None = None) -> tuple[bytes, str]:
    """The statement as a PDF, and its verification code (recorded, so GET /vouchers/{code} confirms it)."""
    from weasyprint import HTML  # heavy: loaded only when a PDF is made

    statement = balances.statement(ctx, actor=actor, person_id=person_id, date_from=date_from, date_to=date_to)
    code = vouchers.new_code()
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        html = _env.get_template("statement_pdf.html").render(
            person=person, masked_id=mask_id_number(person.id_number), region=region_name(person.region) or "",
            statement=statement, kinds=KIND_ZH, yuan=yuan, code=vouchers.display(code),
            printed=ctx.now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
        )
        document = HTML(string=html).write_pdf()
        subject = {"person_id": person_id,
                   "from": date_from.isoformat() if date_from else None,
                   "to": date_to.isoformat() if date_to else None,
                   "opening_balance_fen": statement.opening_balance_fen,
                   "closing_balance_fen": statement.closing_balance_fen,
                   "entries": len(statement.lines)}
        vouchers.record(ctx, uow, actor, code=code, kind="statement", person_id=person_id, subject=subject,
                        document=document)
        uow.commit()
    return document, vouchers.display(code)
