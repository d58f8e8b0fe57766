"""What-if benchmark: settlements re-decided per second under a changed limit, with every running total.

    .venv/bin/python bench/analytics/simulate_bench.py --data DIR [--from 2025-01-01] [--to 2025-12-31] [--rounds 3]
    .venv/bin/python bench/analytics/simulate_bench.py --rows 1000000 [--persons 50000] [--rounds 3]

With --data, the settlements of Beijing's persons are read from a data set that generate.py wrote
(`sim_source.from_dataset`: no balances, the refunds of the file); without it, a synthetic year is made in
memory with opening balances and monthly credits, so the balance is carried too: persons with a skewed number of
payments, institutions of three kinds across the districts, log-normal amounts, daytime hours, 5 % of payments
partly refunded. The proposal lowers the daily limit at one institution from ¥500 to ¥300 from the first day.
Reported for the reading and for the re-decision (the rule lookups included): wall time, CPU time (user and
system: on a loaded machine the page faults of fresh arrays are a large share) and user time of this process,
each the best of the rounds (other work shares the machine), and settlements per second of each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from yibao.analytics import sim_source, simulate  # noqa: E402
from yibao.policy.engine import Engine  # noqa: E402
from yibao.policy.loader import load_tree  # noqa: E402

BEIJING = "110000"
DISTRICTS = ["110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112", "110113"]
KINDS = np.array(["hospital", "clinic", "pharmacy"], dtype=object)


def synthetic(rows: int, persons: int, seed: int = 1) -> simulate.Settlements:
    """A year of settlements of `persons` insured in Beijing, with their balances and credits."""
    rng = np.random.default_rng(seed)
    weights = rng.gamma(2.0, 1.0, persons)  # a few persons pay far more often than most
    owner_index = rng.choice(persons, size=rows, p=weights / weights.sum())
    owner_names = np.array([f"psn_{i:08d}" for i in range(persons)], dtype=object)
    institutions = 600
    inst_index = rng.integers(0, institutions, rows)
    inst_kind = KINDS[rng.choice(3, institutions, p=[0.2, 0.3, 0.5])]
    inst_region = np.array(DISTRICTS, dtype=object)[rng.integers(0, len(DISTRICTS), institutions)]
    day = np.datetime64("2026-01-01") + rng.integers(0, 365, rows).astype("timedelta64[D]")
    seconds = rng.normal(10.5, 2.5, rows).clip(6, 21.9) * 3600 - 8 * 3600  # China hours, as UTC
    at = day.astype("datetime64[us]") + (seconds * 1e6).astype("timedelta64[us]")
    total = np.round(rng.lognormal(8.7, 1.0, rows)).astype(np.int64) + 100  # about ¥60 median
    covered = np.where(rng.random(rows) < 0.9, total, (total * 0.7).astype(np.int64))
    opening = dict(zip(owner_names.tolist(), rng.choice([0, 20_000, 150_000, 600_000], persons).tolist(),
                       strict=True))
    months = np.arange(np.datetime64("2026-01"), np.datetime64("2027-01"))
    credit_owner = np.repeat(owner_names, len(months))
    credit_at = np.tile(months.astype("datetime64[D]") + np.timedelta64(14, "D"), persons).astype("datetime64[us]")
    credit_amount = np.repeat(rng.choice([8_000, 15_000, 30_000], persons), len(months))
    codes = np.array([f"H{i:05d}" for i in range(institutions)], dtype=object)
    refunded = rng.choice(rows, rows // 20, replace=False)  # 5 % of payments partly refunded two hours later
    refunds = (refunded, at[refunded] + np.timedelta64(2, "h"), (total[refunded] // 2).astype(np.int64))
    order = np.argsort(at, kind="stable")  # in time order, the strings dictionary-encoded: as a data set is read
    rank = np.empty(rows, dtype=np.int64)
    rank[order] = np.arange(rows)

    def text(values: np.ndarray) -> simulate.Text:
        return simulate.Text(pa.array(values[order]).dictionary_encode())

    return simulate.Settlements(
        settlement_id=simulate.Text(pa.array([f"stl_{i:09d}" for i in range(rows)])), at=at[order],
        business_date=day[order], institution_code=text(codes[inst_index]), institution_kind=text(inst_kind[inst_index]),
        institution_region=text(inst_region[inst_index]), owner_id=text(owner_names[owner_index]),
        owner_region=text(np.full(rows, BEIJING, dtype=object)), total_fen=total[order], covered_fen=covered[order],
        account_paid_fen=np.zeros(rows, dtype=np.int64), cash_fen=total[order].copy(),
        emergency=(rng.random(rows) < 0.01)[order], limited_by=text(np.full(rows, "", dtype=object)),
        refunds=(rank[refunds[0]], refunds[1], refunds[2]), opening_fen=opening,
        credits=(credit_owner, credit_at, credit_amount))


def proposed_engine(from_day: str) -> Engine:
    """The policy in force with Beijing's limit per institution and day lowered to ¥300 from `from_day`."""
    current = load_tree(ROOT / "policies")
    text = (ROOT / "policies" / "110000-beijing" / "settlement.yaml").read_text(encoding="utf-8")
    changed = text.replace("      2019-01-01: 50000\n", f"      2019-01-01: 50000\n      {from_day}: 30000\n", 1)
    return Engine(simulate.candidate_set(current, BEIJING, "settlement.yaml", changed.encode("utf-8")))


