"""Where one settlement spends its time: round trips to PostgreSQL, the statements sent, Python time by part.

    .venv/bin/python bench/settlement/profile_settle.py [--persons 300] [--top 40]

Starts a throwaway PostgreSQL cluster, prepares persons as run.py does, then settles from one client with
e-vouchers at Beijing pharmacies: each person's first settlement of the day (which opens the day's
quota accounts and grants them), then a second one. Round trips are counted from the client's own protocol trace (each time
it sends and then waits for an answer); statements are counted as SQLAlchemy sends them; Python time is
split with cProfile; CPU time of the client and of the server is measured over runs without it.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ADMIN, PHARMACIES, body, context, issue_codes, prepare  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import server_cpu_seconds, start_cluster  # noqa: E402

from yibao.services.settlement import payments as service  # noqa: E402

# (part, [(file suffix, function name), …]): cumulative time of those functions, summed over their calls.
PARTS = [
    ("idempotency: earlier answer (own unit of work)", [("yibao/services/idempotency.py", "answered")]),
    ("idempotency: claim the key", [("yibao/services/idempotency.py", "__init__")]),
    ("settlement row, audit record and answer written", [("yibao/store/settlement_repo.py", "record_settlement")]),
    ("facts read (payer, owner, institution, filing, grant)", [("yibao/store/settlement_repo.py", "settlement_facts")]),
    ("card checked (card payments)", [("yibao/services/settlement/payments.py", "_card_holder")]),
    ("policy: decide (plan and final)", [("yibao/policy/engine.py", "decide")]),
    ("policy: decision shown (as_dict)", [("yibao/services/settlement/payments.py", "_decision")]),
    ("quota and other accounts opened", [("yibao/services/settlement/payments.py", "_open_accounts")]),
    ("accounts locked", [("yibao/services/accounts/books.py", "lock")]),
    ("quota grants", [("yibao/services/settlement/payments.py", "_grant_quotas")]),
    ("ledger entry written (post)", [("yibao/services/accounts/books.py", "post")]),
    ("unit of work: open and close a Session", [("yibao/store/uow.py", "__enter__"), ("yibao/store/uow.py", "__exit__")]),
    ("unit of work: commit (with the ORM flush)", [("yibao/store/uow.py", "commit")]),
    ("policy refresh (looks for a newer set)", [("yibao/services/context.py", "_refresh_policy")]),
    ("pool checkout (with its ping)", [("sqlalchemy/pool/base.py", "_checkout")]),
    ("SQL statement compilation", [("sqlalchemy/sql/elements.py", "_compile_w_cache")]),
    ("waiting on the server (psycopg wait)", [("psycopg/connection.py", "wait")]),
]


def codes_for(ctx, people, tag: str, count: int) -> None:
    """Write the payment codes the tag's settlements pay with, before anything is timed or traced."""
    settle.codes[(tag, people[0][0])] = issue_codes(ctx, people, f"{tag}-{people[0][0]}", count)


def settle(ctx, people, n: int, tag: str) -> dict:
    code = settle.codes[(tag, people[0][0])][n]
    return service.settle(ctx, actor=ADMIN, **body(code, f"{tag}-{n}", n, PHARMACIES))


settle.codes = {}


def traced(ctx, people, n: int) -> tuple[int, list[str]]:
    """One settlement on a warm pooled connection with its protocol traced: the times the client sends and
    then reads (the pool's ping on checkout included), and the statements SQLAlchemy sent."""
    import psycopg

    raw = ctx.engine.raw_connection()
    pgconn = raw.driver_connection.pgconn
    raw.close()
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(" ".join(statement.split())[:130])

    sa.event.listen(ctx.engine, "before_cursor_execute", count)
    with tempfile.NamedTemporaryFile("w+", suffix=".trace") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        settle(ctx, people, n, "traced")
        pgconn.untrace()
        trace.seek(0)
        lines = trace.read().splitlines()
    sa.event.remove(ctx.engine, "before_cursor_execute", count)
    trips, last = 0, "B"
    for line in lines:
        direction = line.partition("\t")[0]
        if direction == "F" and last == "B":
            trips += 1
        if direction in ("F", "B"):
            last = direction
    return trips, statements


def measure(ctx, cluster, people, tag: str) -> tuple[float, float, float]:
    """Settle once for each of `people`: wall ms, client CPU ms and server CPU ms per settlement."""
    before, server = resource.getrusage(resource.RUSAGE_SELF), server_cpu_seconds(cluster)
    began = time.perf_counter()
    for n in range(len(people)):
        settle(ctx, people, n, tag)
    wall = (time.perf_counter() - began) * 1000 / len(people)
    after = resource.getrusage(resource.RUSAGE_SELF)
    client = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000 / len(people)
    return wall, client, (server_cpu_seconds(cluster) - server) * 1000 / len(people)


def profiled(ctx, people, tag: str, top: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for n in range(len(people)):
        settle(ctx, people, n, tag)
    profile.disable()
    stats = pstats.Stats(profile)
    raw = stats.stats
    total = max(ct for (_f, _l, name), (_cc, _nc, _tt, ct, _c) in raw.items() if name == "settle")
    print(f"  under the profiler {total * 1000 / len(people):.2f} ms per settlement:")
    for label, functions in PARTS:
        seconds = sum(ct for (f, _l, name), (_cc, _nc, _tt, ct, _c) in raw.items()
                      if any(name == function and f.endswith(suffix) for suffix, function in functions))
        print(f"    {label:<50} {seconds * 1000 / len(people):6.2f} ms  {seconds / total:5.0%}")
    if top:
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=300, help="settlements per pass")
    parser.add_argument("--top", type=int, default=0, help="also print the top functions by own and total time")
    args = parser.parse_args()
    cluster = start_cluster()
    try:
        url = cluster.create_database("yibao_profile")
        people = prepare(url, 2 * args.persons + 60)[:-1]
        warm, timed, profiled_ = people[:60], people[60:60 + args.persons], people[60 + args.persons:]
        ctx = context(url)
        codes_for(ctx, warm[:-2], "warm", 2 * len(warm))
        for n in range(2 * len(warm)):  # warm caches: compiled and prepared statements, policy plans
            settle(ctx, warm[:-2], n, "warm")

        for n, label, person in ((0, "first of the day", warm[-1]), (4, "again the same day", warm[0])):
            codes_for(ctx, [person], "traced", n + 1)
            trips, statements = traced(ctx, [person], n)
            print(f"{label}: {trips} round trips, {len(statements)} statements sent by SQLAlchemy")
            for text in statements:
                print(f"  {text}")

        for label, again in (("first of the day", False), ("again the same day", True)):
            codes_for(ctx, timed, f"timed-{again}", len(timed))
            codes_for(ctx, profiled_, f"profiled-{again}", len(profiled_))
            wall, client, server = measure(ctx, cluster, timed, f"timed-{again}")
            print(f"{label}, one client: {wall:.2f} ms per settlement; CPU {client:.2f} ms client, "
                  f"{server:.2f} ms server")
            profiled(ctx, profiled_, f"profiled-{again}", args.top)
        ctx.engine.dispose()
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
