"""One misuse run for a period: export the operational database (or take an existing data set), run the rules with
the policy in force, and hand the findings to the findings service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

from yibao.analytics.detection import ENGINES, detect
from yibao.analytics.export import digest_key, export
from yibao.domain.findings import Detected
from yibao.services.context import Context
from yibao.services.misuse import findings


def run(ctx: Context, start: dt.date, end: dt.date, *, engine: str = "duckdb",
        dataset: Path | None = None, source: Path | None = None, **options) -> list[Detected]:
    """Export the period to a data set (a temporary one unless given), or take the existing data set `source`
    as it is, and run every rule over it on the engine named (`options` go to the engine: Spark's `master`)."""
    if engine not in ENGINES:
        raise ValueError("unknown engine")
    policy = ctx.policy
    if source is not None:
        return detect(Path(source), policy.policy_set, start, end, engine=engine, **options)
    with tempfile.TemporaryDirectory(prefix="misuse-") as scratch:
        folder = export(ctx.settings.resolved_database_url, Path(dataset or scratch), start, end, policy,
                        key=digest_key(ctx.settings.secret_key))
        return detect(folder, policy.policy_set, start, end, engine=engine, **options)


def hand_over(ctx: Context, detected: list[Detected], *, actor) -> tuple[int, int, int]:
    """Give the findings about subjects registered here to the findings service, which records each fingerprint
    once: (added, already, about others: not recorded)."""
    kept, others = findings.registered_here(ctx, actor=actor, detected=detected)
    added, already = findings.record(ctx, actor=actor, detected=kept)
    return added, already, others


def as_dict(found: Detected) -> dict:
    """A finding as plain JSON-ready data, with its fingerprint."""
    shown = dataclasses.asdict(found)
    shown.update(pattern=str(found.pattern), subject_kind=str(found.subject_kind),
                 period_from=found.period_from.isoformat(), period_to=found.period_to.isoformat(),
                 fingerprint=found.fingerprint())
    return shown
