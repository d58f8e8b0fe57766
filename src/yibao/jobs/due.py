"""`yibao jobs run-due`: the periodic jobs, in order, as a list of named steps a scheduler runs every few minutes.

Each step is a function (ctx, actor, now) → summary (counts by what it did) and is safe to run again: a second
run right after the first does nothing more. The steps today: cash vouchers past their validity lapse (the
amount is released, the application fails and the person is told), holds past their time are released, cards
past their expiry date are recorded expired, the first run in a new year carries the year that ended over
(当年 → 历年), and the chain heads are signed into a checkpoint. Further steps are added to STEPS.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from yibao.domain import errors
from yibao.domain.clock import SHANGHAI
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.accounts import balances
from yibao.services.applications import cash_vouchers
from yibao.services.audit import checkpoints
from yibao.services.context import Context
from yibao.services.credentials import cards
from yibao.services.idempotency import Once, answered

Summary = dict[str, int]


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    run: Callable[[Context, Actor, dt.datetime], Summary]


def lapse_cash_vouchers(ctx: Context, actor: Actor, now: dt.datetime) -> Summary:
    return {"expired": cash_vouchers.expire_due(ctx, actor=actor, now=now)}


def release_holds(ctx: Context, actor: Actor, now: dt.datetime) -> Summary:
    return {"released": balances.expire_holds(ctx)}


def mark_cards_expired(ctx: Context, actor: Actor, now: dt.datetime) -> Summary:
    return {"expired": cards.mark_expired(ctx, actor=actor, today=now.astimezone(SHANGHAI).date())}


def carry_year_over(ctx: Context, actor: Actor, now: dt.datetime) -> Summary:
    """The year that ended, once: the first run of a new year carries it over; later runs find it done."""
    year = now.astimezone(SHANGHAI).year - 1
    request = {"year": year}
    with ctx.uow() as uow:
        if answered(uow, scope="run_due", key=f"year_end:{year}", request=request) is not None:
            return {"accounts": 0}
    moved = balances.year_end(ctx, year=year)
    with ctx.uow() as uow:
        once = Once(uow, scope="run_due", key=f"year_end:{year}", request=request, now=now)
        if once.earlier is None:
            once.remember({"accounts": moved})
            ctx.audit(uow, actor, "jobs.year_end", "job", f"year_end:{year}", year=year, accounts=moved)
            uow.commit()
    return {"accounts": moved}


def sign_checkpoint(ctx: Context, actor: Actor, now: dt.datetime) -> Summary:
    """The chain heads signed into the checkpoint file (docs/guide/tamper-evidence.md), once every
    `YIBAO_CHECKPOINT_EVERY_MINUTES`. Without a signing key configured nothing is signed and the summary says so;
    books or a file found broken stop the run (exit 1)."""
    last = checkpoints.last_signed_at(ctx.settings)
    if last is not None and now - last < dt.timedelta(minutes=ctx.settings.checkpoint_every_minutes):
        return {"signed": 0}
    try:
        written = checkpoints.checkpoint(ctx, actor=actor)
    except errors.CheckpointKeyMissing:  # `yibao audit checkpoint` says so plainly; a scheduler carries on
        return {"signed": 0}
    return {"signed": 1, "line": written["checkpoint"]}


STEPS: list[Step] = [
    Step("cash_vouchers", "cash vouchers past their validity lapse; the person is told", lapse_cash_vouchers),
    Step("holds", "holds past their time are released", release_holds),
    Step("cards", "cards past their expiry date are recorded expired", mark_cards_expired),
    Step("year_end", "the year that ended is carried over, once", carry_year_over),
    Step("checkpoint", "the chain heads are signed into the checkpoint file", sign_checkpoint),
]


def run_due(ctx: Context, *, actor: Actor, now: dt.datetime | None = None,
            steps: list[Step] | None = None) -> list[tuple[str, Summary]]:
    """Run every step in order (or the steps given) and return each one's summary; each step's last run is kept
    in the runs file, a step that fails with its error (and the run stops there)."""
    now = now or ctx.now()
    done = []
    for step in STEPS if steps is None else steps:
        try:
            summary = step.run(ctx, actor, now)
        except Exception as exc:
            _keep_run(ctx, step.name, {"at": now.isoformat(), "ok": False,
                                       "error": getattr(exc, "code", type(exc).__name__)})
            raise
        _keep_run(ctx, step.name, {"at": now.isoformat(), "ok": True, "summary": summary})
        done.append((step.name, summary))
    return done


# --- the last runs ------------------------------------------------------------------------------------------


def runs_file(ctx: Context) -> Path:
    """Where each step's last run is kept: a file beside the database's data, so a run with nothing to do
    writes no row (a second run right after the first changes nothing in the database)."""
    return ctx.settings.data_dir / "jobs-last-runs.json"


def _read_runs(path: Path) -> dict[str, dict]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _keep_run(ctx: Context, name: str, run: dict) -> None:
    path = runs_file(ctx)
    runs = _read_runs(path) | {name: run}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_text(json.dumps(runs, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(partial, path)  # whole or not at all


@dataclass(frozen=True)
class LastRun:
    name: str
    description: str
    at: dt.datetime | None  # None: never run here
    ok: bool
    summary: Summary
    error: str | None


def last_runs(ctx: Context, *, actor: Actor) -> list[LastRun]:
    """Each step of run-due, in order, with when it last ran and what it did (or the error it stopped on)."""
    access.ensure(actor, "jobs", "read")
    runs = _read_runs(runs_file(ctx))
    out = []
    for step in STEPS:
        run = runs.get(step.name) if isinstance(runs.get(step.name), dict) else {}
        try:
            at = dt.datetime.fromisoformat(run["at"]) if run.get("at") else None
        except (TypeError, ValueError):
            at = None
        out.append(LastRun(step.name, step.description, at, bool(run.get("ok")), dict(run.get("summary") or {}),
                           run.get("error")))
    return out
