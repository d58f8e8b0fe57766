"""Settlement benchmark: the settlement service in-process and over HTTP, beside pgbench tpcb-like.

    .venv/bin/python bench/settlement/run.py [--clients 8] [--seconds 15] [--rounds 2] [--per-client 200]

Starts a throwaway PostgreSQL cluster, loads the shipped policies, and prepares persons with money and an
e-voucher each (the throughput runs pay with the e-vouchers' one-use payment codes, written for each client before
its clock starts and stored as digests, so checking one is an indexed lookup), designated pharmacies in Beijing (whose limits apply) and an API user. Then, alternating
with `pgbench -b tpcb-like` at the same client count:

1. in-process: each client a process calling the settlement service with its own context;
2. HTTP: `uvicorn` serving the API (two workers), each client a process posting `/api/v1/settlements`
   over loopback with a plain keep-alive connection;
3. hot account: every client paying from the same person (Henan: no limits, so every payment debits the
   one account row).

Every client makes a few settlements before the clock starts (its policy read, its statements prepared), and
the clock starts once all of them are ready. Reported: tps, p50/p99 latency, the ratio to pgbench, CPU per
settlement on our side (the client processes in-process, the API server's processes over HTTP) and on the
database server's; and on its own, the cost of one card PIN check (argon2, the standard profile). See
bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import PgBench, percentiles, process_tree_cpu_seconds, server_cpu_seconds, start_cluster  # noqa: E402

from yibao.bootstrap import bootstrap  # noqa: E402
from yibao.config import Settings  # noqa: E402
from yibao.domain.identity import with_ric_digit  # noqa: E402
from yibao.domain.users import Actor  # noqa: E402
from yibao.ledger import accounts as acct  # noqa: E402
from yibao.ledger.accounts import AccountKind, Bucket  # noqa: E402
from yibao.ledger.entries import EntryKind, Posting  # noqa: E402
from yibao.services.accounts.books import Books  # noqa: E402
from yibao.services.context import digest  # noqa: E402
from yibao.services.credentials import auth  # noqa: E402
from yibao.services.policy import sets  # noqa: E402
from yibao.services.registry import institutions  # noqa: E402
from yibao.services.settlement import payments as service  # noqa: E402
from yibao.store.migrate import upgrade  # noqa: E402
from yibao.store.tables import enrollments, evouchers, payment_codes, persons  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
ADMIN = Actor.system("bench")
PHARMACIES = [f"P1100000000{n}" for n in range(1, 5)]
HENAN_PHARMACY = "P41000000001"  # where the hot-account person pays: in their own region
AMOUNT = 100  # fen: small enough that a person's daily limits never bind during a run
PASSWORD = "bench-password-1"


def settings(url: str, profile: str = "light") -> Settings:
    return Settings(env="test", database_url=url, argon2_profile=profile, secret_key="bench-secret-key")


def context(url: str):
    ctx = bootstrap(settings(url))
    ctx.clock.set(NOW)
    return ctx


def prepare(url: str, count: int) -> list[tuple[str, str]]:
    """`count` Beijing employees and one Henan person, each with ¥100,000 and an e-voucher: [(person, token)]
    with the Henan person last."""
    ctx = context(url)
    upgrade(ctx.engine)
    sets.load(ctx, actor=ADMIN)
    for code in PHARMACIES:
        institutions.add_institution(ctx, actor=ADMIN, code=code, name="基准药房", kind="pharmacy", region="110000",
                                     designated=True, cross_region=False, designated_from=dt.date(2024, 1, 1))
    institutions.add_institution(ctx, actor=ADMIN, code=HENAN_PHARMACY, name="基准药房", kind="pharmacy",
                                 region="410000", designated=True, cross_region=False,
                                 designated_from=dt.date(2024, 1, 1))
    auth.add_user(ctx, actor=ADMIN, username="bench-admin", password=PASSWORD, role="admin")
    people, person_rows, enrollment_rows, voucher_rows = [], [], [], []
    for n in range(count + 1):
        region = "110000" if n < count else "410000"
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=n // 1000)
        person_id, token = f"psn_s{n:015d}", f"bench-token-{n:010d}-{os.getpid()}"
        person_rows.append({"id": person_id, "id_number": with_ric_digit(f"{region[:2]}0105{birth:%Y%m%d}{n % 1000:03d}"),
                            "name": "测试", "phone": "13900000000", "region": region, "birth_date": birth,
                            "sex": "male", "created_at": NOW})
        enrollment_rows.append({"id": f"enr_s{n:015d}", "person_id": person_id, "scheme": "employee",
                                "employer_id": None, "flexible": True, "start_date": dt.date(2024, 1, 1),
                                "status": "active", "created_at": NOW})
        voucher_rows.append({"id": f"evc_s{n:015d}", "person_id": person_id, "channel": "app",
                             "token_digest": digest(token), "status": "active", "activated_at": NOW})
        people.append((person_id, token))
    with ctx.engine.begin() as conn:
        conn.execute(persons.insert(), person_rows)
        conn.execute(enrollments.insert(), enrollment_rows)
        conn.execute(evouchers.insert(), voucher_rows)
    for start in range(0, len(people), 500):
        with ctx.uow() as uow:
            books = Books(uow, NOW)
            for person_id, _ in people[start:start + 500]:
                region = "410000" if person_id == people[-1][0] else "110000"
                books.open(acct.personal(person_id), AccountKind.PERSONAL, region, person_id=person_id)
                books.open(acct.contribution_clearing(region), AccountKind.CONTRIBUTION_CLEARING, region)
                books.post(EntryKind.CONTRIBUTION, [Posting(acct.personal(person_id), 10_000_000, Bucket.CURRENT_YEAR),
                                                    Posting(acct.contribution_clearing(region), -10_000_000)])
            uow.commit()
    ctx.engine.dispose()
    return people


def issue_codes(ctx, people: list, tag: str, count: int) -> list[str]:
    """`count` payment codes, the n-th of people[n % len(people)], valid through the run: what each person's
    app would ask for (POST /evouchers/codes) before each payment, written at once outside the timed part."""
    codes = [f"{tag}-{n}" for n in range(count)]
    rows = [{"code_digest": digest(code), "evoucher_id": "evc_" + people[n % len(people)][0][4:],
             "person_id": people[n % len(people)][0], "issued_at": NOW, "expires_at": NOW + dt.timedelta(days=3650)}
            for n, code in enumerate(codes)]
    with ctx.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(payment_codes.insert(), rows[start:start + 5000])
    return codes


CODES_PER_SECOND = 1500  # payment codes written for each client and second of a run: more than it settles


def body(code: str, key: str, n: int, pharmacies: list[str] = PHARMACIES) -> dict:
    return {"idempotency_key": key, "institution_code": pharmacies[n % len(pharmacies)],
            "credential": {"type": "evoucher_code", "code": code},
            "items": [{"category": "drug", "amount_fen": AMOUNT}]}


WARM = 3  # settlements each client makes before the clock starts (the policy read, statements prepared)


def in_process_client(url: str, people: list, pharmacies: list[str], seconds: float, tag: str, ready, start,
                      out) -> None:
    ctx = context(url)
    codes = issue_codes(ctx, people, tag, WARM + int(seconds * CODES_PER_SECOND))
    for n in range(WARM):
        service.settle(ctx, actor=ADMIN, **body(codes[n], f"{tag}-warm-{n}", n, pharmacies))
    latencies, n = [], WARM
    ready.put(tag)
    start.wait()
    cpu, deadline = time.process_time(), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        service.settle(ctx, actor=ADMIN, **body(codes[n], f"{tag}-{n}", n, pharmacies))
        latencies.append((time.perf_counter() - began) * 1000)
        n += 1
    out.put((latencies, time.process_time() - cpu))


def http_client(url: str, port: int, auth_header: str, people: list, seconds: float, tag: str, ready, start,
                out) -> None:
    writer = context(url)
    codes = issue_codes(writer, people, tag, WARM + int(seconds * CODES_PER_SECOND))
    writer.engine.dispose()
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": auth_header, "Content-Type": "application/json"}
    for n in range(WARM):
        conn.request("POST", "/api/v1/settlements", json.dumps(body(codes[n], f"{tag}-warm-{n}", n)), headers)
        conn.getresponse().read()
    latencies, n = [], WARM
    ready.put(tag)
    start.wait()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        conn.request("POST", "/api/v1/settlements", json.dumps(body(codes[n], f"{tag}-{n}", n)), headers)
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise SystemExit(f"settlement answered {response.status}")
        latencies.append((time.perf_counter() - began) * 1000)
        n += 1
    out.put((latencies, 0.0))  # the service's CPU is the API server's, measured from outside


@dataclass
class Run:
    tps: float
    p50: float
    p99: float
    client_cpu_ms: float  # per settlement: our clients' processes, or the API server's for HTTP
    server_cpu_ms: float  # per settlement: PostgreSQL


def run_clients(target, clients: int, args_of, seconds: float, cluster, app_pid: int | None = None) -> Run:
    ready, start, out = mp.Queue(), mp.Event(), mp.Queue()
    procs = [mp.Process(target=target, args=(*args_of(i), seconds, f"r{time.time_ns()}-{i}", ready, start, out))
             for i in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:  # every client started, connected and warm (its first settlements made) before the clock
        ready.get()
    time.sleep(0.5)
    server, app = server_cpu_seconds(cluster), process_tree_cpu_seconds(app_pid) if app_pid else 0.0
    start.set()
    results = [out.get() for _ in procs]
    server = server_cpu_seconds(cluster) - server
    app = process_tree_cpu_seconds(app_pid) - app if app_pid else sum(cpu for _, cpu in results)
    for p in procs:
        p.join()
    latencies = [x for found, _ in results for x in found]
    p50, p99 = percentiles(latencies)
    return Run(len(latencies) / seconds, p50, p99, app * 1000 / len(latencies), server * 1000 / len(latencies))


def serve(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "YIBAO_DATABASE_URL": url, "YIBAO_ENV": "test", "YIBAO_ARGON2_PROFILE": "light",
           "YIBAO_SECRET_KEY": "bench-secret-key"}
    code = ("import uvicorn; uvicorn.run('yibao.api.factory:app', factory=True, host='127.0.0.1', "
            f"port={port}, workers=2, log_level='warning')")
    server = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/v1/health")
            return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the API did not start")


def token_for(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", "/api/v1/auth/token", f"username=bench-admin&password={PASSWORD}",
                 {"Content-Type": "application/x-www-form-urlencoded"})
    return "Bearer " + json.loads(conn.getresponse().read())["access_token"]


def pin_check_ms() -> float:
    ctx = bootstrap(settings("sqlite://", "standard"))
    hashed = ctx.hash_secret("258369")
    began, n = time.perf_counter(), 20
    for _ in range(n):
        assert ctx.verify_secret(hashed, "258369")
    return (time.perf_counter() - began) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-client", type=int, default=200)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    mp.set_start_method("spawn")
    cluster = start_cluster()
    try:
        url = cluster.create_database("yibao_bench")
        print(f"preparing {args.clients * args.per_client} persons …", flush=True)
        people = prepare(url, args.clients * args.per_client)
        beijing, henan = people[:-1], people[-1:]
        shares = [beijing[i::args.clients] for i in range(args.clients)]
        peer = PgBench(cluster, clients=args.clients)
        server = serve(url, args.port)
        auth_header = token_for(args.port)
        ratios = {"in-process": [], "HTTP": [], "hot account, in-process": []}
        try:
            for r in range(1, args.rounds + 1):
                pg = peer.run(int(args.seconds))
                print(f"round {r}: pgbench tpcb-like {args.clients} clients {pg.tps:8.0f} tps "
                      f"(avg {pg.latency_ms:.1f} ms; CPU per transaction: client "
                      f"{pg.client_cpu_s * 1000 / pg.transactions:.2f} ms, server "
                      f"{pg.server_cpu_s * 1000 / pg.transactions:.2f} ms)", flush=True)
                runs = {
                    "in-process": (in_process_client, lambda i: (url, shares[i], PHARMACIES), None),
                    "HTTP": (http_client, lambda i: (url, args.port, auth_header, shares[i]), server.pid),
                    "hot account, in-process": (in_process_client, lambda i: (url, henan, [HENAN_PHARMACY]), None),
                }
                for name, (target, args_of, app_pid) in runs.items():
                    run = run_clients(target, args.clients, args_of, args.seconds, cluster, app_pid)
                    ratios[name].append(run.tps / pg.tps)
                    print(f"         {name:<24}{run.tps:8.0f} tps (p50 {run.p50:.1f} ms, p99 {run.p99:.1f} ms)  "
                          f"ratio {run.tps / pg.tps:.2f}x; CPU per settlement: {'API server' if app_pid else 'client'}"
                          f" {run.client_cpu_ms:.2f} ms, server {run.server_cpu_ms:.2f} ms", flush=True)
        finally:
            server.terminate()
            server.wait()
        for name, values in ratios.items():
            print(f"{name}: median ratio to pgbench {statistics.median(values):.2f}x")
        print(f"card PIN check (argon2, standard profile): {pin_check_ms():.1f} ms each, on its own")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
