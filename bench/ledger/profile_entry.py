"""Where one settlement-shaped entry spends its time: round trips to PostgreSQL and Python time by part.

    .venv/bin/python bench/ledger/profile_entry.py [--entries 500]

Starts a throwaway PostgreSQL cluster, prepares a few persons with quotas (as run.py does), then
posts settlement-shaped entries from one client. Round trips are counted from the client's own
protocol trace (each time it sends and then waits for an answer); Python time is split with
cProfile into the parts named below. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import NOW, context, prepare, settle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import start_cluster  # noqa: E402

from yibao.store.migrate import upgrade  # noqa: E402

# (part, [(file suffix, function name), …]): cumulative time of those functions, summed over their calls.
PARTS = [
    ("unit of work: open and close a Session", [("yibao/store/uow.py", "__enter__"), ("yibao/store/uow.py", "__exit__")]),
    ("pool checkout (with its ping)", [("sqlalchemy/pool/base.py", "_checkout")]),
    ("SQL statement compilation", [("sqlalchemy/sql/elements.py", "_compile_w_cache")]),
    ("unit of work commit", [("yibao/store/uow.py", "commit")]),
    ("  of which the ledger's before_commit hook", [("yibao/services/books.py", "flush")]),
    ("waiting on the server (psycopg wait)", [("psycopg/connection.py", "wait")]),
]


def round_trips(ctx, person_id: str) -> tuple[int, list[str]]:
    """Post one entry on a warm pooled connection with its protocol traced; count the times the client
    sends and then reads (the pool's ping on checkout included)."""
    raw = ctx.engine.raw_connection()  # the pool's one connection: the entry below checks it out again
    pgconn = raw.driver_connection.pgconn
    raw.close()
    import psycopg

    with tempfile.NamedTemporaryFile("w+", suffix=".trace") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        settle(ctx, person_id, 100)
        pgconn.untrace()  # flushes the trace
        trace.seek(0)
        lines = trace.read().splitlines()
    count, last, sent = 0, "B", []
    for line in lines:
        direction, _, rest = line.partition("\t")
        if direction == "F" and last == "B":
            count += 1
        if direction == "F" and any(m in rest for m in ("Query", "Parse", "Bind")):
            sent.append(rest.split("\t", 1)[-1][:110])
        if direction in ("F", "B"):
            last = direction
    return count, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500)
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        url = cluster.create_database("yibao_profile")
        engine = context(url).engine
        upgrade(engine)
        engine.dispose()
        people = prepare(url, 1, 50)[0]
        ctx = context(url)
        ctx.clock.set(NOW)
        for n in range(50):  # warm caches: compiled statements, prepared statements on the server
            settle(ctx, people[n % len(people)], 100)

        count, sent = round_trips(ctx, people[0])
        print(f"round trips per entry: {count}")
        for text in sent:
            print(f"  {text}")

        for n in range(50):
            settle(ctx, people[n % len(people)], 100)
        began = time.perf_counter()
        for n in range(args.entries):
            settle(ctx, people[n % len(people)], 100 + n % 900)
        wall = (time.perf_counter() - began) * 1000 / args.entries
        profile = cProfile.Profile()
        profile.enable()
        for n in range(args.entries):
            settle(ctx, people[n % len(people)], 100 + n % 900)
        profile.disable()
        stats = pstats.Stats(profile).stats
        total = max(ct for (_f, _l, name), (_cc, _nc, _tt, ct, _c) in stats.items() if name == "settle")
        print(f"one client: {wall:.2f} ms per entry without the profiler; under it {total * 1000 / args.entries:.2f} ms:")
        for label, functions in PARTS:
            seconds = sum(ct for (f, _l, name), (_cc, _nc, _tt, ct, _c) in stats.items()
                          if any(name == function and f.endswith(suffix) for suffix, function in functions))
            print(f"  {label:<55} {seconds * 1000 / args.entries:6.2f} ms  {seconds / total:5.0%}")
        ctx.engine.dispose()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
