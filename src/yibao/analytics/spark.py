"""Apache Spark for the analytics of many regions at once: one session per process, over the data set's Parquet.

Local mode (`local[*]`, or `local[2]` on a machine of two cores) unless a `master` names a cluster. The session
reads and writes timestamps in UTC, like the data set and DuckDB, binds to the loopback address in local mode and
runs its Python workers on this interpreter, so they import what it imports.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from yibao.analytics.dataset import TABLES, table_path

LOCAL = "local[*]"
_sessions: dict[str, object] = {}


class SparkUnavailable(RuntimeError):
    """Spark cannot start here: pyspark or a Java runtime is missing."""


def available() -> str | None:
    """Why Spark cannot run here (pyspark or Java missing), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "no Java runtime (java) is on the PATH"
    return None


def session(master: str | None = None):
    """The process's Spark session for `master` (local mode by default), started on first use."""
    master = master or LOCAL
    if master in _sessions:
        return _sessions[master]
    if (missing := available()) is not None:
        raise SparkUnavailable(missing)
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName("yibao-analytics")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", str(max(2, (os.cpu_count() or 2) * 2)))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if master.startswith("local"):
        builder = (builder.config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.driver.host", "127.0.0.1"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _sessions[master] = spark
    return spark


def views(spark, folder: Path) -> None:
    """Every table of the data set in `folder` as a temporary view of the session, by its own name."""
    for table in TABLES:
        spark.read.parquet(str(table_path(folder, table))).createOrReplaceTempView(table)
