"""Ledger benchmark: settlement-shaped entries against pgbench tpcb-like, and crediting against COPY.

    .venv/bin/python bench/ledger/run.py [--clients 8] [--seconds 20] [--rounds 3] [--accounts 1000000]

Starts a throwaway PostgreSQL cluster, runs pgbench -b tpcb-like and our workload at the same client
count on it, alternating, and prints both figures with their ratio; then credits accounts with the
crediting job beside COPY of the same file. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import PgBench, percentiles, server_cpu_seconds, start_cluster  # noqa: E402

from yibao.bootstrap import bootstrap  # noqa: E402
from yibao.config import Settings  # noqa: E402
from yibao.domain.identity import with_ric_digit, with_uscc_digit  # noqa: E402
from yibao.domain.ids import new_id  # noqa: E402
from yibao.domain.users import Actor  # noqa: E402
from yibao.jobs.credit import credit_file  # noqa: E402
from yibao.ledger import accounts as acct  # noqa: E402
from yibao.ledger import chain  # noqa: E402
from yibao.ledger.accounts import AccountKind, Bucket, Unit  # noqa: E402
from yibao.ledger.entries import THIS_YEAR_FIRST, EntryKind, Posting  # noqa: E402
from yibao.services.accounts.books import Books  # noqa: E402
from yibao.store.migrate import upgrade  # noqa: E402
from yibao.store.tables import employers, persons  # noqa: E402

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
    """What a settlement writes: the person debited (this year's money first), the institution owed, three
    quotas used; the accounts are not read first, so on PostgreSQL the entry is one server-side call."""
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        quotas = quota_ids(person_id)
        books.post(EntryKind.SETTLEMENT, [Posting(acct.personal(person_id), -amount, THIS_YEAR_FIRST),
                                          Posting(acct.institution_payable("P1"), amount),
                                          *[Posting(q, -amount) for q in quotas],
                                          Posting(acct.quota_source(REGION), 3 * amount)])
        uow.commit()


class Bare:
    """The same entry as settle() by one call of the database's `ledger_post` on a driver connection of its
    own, in autocommit, with none of the service's layers (unit of work, pool, SQLAlchemy): the least a Python
    client can spend on this entry with this schema, so the gap between the two runs is our layers' cost."""

    SQL = ("SELECT status FROM ledger_post(%s::varchar, 'settlement', %s::timestamptz, %s::date, '', '{}'::json, "
           "NULL, %s::varchar, %s::varchar, %s::varchar[], %s::bigint[], %s::varchar[], %s::varchar[], %s::varchar[])")

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)

    def __call__(self, person_id: str, amount: int) -> None:
        entry_id, personal, quotas = new_id("ent"), acct.personal(person_id), quota_ids(person_id)
        head = chain.entry_head(id=entry_id, kind="settlement", at=NOW, business_date=NOW.date(), memo="",
                                details={}, reverses_id=None, anchor_account_id=personal)
        ids = [personal, acct.institution_payable("P1"), *quotas, acct.quota_source(REGION)]
        status = self.conn.execute(self.SQL, (entry_id, NOW, NOW.date(), personal, head, ids,
                                              [-amount, amount, -amount, -amount, -amount, 3 * amount],
                                              [THIS_YEAR_FIRST, None, None, None, None, None],
                                              [None, "fen", None, None, None, "fen"],
                                              sorted([personal, *quotas])), prepare=True).fetchone()[0]
        assert status == "ok", status


def client(url: str, people: list[str], seconds: float, ready, out, bare: bool = False) -> None:
    """One client process: connect and warm up, wait for every other client, then settle for `seconds`."""
    if bare:
        pay = Bare(url)
    else:
        ctx = context(url)
        ctx.clock.set(NOW)

        def pay(person_id: str, amount: int) -> None:
            settle(ctx, person_id, amount)
    for n in range(20):
        pay(people[n % len(people)], 100)
    latencies, n = [], 0
    ready.wait()
    cpu = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        pay(people[n % len(people)], 100 + n % 900)
        latencies.append((time.perf_counter() - began) * 1000)
        n += 1
    out.put((latencies, time.process_time() - cpu))


@dataclass
class OurRun:
    tps: float
    p50: float
    p99: float
    client_cpu_s: float
    server_cpu_s: float
    transactions: int


def settlement_run(cluster, url: str, groups: list[list[str]], seconds: float, *, bare: bool = False) -> OurRun:
    spawn = mp.get_context("spawn")
    queue, ready = spawn.Queue(), spawn.Barrier(len(groups) + 1)
    procs = [spawn.Process(target=client, args=(url, g, seconds, ready, queue, bare)) for g in groups]
    for p in procs:
        p.start()
    ready.wait()  # every client has imported, connected and warmed up
    server = server_cpu_seconds(cluster)
    results = [queue.get() for _ in procs]
    server = server_cpu_seconds(cluster) - server
    for p in procs:
        p.join()
    latencies = [x for lats, _ in results for x in lats]
    p50, p99 = percentiles(latencies)
    return OurRun(len(latencies) / seconds, p50, p99, sum(cpu for _, cpu in results), server, len(latencies))


EMPLOYER_USCC = with_uscc_digit("91110105MA0000001")


