"""The what-if on Spark gives the embedded NumPy path's results: on one data set of two regions with refunds, under
a proposal that changes many decisions, the same totals, the same account and cash for every changed settlement,
the same report files, and the same JSON from the command with either engine."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.conftest import IN_CI
from tests.support import PIN, beijing_settlement_proposal, funded_world
from yibao.analytics import sim_report, sim_spark, simulate
from yibao.analytics import spark as spark_runtime
from yibao.analytics.dataset import REFUNDS, SETTLEMENTS, table_path
from yibao.analytics.sim_source import from_dataset
from yibao.cli.main import app as cli
from yibao.domain.clock import SHANGHAI
from yibao.policy.engine import Engine
from yibao.policy.loader import load_tree
from yibao.services.policy import sets
from yibao.services.settlement import payments as service

BEIJING, TIANJIN = "110000", "120000"
FIRST, LAST = dt.date(2026, 3, 1), dt.date(2026, 3, 10)
REPORT_CSV = ("summary.csv", "changes.csv", "persons.csv", "institutions.csv")
# the proposal: ¥200 a day at one institution from 2026-03-04, and at most 4 payments a day, refused beyond
PROPOSED = beijing_settlement_proposal(institution_daily=("2026-03-04", 20000), daily_count=4)
INSTITUTIONS = [("H1", "hospital", "110105"), ("H2", "hospital", "110108"), ("C1", "clinic", "110102"),
                ("P1", "pharmacy", "110105"), ("T1", "hospital", "120101"), ("T2", "pharmacy", "120103")]


@pytest.fixture(scope="session")
def spark():
    """The test process's one Spark session (local mode); without pyspark or Java it fails in CI."""
    missing = spark_runtime.available()
    if missing is not None:
        if IN_CI:
            pytest.fail(f"Spark cannot run: {missing}", pytrace=False)
        pytest.skip(f"Spark cannot run: {missing}")
    return spark_runtime.session("local[2]")


@pytest.fixture(scope="module")
def policy_in_force():
    return load_tree(sets.BUNDLED)


