"""One misuse run for a period: export the operational database (or take an existing data set), run the rules with
the policy in force, and hand the findings to the findings service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

from yibao.analytics.detection import ENGINES, detect
from yibao.analytics.export import digest_key, export
from yibao.domain.findings import Detected, SubjectKind
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


def recorded_ids(ctx: Context, detected: list[Detected], *, actor) -> dict[str, str]:
    """The findings service's ids of what was handed over, by fingerprint."""
    return findings.ids_of(ctx, actor=actor, detected=detected)


def as_dict(found: Detected, finding_id: str | None = None) -> dict:
    """A finding as plain JSON-ready data (the command's `--json`): its id once recorded, the pattern, the person or
    the institution it is about, the score, the evidence ids (also by kind), the rule and its version, the period,
    the facts and the fingerprint."""
    shown = dataclasses.asdict(found)
    person = found.subject_id if found.subject_kind == SubjectKind.PERSON else None
    institution = found.subject_id if found.subject_kind == SubjectKind.INSTITUTION else None
    shown.update(finding_id=finding_id, pattern=str(found.pattern), subject_kind=str(found.subject_kind),
                 person_id=person, institution_code=institution, rule=found.rule_version,
                 evidence=[i for ids in found.evidence.values() for i in ids], evidence_by_kind=found.evidence,
                 period_from=found.period_from.isoformat(), period_to=found.period_to.isoformat(),
                 fingerprint=found.fingerprint())
    return shown
