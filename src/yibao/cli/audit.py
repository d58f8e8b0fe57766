"""`yibao audit …` commands: tamper evidence (verify the books, sign checkpoints)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.common import ADMIN, context, err, out, reports_errors

app = typer.Typer(help="Tamper evidence / 审计", no_args_is_help=True)


@app.command("verify")
@reports_errors
def verify(
    checkpoints: Annotated[Path | None, typer.Option(
        help="the checkpoint file to check against (default: YIBAO_CHECKPOINT_FILE; an auditor names their copy)",
    )] = None,
) -> None:
    """Recompute every hash chain, balance and seal, and check them against the last checkpoint; name the first
    row that was altered, removed or added."""
    from yibao.services.audit.checkpoints import verify as run

    done = run(context(), path=checkpoints)
    report, file = done.report, done.file
    out.print(f"checked {report.entries} entries, {report.accounts} accounts, {report.audit_records} audit records,"
              f" {report.sealed_rows} sealed rows / 已核对 {report.entries} 笔记账、{report.accounts} 个账户、"
              f"{report.audit_records} 条审计记录、{report.sealed_rows} 行封存数据", highlight=False)
    if file.last is not None:
        signed = "signatures checked / 已验签" if file.signatures_checked else \
            "signatures NOT checked: no key configured / 未配置密钥，未验签"
        out.print(f"against checkpoint #{file.last['n']} of {file.last['at']} in {file.path} ({signed})"
                  f" / 对照 {file.path} 中第 {file.last['n']} 号检查点", highlight=False)
    elif file.lines:
        out.print(f"no line of {file.path} holds ({file.lines} lines): the chains were checked on their own"
                  f" / 检查点文件中没有可信的行，仅核对了各链本身", highlight=False)
    else:
        out.print(f"no checkpoint yet in {file.path}: the chains were checked on their own"
                  f" / 尚无检查点，仅核对了各链本身", highlight=False)
    if done.ok:
        out.print("[green]ok[/green] every chain, balance and seal holds / 全部链、余额与封存一致")
        return
    first, others = done.breaks[0], done.breaks[1:]
    err.print(f"[red]错误[/red] 首个异常：{first.table} {first.row}：{first.reason_zh}\n"
              f"[red]error[/red] first broken row: {first.table} {first.row}: {first.reason_en}", highlight=False)
    for other in others[:19]:
        err.print(f"  also: {other.table} {other.row}: {other.reason_en}", highlight=False)
    if len(others) > 19:
        err.print(f"  … and {len(others) - 19} more", highlight=False)
    raise typer.Exit(1)


@app.command("checkpoint")
@reports_errors
def checkpoint(
    copy_to: Annotated[Path | None, typer.Option(
        help="also copy the whole checkpoint file here (for the auditor)",
    )] = None,
) -> None:
    """Verify the books, then sign their chain heads and counts into the checkpoint file outside the database."""
    from yibao.services.audit.checkpoints import checkpoint as run

    done = run(context(), actor=ADMIN, copy_to=copy_to)
    out.print(f"[green]ok[/green] checkpoint #{done['checkpoint']} signed: {done['chains']} chains, "
              f"{done['moved']} moved since the last one, written to {done['path']}"
              f" / 已签署第 {done['checkpoint']} 号检查点", highlight=False)
    if done["copied_to"]:
        out.print(f"copied to {done['copied_to']} / 已复制", highlight=False)
