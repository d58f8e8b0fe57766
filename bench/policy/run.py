"""Policy benchmark: decisions per second in one process, over the shipped policies.

    .venv/bin/python bench/policy/run.py [--seconds 3] [--rounds 3]

The workload is a mix of the decisions the service makes: settlements in every seed region (within
limits, at a limit, cross-region with and without a filing, family payers), withdrawals, reimbursements,
filings, payout dates, contributions. Reported per kind and for the mix: decide() alone, decide() with
its explanation rendered in both languages (what the API returns), and the mix over days spread across
five years (answers not yet cached). Rates are per second of the process's own CPU time (this machine's
wall clock also counts time the virtual CPU is not running); each figure is the median of the rounds.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from yibao.policy.engine import Engine  # noqa: E402
from yibao.policy.interface import FACTS, Facts  # noqa: E402
from yibao.policy.loader import load_tree  # noqa: E402

DAY = dt.date(2026, 3, 2)
SETTLE = {"scheme": "employee", "institution_cross_region": False, "has_filing": False, "balance_fen": 500_000}


def workload() -> list[tuple[str, Facts]]:
    """(kind, facts): the mix, each kind weighted by how often the service asks it."""
    mix = []
    for region, inst in (("110000", "110000"), ("210200", "210202"), ("410000", "410100"), ("310101", "310115")):
        for used in (0, 40_000, 99_000):
            mix.append(("settle", "settle", {**SETTLE, "region": region, "institution_region": inst,
                                             "institution_kind": "pharmacy", "items": [("drug", 20_000)],
                                             "used": {"institution_daily": used, "daily": used, "yearly": used,
                                                      "daily_count": used // 20_000}}))
        mix.append(("settle", "settle", {**SETTLE, "region": region, "institution_region": inst,
                                         "institution_kind": "hospital", "relation": "spouse",
                                         "items": [("medical_service", 30_000), ("drug", 12_000)], "used": {}}))
    for filed in (False, True):
        mix.append(("settle cross-region", "settle", {**SETTLE, "region": "110000", "institution_region": "310101",
                                                      "institution_kind": "hospital", "institution_cross_region": True,
                                                      "has_filing": filed, "items": [("medical_service", 50_000)],
                                                      "used": {}}))
    for region in ("110000", "210200", "410000"):
        for reason in ("general", "death", "emigration"):
            mix.append(("withdraw", "withdraw", {"region": region, "reason": reason, "scheme": "employee",
                                                 "balance_fen": 300_000, "channel": "counter", "by_proxy": False,
                                                 "documents": ["death_certificate", "heir_proof", "id_card"],
                                                 "event_date": dt.date(2025, 6, 1)}))
    mix.append(("reimburse", "reimburse", {"region": "410000", "reason": "cross_region", "scheme": "employee",
                                           "amount_fen": 80_000, "balance_fen": 300_000,
                                           "event_date": dt.date(2026, 1, 10)}))
    for reason, kind in (("resettled_retiree", "long_term"), ("referral", "temporary")):
        mix.append(("file", "file", {"region": "110000", "type": kind, "reason": reason}))
    mix.append(("disburse", "disburse", {"region": "110000", "channel": "counter", "bank": "中国工商银行"}))
    mix.append(("contribute", "contribute", {"region": "110000", "scheme": "employee", "flexible": False,
                                             "retired": False, "birth_date": dt.date(1985, 3, 12),
                                             "base_fen": 1_000_000}))
    mix.append(("family_grant", "family_grant", {"region": "210200", "relation": "parent", "scheme": "employee"}))
    return [(kind, FACTS[action](**facts)) for kind, action, facts in mix]


def rate(engine: Engine, cases: list, seconds: float, *, render: bool = False, days: list | None = None) -> float:
    """Decisions per second, cycling through the cases for about `seconds`."""
    decide = engine.decide
    n, start, deadline = 0, time.process_time(), time.process_time() + seconds
    while time.process_time() < deadline:
        for i, (_, facts) in enumerate(cases):
            decision = decide(facts, days[(n + i) % len(days)] if days else DAY)
            if render:
                decision.as_dict()
        n += len(cases)
    return n / (time.process_time() - start)


def median(f, rounds: int) -> float:
    return statistics.median(f() for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    engine = Engine(load_tree(ROOT / "policies"))
    loaded_ms = (time.perf_counter() - started) * 1000
    cases = workload()
    rng = random.Random(7)
    spread = [DAY - dt.timedelta(days=rng.randrange(0, 5 * 365)) for _ in range(4096)]

    print(f"python {platform.python_version()} on {platform.machine()}; policy tree loaded in {loaded_ms:.0f} ms; "
          f"{len(cases)} cases in the mix; median of {args.rounds} rounds of {args.seconds:g} CPU-s")
    print(f"{'kind':<22}{'decide/s':>12}{'with explanation/s':>22}")
    for kind in dict.fromkeys(k for k, _ in cases):
        mine = [c for c in cases if c[0] == kind]
        plain = median(lambda mine=mine: rate(engine, mine, args.seconds / 3), args.rounds)
        rendered = median(lambda mine=mine: rate(engine, mine, args.seconds / 3, render=True), args.rounds)
        print(f"{kind:<22}{plain:>12,.0f}{rendered:>22,.0f}")
    mix = median(lambda: rate(engine, cases, args.seconds), args.rounds)
    mix_rendered = median(lambda: rate(engine, cases, args.seconds, render=True), args.rounds)
    spread_days = median(lambda: rate(Engine(engine.policy_set), cases, args.seconds, days=spread), args.rounds)
    print(f"{'mix':<22}{mix:>12,.0f}{mix_rendered:>22,.0f}")
    print(f"{'mix, days over 5 years':<22}{spread_days:>12,.0f}")
    target = 100_000
    verdict = "meets" if mix >= target else "does NOT meet"
    print(f"target >= {target:,} decisions/s in one process: the mix {verdict} it ({mix / target:.2f}x)")


if __name__ == "__main__":
    main()