def crediting_run(cluster, url: str, accounts: int, workdir: Path) -> tuple[float, float, object]:
    """`accounts` employees of one unit, never credited before, credited from a contribution file by the
    crediting job (`yibao jobs credit`), against COPY of the same file's rows into a plain table."""
    ctx = context(url)
    ctx.clock.set(NOW)
    rows = person_rows(1_000_000, accounts)
    with ctx.engine.begin() as conn:
        conn.execute(employers.insert().values(id="emp_bench000000001", uscc=EMPLOYER_USCC, name="基准单位",
                                               region=REGION, contact_name="周敏", contact_phone="13900000000",
                                               created_at=NOW))
    raw = ctx.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            with cur.copy("COPY persons (id, id_number, name, phone, region, birth_date, sex, created_at) "
                          "FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r["id"], r["id_number"], r["name"], r["phone"], r["region"], r["birth_date"],
                                    r["sex"], r["created_at"]))
            with cur.copy("COPY enrollments (id, person_id, scheme, employer_id, flexible, start_date, status, "
                          "created_at) FROM STDIN") as copy:
                for n, r in enumerate(rows):
                    copy.write_row((f"enr_b{n:015d}", r["id"], "employee", "emp_bench000000001", False,
                                    dt.date(2025, 1, 1), "active", NOW))
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    path = workdir / "2026-02.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write("id_number,base_fen,employer_uscc\n")
        for n, r in enumerate(rows):
            f.write(f"{r['id_number']},{800_000 + n % 1000},{EMPLOYER_USCC}\n")

    summary = credit_file(ctx, actor=Actor.system("bench"), path=path, period="2026-02")
    if summary.credited != accounts:
        sys.exit(f"crediting refused rows: {summary.reasons}")
    ours = accounts / summary.seconds

    raw = ctx.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("CREATE TABLE copy_peer (id_number varchar(18), base_fen bigint, employer_uscc varchar(18))")
            raw.commit()
            began = time.perf_counter()
            with path.open("rb") as f, cur.copy("COPY copy_peer FROM STDIN (FORMAT csv, HEADER true)") as copy:
                while block := f.read(1 << 20):
                    copy.write(block)
            raw.commit()
            peer = accounts / (time.perf_counter() - began)
    finally:
        raw.close()
    ctx.engine.dispose()
    return ours, peer, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20, help="length of each run, ours and pgbench's")
    parser.add_argument("--rounds", type=int, default=3, help="pgbench and ours alternate this many times")
    parser.add_argument("--per-client", type=int, default=200, help="persons each client pays for")
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts credited vs COPY (0: skip)")
    args = parser.parse_args()

    cluster = start_cluster()
    try:
        url = cluster.create_database("yibao_bench")
        engine = context(url).engine
        upgrade(engine)
        engine.dispose()
        if args.rounds:
            print(f"preparing {args.clients * args.per_client} persons with quotas …", flush=True)
            groups = prepare(url, args.clients, args.per_client)
            peer = PgBench(cluster, clients=args.clients)
        ratios = []
        for n in range(1, args.rounds + 1):
            theirs = peer.run(args.seconds)
            ours = settlement_run(cluster, url, groups, args.seconds)
            ratios.append(ours.tps / theirs.tps)
            print(f"round {n}: pgbench tpcb-like {args.clients} clients {theirs.tps:7.0f} tps "
                  f"(avg {theirs.latency_ms:.1f} ms; CPU per transaction: client "
                  f"{theirs.client_cpu_s / theirs.transactions * 1000:.2f} ms, server "
                  f"{theirs.server_cpu_s / theirs.transactions * 1000:.2f} ms)", flush=True)
            print(f"         settlement entries {args.clients} clients {ours.tps:7.0f} tps "
                  f"(p50 {ours.p50:.1f} ms, p99 {ours.p99:.1f} ms; CPU per entry: client "
                  f"{ours.client_cpu_s / ours.transactions * 1000:.2f} ms, server "
                  f"{ours.server_cpu_s / ours.transactions * 1000:.2f} ms)  ratio {ratios[-1]:.2f}x", flush=True)
            bare = settlement_run(cluster, url, groups, args.seconds, bare=True)
            print(f"         the same entry by a bare driver call {bare.tps:7.0f} tps "
                  f"(p50 {bare.p50:.1f} ms, p99 {bare.p99:.1f} ms; CPU per entry: client "
                  f"{bare.client_cpu_s / bare.transactions * 1000:.2f} ms, server "
                  f"{bare.server_cpu_s / bare.transactions * 1000:.2f} ms)  ratio {bare.tps / theirs.tps:.2f}x",
                  flush=True)
        if ratios:
            print(f"settlement ratio, median of {len(ratios)} rounds: {statistics.median(ratios):.2f}x", flush=True)

        if args.accounts:
            with tempfile.TemporaryDirectory() as workdir:
                ours, copy, summary = crediting_run(cluster, url, args.accounts, Path(workdir))
            print(f"crediting {args.accounts} accounts: {ours:8.0f} accounts/s ({summary.seconds:.1f} s)  "
                  f"COPY {copy:8.0f} rows/s  ratio {ours / copy:.3f}x", flush=True)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
