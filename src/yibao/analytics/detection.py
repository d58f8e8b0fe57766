"""The misuse rules run over a data set on the engine chosen: DuckDB embedded (the default) or Apache Spark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from yibao.analytics.rules import detect_with
from yibao.domain.findings import Detected, Pattern
from yibao.policy.loader import PolicySet

ENGINES = ("duckdb", "spark")


def detect(folder: Path, policy: PolicySet, start: dt.date, end: dt.date,
           patterns: list[Pattern] | None = None, *, engine: str = "duckdb", **options) -> list[Detected]:
    """Run every rule (or the given ones) over the data set in `folder` for a period, on the engine named."""
    if engine not in ENGINES:
        raise ValueError("unknown engine")
    if engine == "duckdb":
        from yibao.analytics import rules_duckdb as dialect
    else:
        from yibao.analytics import rules_spark as dialect
    with dialect.queries(folder, **options) as q:
        return detect_with(q, policy, start, end, patterns)
