"""`yibao account …` commands: balances and statements."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from yibao.cli.common import ADMIN, context, out, reports_errors

app = typer.Typer(help="Personal accounts and statements / 个人账户", no_args_is_help=True)


@app.command("statement")
@reports_errors
def statement(
    person_id: str,
    date_from: Annotated[dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"])] = None,
    date_to: Annotated[dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"])] = None,
    pdf: Annotated[Path | None, typer.Option(help="write the printable statement (with a verification code)")] = None,
) -> None:
    """The account's entries with the balance after each; --pdf writes the printable statement."""
    from yibao.domain.money import yuan
    from yibao.services.accounts import balances
    from yibao.services.accounts.statement_pdf import KIND_ZH, render_statement

    ctx = context()
    start, end = (d.date() if d else None for d in (date_from, date_to))
    if pdf is not None:
        document, code = render_statement(ctx, actor=ADMIN, person_id=person_id, date_from=start, date_to=end)
        pdf.write_bytes(document)
        out.print(f"{pdf} · 校验码 verification code {code}")
        return
    s = balances.statement(ctx, actor=ADMIN, person_id=person_id, date_from=start, date_to=end)
    table = Table(title=f"个人账户对账单 statement {person_id}")
    for name in ("日期 date", "业务 kind", "摘要 memo", "金额 amount", "余额 balance"):
        table.add_column(name, justify="right" if name.startswith(("金额", "余额")) else "left")
    for line in s.lines:
        table.add_row(str(line.business_date), KIND_ZH.get(line.kind, line.kind), line.memo, yuan(line.amount_fen),
                      yuan(line.balance_after_fen))
    out.print(table)
    out.print(f"期初 opening {yuan(s.opening_balance_fen)} · 期末 closing {yuan(s.closing_balance_fen)}")
