"""`yibao policy …` commands: load and check policy trees, show the rules in force, what changed, and explain."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from yibao.cli.common import ADMIN, context, err, out, reports_errors
from yibao.policy.source import PolicyFileError

app = typer.Typer(help="Regional policy / 政策", no_args_is_help=True)

Day = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="the day asked about (default: today)")]


def _problems(exc: PolicyFileError) -> None:
    err.print(f"[red]错误[/red] 政策文件有 {len(exc.problems)} 处问题，未加载任何内容\n"
              f"[red]error[/red] {len(exc.problems)} problem(s) in the policy files; nothing was loaded",
              highlight=False)
    for problem in exc.problems:
        err.print(f"  {problem}", highlight=False, markup=False)
    raise typer.Exit(1)


@app.command("load")
@reports_errors
def load(directory: Annotated[Path | None, typer.Argument(help="default: the bundled policies/")] = None) -> None:
    """Check a policy tree and make it the one in force: all of it, or nothing when any file has a problem."""
    from yibao.services.policy import sets

    try:
        result = sets.load(context(), actor=ADMIN, root=directory)
    except PolicyFileError as exc:
        _problems(exc)
    if result.unchanged:
        out.print(f"unchanged: the set in force ({result.set_id}, {result.digest[:12]}) has the same files"
                  f" / 与现行政策相同，未重复加载")
        return
    out.print(f"loaded {result.set_id} ({result.digest[:12]}): regions {', '.join(result.regions)}; "
              f"{result.new_versions} new version(s), {len(result.changes)} rule change(s), "
              f"{result.notices} notice(s) to persons / 已加载")


@app.command("check")
def check(directory: Annotated[Path | None, typer.Argument(help="default: the bundled policies/")] = None) -> None:
    """Check a policy tree without loading it; every problem is named by file, line and key."""
    from yibao.config import Settings
    from yibao.policy.loader import load_tree
    from yibao.services.policy.sets import BUNDLED

    try:
        checked = load_tree(directory or Settings().policy_dir or BUNDLED)
    except PolicyFileError as exc:
        _problems(exc)
    rules = sum(len(r.rules) for r in checked.regions.values())
    out.print(f"ok: {len(checked.regions)} regions, {rules} rules ({checked.digest[:12]}) / 检查通过")


def _figures(item: dict) -> str:
    """What a rule says (its literal fields and its figures) or a parameter's value, on one line."""
    if "figures" not in item:
        return f"{item['value']} {item['unit']}"
    said = [f"{k}={'|'.join(map(str, x)) if isinstance(x, list) else x}" for k, x in item["values"].items()
            if x not in (None, [], False) or k == "allowed"]
    return ", ".join(said + [f"{k}={f['value']} {f['unit']}" for k, f in item["figures"].items()])


