"""`yibao analytics …` commands: the misuse rules over a period (R26)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.common import ADMIN, context, err, out, reports_errors

app = typer.Typer(help="Analytics / 数据分析", no_args_is_help=True)


def _refuse(code: str, zh: str, en: str) -> None:
    """Stop the command with a two-language message and its stable code."""
    err.print(f"[red]错误[/red] {zh}\n[red]error[/red] {en} [dim]({code})[/dim]", highlight=False)
    raise typer.Exit(1)


@app.command("misuse")
@reports_errors
def misuse(
    start: Annotated[dt.datetime | None, typer.Option("--from", formats=["%Y-%m-%d"],
                                                      help="first business day (default: the month's first)")] = None,
    end: Annotated[dt.datetime | None, typer.Option("--to", formats=["%Y-%m-%d"],
                                                    help="last business day (default: today)")] = None,
    engine: Annotated[str, typer.Option(help="duckdb (embedded, one region) or spark (many regions, a cluster)")
                      ] = "duckdb",
    master: Annotated[str | None, typer.Option(help="Spark only: the cluster's master URL (default: local mode)")
                      ] = None,
    dataset: Annotated[Path | None, typer.Option(help="keep the exported data set in this folder")] = None,
    source: Annotated[Path | None, typer.Option("--input", help="run over this existing data set instead of "
                                                "exporting the database (e.g. several regions' exports)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the findings as JSON")] = False,
) -> None:
    """Run the misuse rules over a period and hand the findings to review."""
    from yibao.analytics import misuse as runs
    from yibao.analytics.dataset import TABLES, table_path
    from yibao.analytics.spark import SparkUnavailable

    ctx = context()
    last = end.date() if end else ctx.today()
    first = start.date() if start else last.replace(day=1)
    if (first > last or engine not in runs.ENGINES or (master and engine != "spark")
            or (source is not None and dataset is not None)):
        _refuse("analytics.invalid", "期间、引擎或其选项无效", "the period, the engine or its options are not valid")
    if source is not None and not all(table_path(source, table).exists() for table in TABLES):
        _refuse("analytics.no_dataset", "输入目录中没有完整的数据集", "the input folder holds no complete data set")
    options = {"master": master} if master else {}
    try:
        found = runs.run(ctx, first, last, engine=engine, dataset=dataset, source=source, **options)
    except SparkUnavailable:
        _refuse("analytics.spark_unavailable", "无法启动 Spark（缺少 pyspark 或 Java）",
                "Spark cannot start here (pyspark or Java is missing)")
    recorded = runs.hand_over(ctx, found, actor=ADMIN)
    if as_json:
        ids = runs.recorded_ids(ctx, found, actor=ADMIN)
        typer.echo(json.dumps([runs.as_dict(f, ids.get(f.fingerprint())) for f in found], ensure_ascii=False,
                              indent=2, default=str))
        return
    counts: dict[str, int] = {}
    for f in found:
        counts[str(f.pattern)] = counts.get(str(f.pattern), 0) + 1
    out.print(f"{first.isoformat()}..{last.isoformat()}: 发现 {len(found)} 条线索 / {len(found)} finding(s)",
              highlight=False)
    for pattern, n in sorted(counts.items()):
        out.print(f"  {pattern}: {n}", highlight=False)
    added, already, others = recorded
    out.print(f"  交付复核：新增 {added} 条，已有 {already} 条 / to review: {added} new, {already} already recorded",
              highlight=False)
    if others:
        out.print(f"  未登记于本库的对象 {others} 条，未交付 / {others} about persons or institutions not registered "
                  "here, not recorded", highlight=False)
