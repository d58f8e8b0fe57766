"""Ledger benchmark: settlement-shaped entries against pgbench tpcb-like, and crediting against COPY.

    .venv/bin/python bench/ledger/run.py [--clients 8] [--seconds 20] [--accounts 100000]

Starts a throwaway PostgreSQL cluster, runs pgbench -b tpcb-like and then our workload at the
same client count on it, and prints both figures with their ratio. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import percentiles, pgbench, start_cluster  # noqa: E402

from yibao.bootstrap import bootstrap  # noqa: E402
from yibao.config import Settings  # noqa: E402
from yibao.domain.identity import with_ric_digit  # noqa: E402
from yibao.ledger import accounts as acct  # noqa: E402
from yibao.ledger.accounts import AccountKind, Bucket, Unit  # noqa: E402
from yibao.ledger.entries import EntryKind, Posting, debit_personal  # noqa: E402
from yibao.services.books import Books  # noqa: E402
from yibao.store.migrate import upgrade  # noqa: E402
from yibao.store.tables import persons  # noqa: E402

REGION = "110000"
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
QUOTA_FEN = 10**12  # quotas large enough never to run out during a run: the bench measures the writes


def context(url: str):
    return bootstrap(Settings(env="test", database_url=url, argon2_profile="light", secret_key="bench-secret"))


def person_rows(first: int, count: int) -> list[dict]:
    """Synthetic persons with valid, distinct ID numbers (a birth day per thousand, a sequence within it)."""
    rows = []
    for n in range(first, first + count):
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=n // 1000)
        number = with_ric_digit(f"110105{birth:%Y%m%d}{n % 1000:03d}")
        rows.append({"id": f"psn_b{n:015d}", "id_number": number, "name": "测试", "phone": "13900000000",
                     "region": REGION, "birth_date": birth, "sex": "male" if n % 2 else "female",
                     "created_at": NOW})
    return rows


def quota_ids(person_id: str) -> list[str]:
    return [acct.quota(person_id, "institution_daily", "P1", "2026-03-02"),
            acct.quota(person_id, "daily", "2026-03-02"), acct.quota(person_id, "yearly", "2026")]


def prepare(url: str, clients: int, per_client: int) -> list[list[str]]:
    """Persons with money and three quotas each, split among the clients (no person shared)."""
    ctx = context(url)
    ctx.clock.set(NOW)
    people = person_rows(0, clients * per_client)
    with ctx.engine.begin() as conn:
        conn.execute(persons.insert(), people)
    ids = [p["id"] for p in people]
    for start in range(0, len(ids), 500):
        with ctx.uow() as uow:
            books = Books(uow, ctx.now())
            books.open(acct.contribution_clearing(REGION), AccountKind.CONTRIBUTION_CLEARING, REGION)
            books.open(acct.quota_source(REGION), AccountKind.QUOTA_SOURCE, REGION)
            books.open(acct.institution_payable("P1"), AccountKind.INSTITUTION_PAYABLE, REGION)
            for person_id in ids[start:start + 500]:
                books.open(acct.personal(person_id), AccountKind.PERSONAL, REGION, person_id=person_id)
                books.post(EntryKind.CONTRIBUTION, [Posting(acct.personal(person_id), 10**10, Bucket.CURRENT_YEAR),
                                                    Posting(acct.contribution_clearing(REGION), -10**10)])
                for q in quota_ids(person_id):
                    books.open(q, AccountKind.QUOTA, REGION, person_id=person_id, unit=Unit.FEN)
                    books.post(EntryKind.QUOTA_GRANT, [Posting(q, QUOTA_FEN), Posting(acct.quota_source(REGION),
                                                                                      -QUOTA_FEN)])
            uow.commit()
    ctx.engine.dispose()
    return [ids[i::clients] for i in range(clients)]


def settle(ctx, person_id: str, amount: int) -> None:
    """What a settlement writes: the person debited, the institution owed, three quotas used."""
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        quotas = quota_ids(person_id)
        accounts = books.lock([acct.personal(person_id), *quotas])
        legs = debit_personal(accounts[acct.personal(person_id)], amount)
        books.post(EntryKind.SETTLEMENT, [*legs, Posting(acct.institution_payable("P1"), amount),
                                          *[Posting(q, -amount) for q in quotas],
                                          Posting(acct.quota_source(REGION), 3 * amount)])
        uow.commit()


def client(url: str, people: list[str], seconds: float, start_at: float, out) -> None:
    ctx = context(url)
    ctx.clock.set(NOW)
    latencies, n = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    while time.time() < deadline:
        began = time.perf_counter()
        settle(ctx, people[n % len(people)], 100 + n % 900)
        latencies.append((time.perf_counter() - began) * 1000)
        n += 1
    ctx.engine.dispose()
    out.put(latencies)


def settlement_run(url: str, groups: list[list[str]], seconds: float) -> tuple[float, float, float]:
    spawn = mp.get_context("spawn")
    queue = spawn.Queue()
    start_at = time.time() + 3.0  # let every process import and connect first
    procs = [spawn.Process(target=client, args=(url, g, seconds, start_at, queue)) for g in groups]
    for p in procs:
        p.start()
    latencies = [x for _ in procs for x in queue.get()]
    for p in procs:
        p.join()
    p50, p99 = percentiles(latencies)
    return len(latencies) / seconds, p50, p99


def crediting_run(url: str, accounts: int) -> tuple[float, float]:
    """Credit `accounts` new accounts through the crediting job's ledger path vs COPY of the same rows."""
    from yibao.jobs.credit import credit_file  # noqa: F401  (the file path is measured by the job's own summary)

    ctx = context(url)
    ctx.clock.set(NOW)
    first = 1_000_000
    rows = person_rows(first, accounts)
    with ctx.engine.begin() as conn:
        conn.execute(persons.insert(), rows)
    began = time.perf_counter()
    for start in range(0, accounts, 1000):
        with ctx.uow() as uow:
            books = Books(uow, ctx.now())
            books.open(acct.contribution_clearing(REGION), AccountKind.CONTRIBUTION_CLEARING, REGION)
            for row in rows[start:start + 1000]:
                books.open(acct.personal(row["id"]), AccountKind.PERSONAL, REGION, person_id=row["id"])
                books.post(EntryKind.CONTRIBUTION, [Posting(acct.personal(row["id"]), 16_000, Bucket.CURRENT_YEAR),
                                                    Posting(acct.contribution_clearing(REGION), -16_000)])
            uow.commit()
    ours = accounts / (time.perf_counter() - began)

    raw = ctx.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("CREATE TABLE copy_peer (person_id varchar(24), amount_fen bigint)")
        data = io.StringIO("".join(f"{r['id']}\t16000\n" for r in rows))
        began = time.perf_counter()
        with cur.copy("COPY copy_peer (person_id, amount_fen) FROM STDIN") as copy:
            copy.write(data.getvalue())
        raw.commit()
        peer = accounts / (time.perf_counter() - began)
    finally:
        raw.close()
    ctx.engine.dispose()
    return ours, peer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--per-client", type=int, default=200, help="persons each client pays for")
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts credited vs COPY")
    args = parser.parse_args()

    cluster = start_cluster()
    try:
        url = cluster.create_database("yibao_bench")
        engine = context(url).engine
        upgrade(engine)
        engine.dispose()
        print(f"preparing {args.clients * args.per_client} persons with quotas …", flush=True)
        groups = prepare(url, args.clients, args.per_client)

        peer = pgbench(cluster, clients=args.clients, seconds=int(args.seconds), scale=max(args.clients, 8))
        print(f"pgbench tpcb-like   {args.clients} clients: {peer:8.0f} tps", flush=True)
        tps, p50, p99 = settlement_run(url, groups, args.seconds)
        print(f"settlement entries  {args.clients} clients: {tps:8.0f} tps  p50 {p50:.1f} ms  p99 {p99:.1f} ms  "
              f"ratio {tps / peer:.2f}x", flush=True)

        ours, copy = crediting_run(url, args.accounts)
        print(f"crediting {args.accounts} accounts: {ours:8.0f} accounts/s  COPY {copy:8.0f} rows/s  "
              f"ratio {ours / copy:.3f}x", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
