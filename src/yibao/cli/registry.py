"""`yibao registry …` commands: the residents register extract (人口库)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from yibao.cli.common import ADMIN, context, out, reports_errors

app = typer.Typer(help="Residents register / 人口库", no_args_is_help=True)


@app.command("import-residents")
@reports_errors
def import_residents(
    file: Annotated[Path, typer.Argument(help="CSV with header: id_number,name,status,event_date")],
    rejected: Annotated[Path | None, typer.Option(help="where refused rows go (default FILE.rejected.csv)")] = None,
) -> None:
    """Import the residents register extract row by row (人口库比对的数据源).

    status is alive, deceased or emigrated; event_date (YYYY-MM-DD) is the date of the death or emigration.
    A deceased or emigrated row of a person registered here records that life event. Importing the same
    rows again changes nothing. Every refused row is written, with its line and reason, to the rejected file.
    """
    from yibao.services.registry.residents import import_file

    ctx = context()
    size = file.stat().st_size if file.is_file() else 0
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task("人口库导入 residents", total=size)
        summary = import_file(ctx, actor=ADMIN, path=file, rejected_path=rejected,
                              on_bytes=lambda n: progress.advance(task, n))
    out.print(f"rows {summary.rows} · accepted {summary.accepted} · updated {summary.updated} · "
              f"unchanged {summary.unchanged} · rejected {summary.rejected} · life events {summary.life_events} · "
              f"{summary.seconds:.1f} s")
    out.print(f"读取 {summary.rows} 行：新增 {summary.accepted}，更新 {summary.updated}，未变 {summary.unchanged}，"
              f"拒绝 {summary.rejected}，记录死亡或迁出 {summary.life_events}")
    if summary.rejected:
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(summary.reasons().items()))
        out.print(f"rejected rows ({reasons}) → {summary.rejected_path}", highlight=False, soft_wrap=True)
