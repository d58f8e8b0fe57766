"""`yibao jobs …` commands: monthly crediting, the year end, expired holds, the periodic run-due, and the worker of
the background jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from yibao.cli.common import ADMIN, context, err, out, reports_errors

app = typer.Typer(help="Batch jobs / 批处理", no_args_is_help=True)


@app.command("credit")
@reports_errors
def credit(
    file: Annotated[Path, typer.Argument(help="CSV with header: id_number, base_fen[, employer_uscc]"
                                          "[, declaration_id]")],
    period: Annotated[str, typer.Option(help="the month paid for, YYYY-MM")],
    rejected: Annotated[Path | None, typer.Option(help="where refused rows go (default FILE.rejected.csv)")] = None,
    batch: Annotated[int | None, typer.Option(min=1, max=100_000, help="rows per batch (default 500; 20,000 on "
                                              "PostgreSQL, where a batch is credited set-based, in two "
                                              "transactions at once when large)")] = None,
) -> None:
    """Credit a month's contributions to personal accounts by each region's allocation rule (划入).

    Columns: id_number (resident ID), base_fen (the contribution base in fen), employer_uscc
    (the unit's credit code; empty for flexible employment), declaration_id (optional: the
    collector's return file confirming a unit's or a flexible worker's declaration). Each base
    must lie within the region's floor and ceiling for the year. Safe to re-run after a crash:
    rows already credited are skipped. Every refused row is written with its reason.
    """
    from yibao.jobs.credit import credit_file

    ctx = context()
    size = file.stat().st_size if file.is_file() else 0
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task(f"{period} 缴费划入", total=size)
        summary = credit_file(ctx, actor=ADMIN, path=file, period=period, rejected_path=rejected, batch=batch,
                              on_bytes=lambda n: progress.advance(task, n))
    out.print(f"rows {summary.rows} · credited {summary.credited} ({summary.credited_fen} fen) · "
              f"already credited {summary.repeated} · rejected {summary.rejected} · "
              f"{summary.seconds:.1f} s ({summary.rows_per_second:.0f} rows/s)")
    out.print(f"读取 {summary.rows} 行，划入 {summary.credited} 行（{summary.credited_fen} 分），"
              f"此前已划入 {summary.repeated} 行，拒绝 {summary.rejected} 行")
    if summary.rejected:
        reasons = ", ".join(f"{code} {n}" for code, n in sorted(summary.reasons.items()))
        out.print(f"rejected rows ({reasons}) → {summary.rejected_path}")


@app.command("year-end")
@reports_errors
def year_end(year: Annotated[int, typer.Option(help="the year that has ended")]) -> None:
    """Carry each account's current-year part (当年) over (历年); safe to re-run."""
    from yibao.services.accounts.balances import year_end as run

    moved = run(context(), year=year)
    out.print(f"{year}: carried over {moved} accounts / 已结转 {moved} 个账户")


@app.command("expire-holds")
@reports_errors
def expire_holds() -> None:
    """Release every hold whose time is up."""
    from yibao.services.accounts.balances import expire_holds as run

    released = run(context())
    out.print(f"released {released} holds / 已释放 {released} 笔冻结")


@app.command("run-due")
@reports_errors
def run_due() -> None:
    """Run the periodic jobs that are due, in order (for cron or a systemd timer); safe to run again.

    Lapses cash vouchers past their validity (and tells the person), releases holds past their time,
    records expired cards, carries the year that ended over once and signs a checkpoint (when a key is
    configured). Prints what each step did.
    """
    from yibao.jobs.due import run_due as run

    done = run(context(), actor=ADMIN)
    for name, summary in done:
        counts = ", ".join(f"{what} {n}" for what, n in summary.items())
        out.print(f"{name}: {counts}")
    total = sum(n for _, summary in done for n in summary.values())
    out.print(f"run-due: {len(done)} steps, {total} changes / 已执行 {len(done)} 项定时任务，处理 {total} 项")


@app.command("worker")
@reports_errors
def worker() -> None:
    """Work on the background jobs (imports of files, batches) in this process until stopped (Ctrl+C, SIGTERM).

    On PostgreSQL only, where a job runner (procrastinate) keeps the queue in the database: run as many workers as
    wanted beside `yibao serve`, which runs one of its own. On SQLite the server's process runs the jobs itself.
    """
    import asyncio

    from yibao.jobs.runners import ProcrastinateRunner
    from yibao.services.jobs import work

    ctx = context()
    runner = work.runner(ctx)
    if not isinstance(runner, ProcrastinateRunner):
        err.print("yibao jobs worker needs PostgreSQL; on SQLite `yibao serve` runs the jobs itself / "
                  "后台任务进程需要 PostgreSQL；SQLite 上由 yibao serve 自行执行")
        raise typer.Exit(2)
    out.print("job worker started / 后台任务进程已启动")
    asyncio.run(runner.work())
    out.print("job worker stopped / 后台任务进程已停止")