@pytest.fixture(scope="module")
def proposed(policy_in_force):
    return simulate.candidate_set(policy_in_force, BEIJING, "settlement.yaml", PROPOSED.encode("utf-8"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, policy_in_force):
    """Ten days of settlements of 120 persons insured in Beijing or Tianjin, written in no particular order, on a
    ten-minute grid (so a person's payments tie at one moment), 15 % refunded, recorded as the policy in force
    decides them."""
    rng = np.random.default_rng(18)
    n, persons = 3_000, 120
    owner_index = rng.choice(persons, n, p=(w := rng.gamma(1.5, 1.0, persons)) / w.sum())
    owner_region = np.where(owner_index % 2 == 0, BEIJING, TIANJIN).astype(object)
    place = rng.integers(0, len(INSTITUTIONS), n)
    slot = rng.integers(0, 10 * 14 * 6, n)  # ten days of fourteen opening hours, ten minutes apart
    at = (np.datetime64("2026-03-01T00:00", "us") + (slot // 84).astype("timedelta64[D]")
          + ((slot % 84) * 10).astype("timedelta64[m]"))  # 08:00 to 22:00 China time
    total = np.round(rng.lognormal(np.log(9_000), 0.9, n), -1).astype(np.int64) + 100
    not_covered = rng.random(n) < 0.05
    covered = np.where(not_covered, (total * 0.6).astype(np.int64), total)
    ids = np.array([f"S{i:05d}" for i in rng.permutation(n)], dtype=object)  # not in time order
    settlements = simulate.Settlements(
        settlement_id=ids, at=at, business_date=at.astype("datetime64[D]"),
        institution_code=np.array([INSTITUTIONS[k][0] for k in place], dtype=object),
        institution_kind=np.array([INSTITUTIONS[k][1] for k in place], dtype=object),
        institution_region=np.array([INSTITUTIONS[k][2] for k in place], dtype=object),
        owner_id=np.array([f"P{k:03d}" for k in owner_index], dtype=object), owner_region=owner_region,
        total_fen=total, covered_fen=covered, account_paid_fen=np.zeros(n, dtype=np.int64), cash_fen=total,
        emergency=rng.random(n) < 0.03, limited_by=np.full(n, "", dtype=object))
    refunded = rng.choice(n, n * 15 // 100, replace=False)
    refund_at = at[refunded] + (rng.integers(0, 12, len(refunded)) * 10).astype("timedelta64[m]")
    refund_fen = np.minimum(total[refunded], rng.choice([2_000, 10_000, 100_000], len(refunded)))
    settlements.refunds = (refunded, refund_at, refund_fen)
    recorded = simulate.redecide(Engine(policy_in_force), settlements)
    limited = np.where(not_covered, "category.not_covered", "").astype(object)
    refunded_total = np.zeros(n, dtype=np.int64)  # as the settlements record it: what their refunds gave back
    refunded_total[refunded] = refund_fen
    table = pa.table({
        "settlement_id": ids, "at": at, "business_date": settlements.business_date,
        "institution_code": settlements.institution_code, "institution_kind": settlements.institution_kind,
        "institution_region": settlements.institution_region, "payer_id": settlements.owner_id,
        "owner_id": settlements.owner_id, "owner_region": owner_region, "credential_type": np.full(n, "card"),
        "credential_id": settlements.owner_id, "total_fen": total, "account_paid_fen": recorded.account_fen,
        "cash_fen": recorded.cash_fen, "refunded_fen": refunded_total,
        "emergency": settlements.emergency, "limited_by": limited, "cap_fen": np.zeros(n, dtype=np.int64)})
    folder = tmp_path_factory.mktemp("dataset")
    pq.write_table(table.cast(SETTLEMENTS), table_path(folder, "settlements"), row_group_size=700)
    pq.write_table(pa.table({"refund_id": [f"R{i:05d}" for i in range(len(refunded))], "settlement_id": ids[refunded],
                             "at": refund_at, "amount_fen": refund_fen}).cast(REFUNDS), table_path(folder, "refunds"))
    return folder


@pytest.fixture(scope="module")
def embedded(proposed, dataset):
    """The NumPy path's outcome over the data set."""
    return simulate.redecide(Engine(proposed), from_dataset(dataset, BEIJING, FIRST, LAST))


def _changed(outcome: simulate.Outcome) -> dict[str, tuple[int, int, bool, str]]:
    return {row["settlement_id"]: (row["account_proposed_fen"], row["cash_proposed_fen"], row["allowed"],
                                   row["limited_by_proposed"]) for row in sim_report.changes(outcome)}


def test_spark_gives_the_numpy_totals_and_every_changed_settlement(spark, proposed, dataset, embedded, tmp_path):
    expected = sim_report.summarise(embedded, BEIJING, FIRST.isoformat(), LAST.isoformat())
    ran = sim_spark.redecide_dataset(proposed, dataset, region=BEIJING, date_from=FIRST, date_to=LAST,
                                     master="local[2]")
    assert ran.summary == expected
    # the proposal bites, and only Beijing's insured are re-decided
    assert expected.changed > 300 and expected.refused > 10 and expected.account_change_fen < 0
    assert expected.settlements < pq.read_metadata(table_path(dataset, "settlements")).num_rows
    assert _changed(ran.changed) == _changed(embedded)
    sim_report.write(embedded, tmp_path / "numpy", region=BEIJING, date_from=FIRST.isoformat(),
                     date_to=LAST.isoformat())
    sim_spark.write(ran, tmp_path / "spark")
    for name in REPORT_CSV:
        assert (tmp_path / "spark" / name).read_text(encoding="utf-8") == (
            tmp_path / "numpy" / name).read_text(encoding="utf-8"), name
    assert "<svg" in (tmp_path / "spark" / "chart.svg").read_text(encoding="utf-8")
    assert "Policy what-if" in (tmp_path / "spark" / "index.html").read_text(encoding="utf-8")


def test_chunks_cut_between_persons_change_nothing(spark, proposed, dataset, embedded):
    batch = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(batch)
    spark.conf.set(batch, "16")  # small batches, so that a partition is cut into many chunks of about 40 rows
    try:
        small = sim_spark.redecide_dataset(proposed, dataset, region=BEIJING, date_from=FIRST, date_to=LAST,
                                           master="local[2]", changes=False, chunk_rows=40)
    finally:
        spark.conf.set(batch, before)
    assert small.summary == sim_report.summarise(embedded, BEIJING, FIRST.isoformat(), LAST.isoformat())
    assert small.changed is None


def _command(database_url, tmp_path):
    """The environment of the command and the proposal's file."""
    proposal = tmp_path / "settlement.yaml"
    proposal.write_text(PROPOSED, encoding="utf-8")
    return {"YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path / "data"), "YIBAO_ENV": "dev",
            "COLUMNS": "200"}, proposal


def _simulate(env, proposal, *options):
    """`yibao policy simulate` run in this process, so that Spark's run shares the test's session."""
    return CliRunner().invoke(cli, ["policy", "simulate", BEIJING, "--version", str(proposal), "--from",
                                    FIRST.isoformat(), "--to", LAST.isoformat(), "--master", "local[2]", *options],
                              env=env)


def _simulated(env, proposal, out, *options) -> dict:
    ran = _simulate(env, proposal, "--out", str(out), "--json", *options)
    assert ran.exit_code == 0, ran.stderr
    return json.loads(ran.stdout)


def test_the_command_prints_the_same_totals_on_either_engine(spark, dataset, database_url, tmp_path):
    env, proposal = _command(database_url, tmp_path)
    printed = {engine: _simulated(env, proposal, tmp_path / engine, "--dataset", str(dataset), "--engine", engine)
               for engine in ("numpy", "spark")}
    assert printed["spark"] == printed["numpy"]
    assert printed["numpy"]["changed"] > 300 and printed["numpy"]["cash_change_fen"] > 0
    assert (tmp_path / "spark" / "changes.csv").read_text(encoding="utf-8") == (
        tmp_path / "numpy" / "changes.csv").read_text(encoding="utf-8")
    bad = _simulate(env, proposal, "--dataset", str(tmp_path / "nowhere"), "--engine", "spark")
    assert bad.exit_code == 1 and "simulate.dataset" in bad.stderr and "nowhere" not in bad.stderr


def test_without_a_data_set_spark_re_decides_the_period_exported_from_the_database(spark, ctx, admin, database_url,
                                                                                   tmp_path):
    world = funded_world(ctx, admin, at=dt.datetime(2026, 3, 4, 9, 0, tzinfo=SHANGHAI))
    for i, amount in enumerate([30_000, 30_000, 15_000, 30_000]):
        ctx.clock.set(dt.datetime(2026, 3, 4 + i // 2, 9, i * 5, tzinfo=SHANGHAI))
        sold = service.settle(ctx, actor=admin, idempotency_key=f"k{i}", institution_code=world.institution_code,
                              credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                              items=[{"category": "drug", "amount_fen": amount}])
    service.refund(ctx, actor=admin, settlement_id=sold["settlement_id"], idempotency_key="r", amount_fen=5_000)
    env, proposal = _command(database_url, tmp_path)
    printed = {engine: _simulated(env, proposal, tmp_path / engine, "--engine", engine)
               for engine in ("numpy", "spark")}
    assert printed["spark"] == printed["numpy"]
    # recorded ¥300 + ¥200 on the 4th, ¥150 + ¥300 on the 5th; proposed ¥200 a day at the pharmacy
    assert (printed["spark"]["settlements"], printed["spark"]["account_proposed_fen"]) == (4, 40_000)
    assert (tmp_path / "spark" / "persons.csv").read_text(encoding="utf-8") == (
        tmp_path / "numpy" / "persons.csv").read_text(encoding="utf-8")
