"""What-if benchmark: settlements re-decided per second under a changed limit, with every running total.

    .venv/bin/python bench/analytics/simulate_bench.py [--rows 1000000] [--persons 50000] [--rounds 3]

A synthetic year of Beijing: persons with a skewed number of payments, institutions of three kinds across the
districts, log-normal amounts, daytime hours, 5 % of payments partly refunded, opening balances and monthly
credits. The proposal lowers the
daily limit at one institution from ¥500 to ¥300. Reported: the limits looked up from the rules (once per
distinct facts and day), the re-decision proper, and both together, per second of the process's CPU time;
each the median of the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from yibao.analytics import simulate  # noqa: E402
from yibao.policy.engine import Engine  # noqa: E402
from yibao.policy.loader import load_tree  # noqa: E402

BEIJING = "110000"
DISTRICTS = ["110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112", "110113"]
KINDS = np.array(["hospital", "clinic", "pharmacy"], dtype=object)


def synthetic(rows: int, persons: int, seed: int = 1) -> simulate.Settlements:
    """A year of settlements of `persons` insured in Beijing, in no particular order."""
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
    return simulate.Settlements(
        settlement_id=np.array([f"stl_{i:09d}" for i in range(rows)], dtype=object), at=at, business_date=day,
        institution_code=codes[inst_index], institution_kind=inst_kind[inst_index],
        institution_region=inst_region[inst_index], owner_id=owner_names[owner_index],
        owner_region=np.full(rows, BEIJING, dtype=object), total_fen=total, covered_fen=covered,
        account_paid_fen=np.zeros(rows, dtype=np.int64), cash_fen=total.copy(),
        emergency=rng.random(rows) < 0.01, limited_by=np.full(rows, "", dtype=object), refunds=refunds,
        opening_fen=opening,
        credits=(credit_owner, credit_at, credit_amount))


def proposed_engine() -> Engine:
    current = load_tree(ROOT / "policies")
    text = (ROOT / "policies" / "110000-beijing" / "settlement.yaml").read_text(encoding="utf-8")
    changed = text.replace("      2019-01-01: 50000\n", "      2019-01-01: 50000\n      2026-01-01: 30000\n", 1)
    return Engine(simulate.candidate_set(current, BEIJING, "settlement.yaml", changed.encode("utf-8")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = time.process_time()
    data = synthetic(args.rows, args.persons)
    print(f"generated {args.rows:,} settlements of {args.persons:,} persons in {time.process_time() - started:.1f} s")
    lookups, whole = [], []
    for _ in range(args.rounds):
        engine = proposed_engine()  # a fresh engine: its answers are not cached from the round before
        t0 = time.process_time()
        simulate.limits_of(engine, data)
        t1 = time.process_time()
        outcome = simulate.redecide(proposed_engine(), data)
        t2 = time.process_time()
        lookups.append(t1 - t0)
        whole.append(t2 - t1)
    lookup, total = statistics.median(lookups), statistics.median(whole)
    steps = int(np.bincount(np.unique(data.owner_id.astype(str), return_inverse=True)[1].ravel()).max())
    print(f"limits from the rules: {lookup:.2f} s; re-decision with the lookups: {total:.2f} s "
          f"({steps} steps, the longest person's history)")
    print(f"re-decided: {args.rows / total:,.0f} settlements/s (CPU); without the rule lookups: "
          f"{args.rows / max(total - lookup, 1e-9):,.0f}/s")
    print(f"account outflow {int(outcome.account_fen.sum()):,} fen; limited: "
          f"{int(outcome.flags[:, 1:].any(axis=1).sum()):,}")


if __name__ == "__main__":
    main()
