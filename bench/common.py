"""What the benchmarks share: a throwaway PostgreSQL cluster, pgbench beside it, and latency figures."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.pg_cluster import Cluster, find_bindir  # noqa: E402  (the test suite's throwaway cluster)


def start_cluster() -> Cluster:
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL server binaries are missing: `make postgresql` installs them")
    return Cluster(bindir).start()


def pgbench(cluster: Cluster, *, clients: int, seconds: int, scale: int) -> float:
    """tps of `pgbench -b tpcb-like` with `clients` clients on its own database of the cluster."""
    cluster.create_database("pgbench")
    exe = cluster.bindir / "pgbench"
    if not exe.exists():
        sys.exit("pgbench is missing: it ships with Debian's postgresql package")
    common = ["-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"]
    subprocess.run([str(exe), *common, "-i", "-q", "-s", str(scale), "pgbench"], check=True, capture_output=True)
    run = subprocess.run([str(exe), *common, "-b", "tpcb-like", "-c", str(clients), "-j", str(clients),
                          "-T", str(seconds), "pgbench"], check=True, capture_output=True, text=True)
    match = re.search(r"tps = ([\d.]+)", run.stdout)
    return float(match.group(1))


def percentiles(latencies_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies_ms)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return cut[49], cut[98]
