"""Policy what-if on Apache Spark: the settlements of a data set (Parquet, one region or many) re-decided under a
proposed policy with the same NumPy kernel as the embedded path, one partition of persons at a time.

The settlements of the region's insured in the period, each with its refunds as a nested array, are repartitioned
by owner (a person's whole history is in one partition) and sorted per owner in time order, ties in file order
as `sim_source.from_dataset` reads them. `mapInArrow` hands each partition's rows to
`simulate.redecide`, in chunks cut between owners; the proposed policy set is built once per worker process from
the files' bytes. Spark sums the totals; only the changed settlements come back to the driver, and only when
asked for (the CSV and HTML report).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yibao.analytics import sim_report
from yibao.analytics.dataset import table_path
from yibao.analytics.sim_report import Summary
from yibao.analytics.simulate import Outcome, Settlements, redecide
from yibao.domain.regions import prefix
from yibao.policy.engine import Engine
from yibao.policy.loader import PolicySet, load_files

CHUNK_ROWS = 500_000  # rows re-decided at once in a worker, cut between two owners
DECIDED = pa.schema([
    ("settlement_id", pa.string()),
    ("owner_id", pa.string()),
    ("institution_code", pa.string()),
    ("business_date", pa.date32()),
    ("total_fen", pa.int64()),
    ("account_recorded_fen", pa.int64()),
    ("account_proposed_fen", pa.int64()),
    ("cash_recorded_fen", pa.int64()),
    ("cash_proposed_fen", pa.int64()),
    ("allowed", pa.bool_()),
    ("changed", pa.bool_()),
    ("limited_by_recorded", pa.string()),
    ("flags", pa.list_(pa.bool_())),  # Outcome.flags of the settlement, in its order
])
_engines: dict[str, Engine] = {}  # per worker process: the proposed set, by digest


@dataclass
class SparkWhatIf:
    """A what-if run on Spark: the totals, the account outflow per business day (recorded and proposed), and the
    settlements decided otherwise (only those) when they were asked for."""

    summary: Summary
    days: pa.Table  # business_date, account_recorded_fen, account_proposed_fen
    changed: Outcome | None


def redecide_dataset(policy_set: PolicySet, folder: Path, *, region: str, date_from: dt.date, date_to: dt.date,
                     master: str | None = None, changes: bool = True, chunk_rows: int = CHUNK_ROWS) -> SparkWhatIf:
    """The region's settlements of business days date_from..date_to in the data set re-decided under
    `policy_set` on the Spark session of `master`, totals summed by Spark."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    from yibao.analytics.spark import session

    spark = session(master)
    rows = _ordered(spark, Path(folder), region, date_from, date_to)
    kernel = functools.partial(_decide_partition, policy_set.digest, dict(policy_set.files), chunk_rows)
    decided = rows.mapInArrow(kernel, from_arrow_schema(DECIDED)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        days = (decided.groupBy("business_date")
                .agg(F.count(F.lit(1)).alias("settlements"), F.sum(F.col("changed").cast("long")).alias("changed"),
                     F.sum((~F.col("allowed")).cast("long")).alias("refused"),
                     *(F.sum(c).alias(c) for c in ("account_recorded_fen", "account_proposed_fen",
                                                   "cash_recorded_fen", "cash_proposed_fen")))
                .orderBy("business_date").toArrow())
        touched = decided.where("changed").agg(F.count_distinct("owner_id").alias("persons"),
                                               F.count_distinct("institution_code").alias("institutions")).first()
        changed = _changed_outcome(decided.where("changed").toArrow()) if changes else None
    finally:
        decided.unpersist()

    def total(column: str) -> int:
        return int(pc.sum(days[column]).as_py() or 0)

    summary = Summary(region, date_from.isoformat(), date_to.isoformat(), total("settlements"), total("changed"),
                      total("refused"), total("account_recorded_fen"), total("account_proposed_fen"),
                      total("cash_recorded_fen"), total("cash_proposed_fen"), int(touched["persons"]),
                      int(touched["institutions"]))
    return SparkWhatIf(summary, days.select(["business_date", "account_recorded_fen", "account_proposed_fen"]),
                       changed)


def _ordered(spark, folder: Path, region: str, date_from: dt.date, date_to: dt.date):
    """The settlements from_dataset would read, with what the categories covered and their refunds nested,
    repartitioned by owner and sorted per owner by time, then file and row (from_dataset's order of ties)."""
    from pyspark.sql import functions as F

    found = spark.read.parquet(str(table_path(folder, "settlements")))
    found = (found.select("*", F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index").alias("_row"))
             .where(F.col("business_date").between(F.lit(date_from), F.lit(date_to))
                    & F.col("owner_region").startswith(prefix(region))))
    # what the categories covered, as from_dataset takes it: the nullable column, else the total, or what the
    # account paid when a category was not covered
    covered = F.when(F.col("limited_by").contains("category.not_covered"), F.col("account_paid_fen")).otherwise(
        F.col("total_fen"))
    if "covered_fen" in found.columns:
        covered = F.coalesce(F.col("covered_fen"), covered)
    found = found.withColumn("covered_fen", covered.cast("long")).withColumn(
        "emergency", F.coalesce(F.col("emergency"), F.lit(False)))
    refunds_path = table_path(folder, "refunds")
    if refunds_path.exists():
        refunds = (spark.read.parquet(str(refunds_path)).groupBy("settlement_id")
                   .agg(F.sort_array(F.collect_list(F.struct("at", "refund_id", "amount_fen"))).alias("refunds")))
        found = found.join(refunds, "settlement_id", "left")
    else:
        found = found.withColumn("refunds", F.lit(None).cast("array<struct<at:timestamp,refund_id:string,"
                                                           "amount_fen:bigint>>"))
    columns = ["settlement_id", "at", "business_date", "institution_code", "institution_kind", "institution_region",
               "owner_id", "owner_region", "total_fen", "covered_fen", "account_paid_fen", "cash_fen", "emergency",
               "limited_by", "refunds", "_file", "_row"]
    return found.select(*columns).repartition("owner_id").sortWithinPartitions("owner_id", "at", "_file", "_row")


# --- on the workers ------------------------------------------------------------------------------------


def _engine(digest: str, files: Mapping[str, bytes]) -> Engine:
    """The proposed policy's engine, built once per worker process from the files' bytes."""
    if digest not in _engines:
        _engines[digest] = Engine(load_files(files))
    return _engines[digest]


def _decide_partition(digest: str, files: Mapping[str, bytes], chunk_rows: int,
                      batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One partition's settlements (sorted by owner) re-decided in chunks that never split an owner's history."""
    engine = _engine(digest, files)
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows < chunk_rows:
            continue
        table = pa.Table.from_batches(pending)
        cut = _last_owner_start(table["owner_id"])
        if cut:  # else one owner fills the chunk: read on until their history ends
            yield from _decided(engine, table.slice(0, cut))
            rest = table.slice(cut)
            pending, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield from _decided(engine, pa.Table.from_batches(pending))


def _last_owner_start(owners: pa.ChunkedArray) -> int:
    """Where the last owner's rows begin, in rows grouped by owner."""
    other = pc.not_equal(owners, owners[-1]).to_numpy(zero_copy_only=False)
    found = np.flatnonzero(other)
    return int(found[-1]) + 1 if len(found) else 0


def _decided(engine: Engine, table: pa.Table) -> Iterator[pa.RecordBatch]:
    """The chunk re-decided, one output row per settlement."""
    table = table.combine_chunks()
    outcome = redecide(engine, _settlements(table))
    n, width = outcome.flags.shape
    flags = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * width),
                                     pa.array(outcome.flags.reshape(-1)))
    decided = pa.table([table["settlement_id"], table["owner_id"], table["institution_code"], table["business_date"],
                        table["total_fen"], table["account_paid_fen"], pa.array(outcome.account_fen),
                        table["cash_fen"], pa.array(outcome.cash_fen), pa.array(outcome.allowed),
                        pa.array(outcome.changed), table["limited_by"], flags], names=DECIDED.names)
    yield from decided.cast(DECIDED).to_batches()


def _settlements(table: pa.Table) -> Settlements:
    """The columns of a chunk as the kernel takes them, refunds unnested (no balances: the data set has none)."""
    def col(name: str, dtype=None) -> np.ndarray:
        values = table[name].to_numpy(zero_copy_only=False)
        return values.astype(dtype) if dtype is not None else values

    nested = table["refunds"].combine_chunks()
    refunds = None
    if nested.null_count < len(nested):
        flat = pc.list_flatten(nested)
        refunds = (pc.list_parent_indices(nested).to_numpy(zero_copy_only=False).astype(np.int64),
                   flat.field("at").to_numpy(zero_copy_only=False).astype("datetime64[us]"),
                   flat.field("amount_fen").to_numpy(zero_copy_only=False).astype(np.int64))
    return Settlements(
        settlement_id=col("settlement_id", object), at=col("at", "datetime64[us]"),
        business_date=col("business_date", "datetime64[D]"), institution_code=col("institution_code", object),
        institution_kind=col("institution_kind", object), institution_region=col("institution_region", object),
        owner_id=col("owner_id", object), owner_region=col("owner_region", object), total_fen=col("total_fen", np.int64),
        covered_fen=col("covered_fen", np.int64), account_paid_fen=col("account_paid_fen", np.int64),
        cash_fen=col("cash_fen", np.int64), emergency=col("emergency", bool), limited_by=col("limited_by", object),
        refunds=refunds)


# --- back on the driver --------------------------------------------------------------------------------


def _changed_outcome(rows: pa.Table) -> Outcome:
    """The changed settlements collected from Spark as an Outcome of their own (what the report's rows read)."""
    def col(name: str, dtype=None) -> np.ndarray:
        values = rows[name].to_numpy(zero_copy_only=False)
        return values.astype(dtype) if dtype is not None else values

    n = rows.num_rows
    flags = pc.list_flatten(rows["flags"]).to_numpy(zero_copy_only=False).astype(bool).reshape(n, -1) if n else (
        np.zeros((0, 0), dtype=bool))
    blank = np.full(n, "", dtype=object)
    settlements = Settlements(
        settlement_id=col("settlement_id", object), at=np.zeros(n, dtype="datetime64[us]"),
        business_date=col("business_date", "datetime64[D]"), institution_code=col("institution_code", object),
        institution_kind=blank, institution_region=blank, owner_id=col("owner_id", object), owner_region=blank,
        total_fen=col("total_fen", np.int64), covered_fen=col("total_fen", np.int64),
        account_paid_fen=col("account_recorded_fen", np.int64), cash_fen=col("cash_recorded_fen", np.int64),
        emergency=np.zeros(n, dtype=bool), limited_by=col("limited_by_recorded", object))
    return Outcome(settlements, col("account_proposed_fen", np.int64), col("cash_proposed_fen", np.int64),
                   col("allowed", bool), flags)


def _daily(days: pa.Table) -> Outcome:
    """The account outflow per business day as an Outcome of one row per day (what the report's chart reads)."""
    n = days.num_rows
    recorded = days["account_recorded_fen"].to_numpy(zero_copy_only=False).astype(np.int64)
    zeros, blank = np.zeros(n, dtype=np.int64), np.full(n, "", dtype=object)
    settlements = Settlements(
        settlement_id=blank, at=np.zeros(n, dtype="datetime64[us]"),
        business_date=days["business_date"].to_numpy(zero_copy_only=False).astype("datetime64[D]"),
        institution_code=blank, institution_kind=blank, institution_region=blank, owner_id=blank, owner_region=blank,
        total_fen=zeros, covered_fen=zeros, account_paid_fen=recorded, cash_fen=zeros,
        emergency=np.zeros(n, dtype=bool), limited_by=blank)
    proposed = days["account_proposed_fen"].to_numpy(zero_copy_only=False).astype(np.int64)
    return Outcome(settlements, proposed, zeros, np.ones(n, dtype=bool), np.zeros((n, 0), dtype=bool))


def write(result: SparkWhatIf, out: Path) -> Summary:
    """The report `sim_report.write` writes (summary.csv, changes.csv, persons.csv, institutions.csv, chart.svg,
    index.html), from the Spark run's totals, days and changed settlements."""
    if result.changed is None:
        raise ValueError("the run did not collect the changed settlements")
    return sim_report.write_files(out, result.summary, changed=result.changed, daily=_daily(result.days))
