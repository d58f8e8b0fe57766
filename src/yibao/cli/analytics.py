"""`yibao analytics …` commands: the misuse rules over a period (R26)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.common import ADMIN, context, err, out, reports_errors

app = typer.Typer(help="Analytics / 数据分析", no_args_is_help=True)

@app.command("misuse")
@reports_errors
def misuse(
    start: Annotated[dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"],
                                                      help="first business day (default: the month's first)")] = None,
    end: Annotated[dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"],
                                                    help="last business day (default: today)")] = None,
    engine: Annotated[str, typer.Option(help="duckdb")] = "duckdb",
    dataset: Annotated[Path | None, typer.Option(help="keep the exported data set in this folder")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False,
) -> None:
    """Run the misuse rules over a period and hand the findings to review."""
    from yibao.analytics import misuse as runs

    ctx = context()
    last = end.date() if end else ctx.today()
    first = start.date() if start else last.replace(day=1)
    if first > last or engine not in runs.ENGINES:
        err.print("[red]错误[/red] 期间或引擎无效\n[red]error[/red] the period or the engine is not valid "
                  "[dim](analytics.invalid)[/dim]", highlight=False)
        raise typer.Exit(1)
    found = runs.run(ctx, first, last, engine=engine, dataset=dataset)
    recorded = runs.hand_over(ctx, found, actor=ADMIN)
    if as_json:
        typer.echo(json.dumps([runs.as_dict(f) for f in found], ensure_ascii=False, indent=2, default=str))
        return
    counts: dict[str, int] = {}
    for f in found:
        counts[str(f.pattern)] = counts.get(str(f.pattern), 0) + 1
    out.print(f"{first.isoformat()}..{last.isoformat()}: 发现 {len(found)} 条线索 / {len(found)} finding(s)",
              highlight=False)
    for pattern, n in sorted(counts.items()):
        out.print(f"  {pattern}: {n}", highlight=False)
    added, already = recorded
    out.print(f"  交付复核：新增 {added} 条，已有 {already} 条 / to review: {added} new, {already} already recorded",
              highlight=False)