@app.command("show")
@reports_errors
def show(region: str, date: Day = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The rules and parameters in force for a region on a day, with versions and references."""
    from yibao.services.policy import sets

    found = sets.rules_in_force(context(), region=region, day=date.date() if date else None)
    if as_json:
        out.print_json(json.dumps(found, ensure_ascii=False, default=str))
        return
    table = Table(title=f"{found['name_zh'] or found['policy_region']} · {found['date']}")
    for column in ("rule / 规则", "since / 生效", "what / 内容", "values / 数值", "reference / 出处"):
        table.add_column(column, overflow="fold")
    for item in found["rules"]:
        table.add_row(item["name"], item["effective_from"], item["description_zh"], _figures(item), item["reference"])
    out.print(table)


@app.command("diff")
@reports_errors
def diff(region: str,
         date_from: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
         date_to: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What differs for a region between two days: rules and figures added, removed or changed."""
    from yibao.services.policy import sets

    changes = sets.changes(context(), region=region, day_from=date_from.date(), day_to=date_to.date())
    if as_json:
        out.print_json(json.dumps([c.as_dict() for c in changes], ensure_ascii=False, default=str))
        return
    if not changes:
        out.print(f"no change between {date_from.date()} and {date_to.date()} / 两日之间没有变化")
        return
    table = Table(title=f"{region}: {date_from.date()} → {date_to.date()}")
    for column in ("change / 变化", "kind", "name / 名称", "before / 之前", "after / 之后"):
        table.add_column(column, overflow="fold")
    for c in changes:
        table.add_row(c.status, c.kind, c.name, _figures(c.before.as_dict()) if c.before else "—",
                      _figures(c.after.as_dict()) if c.after else "—")
    out.print(table)


@app.command("explain")
@reports_errors
def explain(
    id_number: Annotated[str, typer.Option(help="the person's resident ID number")],
    action: Annotated[str, typer.Option(help="settle, withdraw, reimburse, file or family_grant")],
    amount_fen: Annotated[int | None, typer.Option()] = None,
    institution: Annotated[str | None, typer.Option(help="institution code (settle)")] = None,
    reason: Annotated[str | None, typer.Option(help="withdrawal, reimbursement or filing reason")] = None,
    relation: Annotated[str | None, typer.Option(help="family_grant: spouse, parent, child, …")] = None,
    channel: Annotated[str | None, typer.Option(help="counter, terminal, online, app, miniprogram")] = None,
    date: Day = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The 12333 answer: allowed or not, why, what is needed and where to go, citing the rules."""
    from yibao.services.policy import explain as service
    from yibao.services.registry import enrolment

    ctx = context()
    person = enrolment.lookup_person(ctx, actor=ADMIN, id_number=id_number)
    answer = service.explain(ctx, actor=ADMIN, person_id=person.id, action=action, amount_fen=amount_fen,
                             institution_code=institution, reason=reason, relation=relation, channel=channel,
                             day=date.date() if date else None)
    if as_json:
        out.print_json(json.dumps(answer, ensure_ascii=False, default=str))
        return
    out.print(answer["answer_zh"], highlight=False)
    out.print(answer["answer_en"], highlight=False)
    for reason_ in answer["reasons"]:
        out.print(f"  [dim]{reason_['rule_id']} ({reason_['region']}, {reason_['effective_from']}): "
                  f"{reason_['reference']}[/dim]", highlight=False)


ENGINES = ("numpy", "spark")


@app.command("simulate")
@reports_errors
def simulate(region: str,
             version: Annotated[Path, typer.Option("--version", help="the proposed policy file (YAML)")],
             date_from: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
             date_to: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
             out_dir: Annotated[Path | None, typer.Option("--out", help="write CSV, SVG and HTML here")] = None,
             engine: Annotated[str, typer.Option(help="numpy (embedded, the default) or spark")] = "numpy",
             dataset: Annotated[Path | None, typer.Option(
                 help="read the settlements from this analytics data set instead of the database")] = None,
             master: Annotated[str | None, typer.Option(help="Spark master URL (default: local)")] = None,
             as_of: Annotated[dt.datetime | None, typer.Option(
                 "--as-of", formats=["%Y-%m-%d"],
                 help="decide every day by the rules of this day (e.g. the proposal's effective date), against the "
                      "same day's rules without the proposal (embedded engine)")] = None,
             as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What-if: the region's recorded settlements of the period re-decided under a proposed policy file."""
    from yibao.analytics.spark import SparkUnavailable

    if engine not in ENGINES:
        err.print("[red]错误[/red] 引擎无效\n[red]error[/red] the engine is not valid [dim](simulate.engine)[/dim]",
                  highlight=False)
        raise typer.Exit(1)
    if dataset is not None and not (dataset / "settlements.parquet").exists():
        err.print("[red]错误[/red] 数据集目录中没有结算数据\n[red]error[/red] the data set folder holds no settlements "
                  "[dim](simulate.dataset)[/dim]", highlight=False)
        raise typer.Exit(1)
    if as_of is not None and engine != "numpy":
        err.print("[red]错误[/red] --as-of 仅适用于内置引擎（numpy）\n[red]error[/red] --as-of is for the embedded "
                  "engine (numpy) [dim](simulate.as_of)[/dim]", highlight=False)
        raise typer.Exit(1)
    days = (date_from.date(), date_to.date())
    try:
        summary = _simulate(context(), region, version, days, engine=engine, dataset=dataset, master=master,
                            out_dir=out_dir, as_of=as_of.date() if as_of else None)
    except PolicyFileError as exc:
        _problems(exc)
    except SparkUnavailable:
        err.print("[red]错误[/red] 本机无法运行 Spark（缺少 pyspark 或 Java）\n[red]error[/red] Spark cannot run here "
                  "(pyspark or Java is missing) [dim](simulate.spark)[/dim]", highlight=False)
        raise typer.Exit(1) from None
    except (OSError, LookupError):
        err.print("[red]错误[/red] 读不到政策文件，或没有该地区的政策目录\n"
                  "[red]error[/red] the policy file cannot be read, or no policy folder is the region's",
                  highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        out.print_json(json.dumps({**summary.__dict__, "account_change_fen": summary.account_change_fen,
                                   "cash_change_fen": summary.cash_change_fen}))
        return
    out.print(f"{summary.settlements} settlement(s) re-decided, {summary.changed} change ({summary.refused} refused);"
              f" account {summary.account_recorded_fen} → {summary.account_proposed_fen} fen,"
              f" cash {summary.cash_recorded_fen} → {summary.cash_proposed_fen} fen;"
              f" {summary.persons_affected} person(s), {summary.institutions_affected} institution(s) affected"
              f" / 模拟完成" + (f"; written to {out_dir}" if out_dir else ""), highlight=False)


def _simulate(ctx, region: str, version: Path, days: tuple[dt.date, dt.date], *, engine: str,
              dataset: Path | None, master: str | None, out_dir: Path | None, as_of: dt.date | None = None):
    """The what-if's summary (and its report written to out_dir) on the engine named: NumPy over the database or
    a data set, or Spark over a data set (the period exported from the database first when none is given)."""
    import tempfile

    from yibao.analytics import sim_report, sim_spark
    from yibao.analytics.export import digest_key, export
    from yibao.analytics.sim_run import as_of as decided_as_of
    from yibao.analytics.sim_source import from_dataset, load_settlements
    from yibao.analytics.simulate import candidate_set, redecide
    from yibao.policy.engine import Engine

    proposed = candidate_set(ctx.policy.policy_set, region, version.name, version.read_bytes())
    shown = (days[0].isoformat(), days[1].isoformat())
    if engine == "numpy":
        found = from_dataset(dataset, region, *days) if dataset else load_settlements(ctx, region, *days)
        outcome = (decided_as_of(ctx.policy.policy_set, proposed, found, as_of) if as_of
                   else redecide(Engine(proposed), found))
        return (sim_report.write(outcome, out_dir, region=region, date_from=shown[0], date_to=shown[1]) if out_dir
                else sim_report.summarise(outcome, region, *shown))
    with tempfile.TemporaryDirectory(prefix="what-if-") as scratch:
        folder = dataset or export(ctx.settings.resolved_database_url, Path(scratch), *days, ctx.policy,
                                  key=digest_key(ctx.settings.secret_key))
        result = sim_spark.redecide_dataset(proposed, folder, region=region, date_from=days[0], date_to=days[1],
                                            master=master, changes=out_dir is not None)
    return sim_spark.write(result, out_dir) if out_dir else result.summary
