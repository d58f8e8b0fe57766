"""What the benchmarks share: a throwaway PostgreSQL cluster, pgbench beside it, CPU time and latency figures."""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.pg_cluster import Cluster, find_bindir  # noqa: E402  (the test suite's throwaway cluster)


def start_cluster() -> Cluster:
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL server binaries are missing: `make postgresql` installs them")
    return Cluster(bindir).start()


@dataclass
class PeerRun:
    tps: float
    transactions: int
    latency_ms: float  # pgbench's average
    client_cpu_s: float
    server_cpu_s: float


class PgBench:
    """`pgbench -b tpcb-like` with `clients` clients on its own database of the cluster, initialised once
    (scale = clients, at least 8) and run as often as asked, so its runs can alternate with ours."""

    def __init__(self, cluster: Cluster, *, clients: int) -> None:
        self.cluster, self.clients = cluster, clients
        self.exe = cluster.bindir / "pgbench"
        if not self.exe.exists():
            sys.exit("pgbench is missing: it ships with Debian's postgresql package")
        self.common = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
        cluster.create_database("pgbench")
        subprocess.run([str(self.exe), *self.common, "-i", "-q", "-s", str(max(clients, 8)), "pgbench"],
                       check=True, capture_output=True)

    def run(self, seconds: int) -> PeerRun:
        before, server = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu_seconds(self.cluster)
        run = subprocess.run([str(self.exe), *self.common, "-b", "tpcb-like", "-c", str(self.clients),
                              "-j", str(self.clients), "-T", str(seconds), "pgbench"],
                             check=True, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        time.sleep(1)  # pgbench's backends finish exiting before the next run starts
        return PeerRun(tps=float(re.search(r"tps = ([\d.]+)", run.stdout).group(1)),
                       transactions=int(re.search(r"actually processed: (\d+)", run.stdout).group(1)),
                       latency_ms=float(re.search(r"latency average = ([\d.]+) ms", run.stdout).group(1)),
                       client_cpu_s=after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                       server_cpu_s=server_cpu_seconds(self.cluster) - server)


def server_cpu_seconds(cluster: Cluster) -> float:
    """CPU time used so far by the cluster: the postmaster, its live children and those it has reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])

    def stat(pid: int) -> list[str]:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()

    mine = stat(postmaster)
    total = sum(int(mine[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = stat(int(entry))
            except OSError:
                continue  # gone meanwhile: its time is in the postmaster's cutime
            if int(fields[1]) == postmaster:
                total += int(fields[11]) + int(fields[12])
    return total / tick


def process_tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its live descendants (e.g. a server and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
            times[int(entry)] = int(fields[11]) + int(fields[12])
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0)
        todo += children.get(current, [])
    return total / tick


def percentiles(latencies_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies_ms)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return cut[49], cut[98]
