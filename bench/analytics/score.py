"""Score the misuse rules against the injected truth: each pattern's precision and recall, and the rules' throughput.

    .venv/bin/python bench/analytics/score.py --data DIR [--from 2025-01-01] [--to 2025-12-31] [--policies policies]
                                              [--engine duckdb|spark] [--repeat N] [--json FILE]

The rules run through `yibao.analytics.detection.detect` with the policy tree loaded from `--policies`, on DuckDB
(or `--engine spark`). Each rule runs on its own, timed (wall and CPU seconds, the best of `--repeat` runs). A
finding counts as true when its pattern and subject match a truth row: the same subject id, or, for a finding on
a person, one of the persons the truth row names (a shared account's holders, a grant's two ends). Precision is
over the distinct subjects found, recall over the truth rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analytics.generate import YEAR  # noqa: E402

from yibao.domain.findings import Detected, Pattern  # noqa: E402


def load_truth(folder: Path) -> list[dict]:
    """The injected truth rows of a data set."""
    return pq.read_table(folder / "truth.parquet").to_pylist()


def score(detected: list[Detected], truth: list[dict]) -> dict[str, dict]:
    """Per pattern: truth rows, distinct subjects found, true ones, precision and recall (None when undefined)."""
    report: dict[str, dict] = {}
    for pattern in Pattern:
        rows = [t for t in truth if t["pattern"] == pattern.value]
        by_subject = {(t["subject_kind"], t["subject_id"]): i for i, t in enumerate(rows)}
        by_person: dict[str, list[int]] = {}
        for i, t in enumerate(rows):
            for person in filter(None, (t["persons"] or "").split(",")):
                by_person.setdefault(person, []).append(i)
        found = {(str(d.subject_kind), d.subject_id) for d in detected if d.pattern == pattern}
        hit_rows: set[int] = set()
        true_subjects = 0
        for kind, subject in found:
            matched = ([by_subject[(kind, subject)]] if (kind, subject) in by_subject else []) + (
                by_person.get(subject, []) if kind == "person" else [])
            if matched:
                true_subjects += 1
                hit_rows.update(matched)
        report[pattern.value] = {
            "truth": len(rows),
            "found": len(found),
            "true": true_subjects,
            "precision": round(true_subjects / len(found), 4) if found else None,
            "recall": round(len(hit_rows) / len(rows), 4) if rows else None,
        }
    return report


def run_engine(folder: Path, date_from: dt.date, date_to: dt.date, policies: Path, engine: str = "duckdb",
               repeat: int = 1) -> tuple[list[Detected], dict, dict]:
    """Run each rule on the engine over the folder, `repeat` times; the findings and each rule's best wall and CPU
    seconds (CPU of this process and its threads: what a shared machine's load does not inflate)."""
    from yibao.analytics.detection import detect
    from yibao.policy.loader import load_tree

    policy = load_tree(policies)
    detected: list[Detected] = []
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for pattern in Pattern:
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            found = detect(folder, policy, date_from, date_to, [pattern], engine=engine)
            took, cpu_took = time.perf_counter() - started, time.process_time() - cpu_started
            seconds[pattern.value] = min(took, seconds.get(pattern.value, took))
            cpu[pattern.value] = min(cpu_took, cpu.get(pattern.value, cpu_took))
        detected.extend(found)
        print(f"  {pattern.value}: {seconds[pattern.value]:.1f} s, {cpu[pattern.value]:.1f} s CPU", file=sys.stderr,
              flush=True)
    return detected, seconds, cpu


def render(report: dict[str, dict], seconds: dict[str, float], rows: int, cpu: dict[str, float] | None = None) -> str:
    """The report as a text table."""
    def fmt(x):
        return "-" if x is None else f"{x:.3f}"

    cpu = cpu or {}
    lines = [f"{'pattern':<20} {'truth':>7} {'found':>7} {'true':>7} {'precision':>9} {'recall':>7} {'seconds':>8} "
             f"{'cpu s':>7}"]
    for pattern, r in report.items():
        took = seconds.get(pattern)
        lines.append(f"{pattern:<20} {r['truth']:>7} {r['found']:>7} {r['true']:>7} {fmt(r['precision']):>9} "
                     f"{fmt(r['recall']):>7} {'no rule' if took is None else f'{took:.2f}':>8} "
                     f"{'' if pattern not in cpu else f'{cpu[pattern]:.2f}':>7}")
    total = sum(seconds.values())
    lines.append(f"{rows:,} settlements scanned by all rules in {total:.1f} s ({sum(cpu.values()):.1f} s CPU): "
                 f"{rows / total:,.0f} rows/s" if total else "no rule ran")
    return "\n".join(lines)


def main() -> None:
    """Command line: run the rules over a synthetic data set and print (and optionally save) the scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--from", dest="date_from", type=dt.date.fromisoformat, default=dt.date(YEAR, 1, 1))
    parser.add_argument("--to", dest="date_to", type=dt.date.fromisoformat, default=dt.date(YEAR, 12, 31))
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--repeat", type=int, default=1, help="run each rule this many times and keep the best")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    args = parser.parse_args()
    rows = pq.ParquetFile(args.data / "settlements.parquet").metadata.num_rows
    detected, seconds, cpu = run_engine(args.data, args.date_from, args.date_to, args.policies, args.engine,
                                        args.repeat)
    report = score(detected, load_truth(args.data))
    print(render(report, seconds, rows, cpu))
    if args.json:
        total = sum(seconds.values())
        args.json.write_text(json.dumps({
            "settlements": rows, "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
            "rows_per_second": round(rows / total) if total else None, "patterns": report}, indent=2))


if __name__ == "__main__":
    main()