def _timed(work):
    """The result of work(), its wall time, its CPU time (user and system) and its user time alone."""
    wall, before = time.perf_counter(), os.times()
    result = work()
    after = os.times()
    user = after.user - before.user
    return result, time.perf_counter() - wall, user + after.system - before.system, user


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, help="a data set written by generate.py")
    parser.add_argument("--from", dest="date_from", type=dt.date.fromisoformat, default=dt.date(2025, 1, 1))
    parser.add_argument("--to", dest="date_to", type=dt.date.fromisoformat, default=dt.date(2025, 12, 31))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.data is None:
        data = synthetic(args.rows, args.persons)
        from_day = "2026-01-01"
        print(f"generated {len(data):,} settlements of {args.persons:,} persons, with balances and credits")
    else:
        from_day = args.date_from.isoformat()
    runs = []
    for _ in range(args.rounds):
        read = (0.0, 0.0, 0.0)
        if args.data is not None:
            data, *read = _timed(lambda: sim_source.from_dataset(args.data, BEIJING, args.date_from, args.date_to))
        engine = proposed_engine(from_day)  # a fresh engine: its answers are not cached from the round before
        outcome, *decide = _timed(lambda: simulate.redecide(engine, data))  # noqa: B023
        runs.append((*read, *decide))
    n = len(data)
    best = [min(run[i] for run in runs) for i in range(6)]
    print(f"{n:,} settlements; best of {args.rounds} rounds (wall / CPU / of which user), each its own best:")

    def line(name: str, wall: float, cpu: float, user: float) -> None:
        print(f"  {name:<12} {wall:6.2f} s / {cpu:6.2f} s / {user:6.2f} s  {n / wall:>12,.0f} /s wall"
              f"  {n / cpu:>12,.0f} /s CPU  {n / user:>12,.0f} /s user")

    if args.data is not None:
        line("read:", *best[:3])
    line("re-decision:", *best[3:])
    if args.data is not None:
        line("both:", *(a + b for a, b in zip(best[:3], best[3:], strict=True)))
    print(f"changed {int(outcome.changed.sum()):,}; account outflow {int(data.account_paid_fen.sum()):,} -> "
          f"{int(outcome.account_fen.sum()):,} fen; limited: {int(outcome.flags[:, 1:].any(axis=1).sum()):,}")


if __name__ == "__main__":
    main()
