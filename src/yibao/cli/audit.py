"""`yibao audit …` commands: tamper evidence."""

from __future__ import annotations

import typer

from yibao.cli.common import context, err, out, reports_errors

app = typer.Typer(help="Tamper evidence / 审计", no_args_is_help=True)


@app.command("verify")
@reports_errors
def verify() -> None:
    """Recompute every hash chain and balance; name the first row that was altered, removed or added."""
    from yibao.services.audit_verify import verify as run

    report = run(context())
    out.print(f"checked {report.entries} entries, {report.accounts} accounts, {report.audit_records} audit records"
              f" / 已核对 {report.entries} 笔记账、{report.accounts} 个账户、{report.audit_records} 条审计记录")
    if report.ok:
        out.print("[green]ok[/green] every chain and balance holds / 全部链与余额一致")
        return
    first = report.breaks[0]
    err.print(f"[red]错误[/red] 首个异常：{first.table} {first.row}：{first.reason_zh}\n"
              f"[red]error[/red] first broken row: {first.table} {first.row}: {first.reason_en}", highlight=False)
    for other in report.breaks[1:20]:
        err.print(f"  also: {other.table} {other.row}: {other.reason_en}", highlight=False)
    if len(report.breaks) > 20:
        err.print(f"  … and {len(report.breaks) - 20} more", highlight=False)
    raise typer.Exit(1)
