"""DuckDB and Apache Spark give identical findings on the same data: on a small synthetic region with every pattern
injected (each query's rows too: same columns, same Python types, same values), on the export of what the services
did, and through `yibao analytics misuse --engine spark`, which records nothing DuckDB had not already recorded.

One local Spark session serves the whole test process; with CI=true a missing pyspark or Java fails the tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analytics.generate import YEAR, generate  # noqa: E402
from bench.analytics.inject import inject  # noqa: E402

from tests.integration.test_misuse_rules import _services_world  # noqa: E402
from yibao.analytics import rules_duckdb, rules_spark, spark  # noqa: E402
from yibao.analytics.detection import detect  # noqa: E402
from yibao.analytics.misuse import as_dict  # noqa: E402
from yibao.analytics.rules import detect_with  # noqa: E402
from yibao.domain.findings import Pattern  # noqa: E402
from yibao.policy.loader import load_tree  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
YEAR_FROM, YEAR_TO = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
MARCH_FROM, MARCH_TO = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
ROWS = 3000
RECORDED = re.compile(r"to review: (\d+) new, (\d+) already")


@pytest.fixture(scope="session")
def spark_ready() -> None:
    """pyspark and Java are here (in CI their absence fails the tests, never skips them)."""
    if (missing := spark.available()) is not None:
        if IN_CI:
            pytest.fail(f"Spark cannot run: {missing}", pytrace=False)
        pytest.skip(f"Spark cannot run: {missing}")


@pytest.fixture(scope="session")
def spark_session(spark_ready):
    """The test process's one local Spark session."""
    return spark.session()


@pytest.fixture(scope="module")
def policy():
    return load_tree(ROOT / "policies")


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    """A synthetic region's year, every misuse pattern injected into its own persons."""
    folder = tmp_path_factory.mktemp("region")
    generate(ROWS, folder, seed=3, chunk=1000)
    inject(folder, seed=5)
    return folder


def shown(found) -> list[str]:
    """Findings as the JSON a reviewer's tools read (types included: 1 and 1.0 differ), sorted by fingerprint."""
    return [json.dumps(as_dict(f), sort_keys=True, ensure_ascii=False)
            for f in sorted(found, key=lambda f: f.fingerprint())]


def typed(rows: list[dict]) -> list[list[tuple]]:
    """Each row's columns in order, with each value's Python type (a list's items' types too)."""
    def kind(value):
        return [type(v).__name__ for v in value] if isinstance(value, list) else type(value).__name__

    return [[(name, kind(value), value) for name, value in row.items()] for row in rows]


def recorded_run(queries, folder, policy) -> tuple[list, dict]:
    """The findings of every rule through an engine's queries, and the rows each query gave, by name and args."""
    answers: dict[tuple, list[dict]] = {}
    with queries(folder) as query:
        def recording(name: str, args: dict) -> list[dict]:
            rows = query(name, args)
            answers[(name, repr(sorted(args.items())))] = rows
            return rows

        found = detect_with(recording, policy, YEAR_FROM, YEAR_TO)
    return found, answers


def test_duckdb_and_spark_find_the_same_in_a_synthetic_region(spark_session, region, policy):
    by_duckdb, duckdb_rows = recorded_run(rules_duckdb.queries, region, policy)
    by_spark, spark_rows = recorded_run(rules_spark.queries, region, policy)

    per_pattern = Counter(f.pattern for f in by_duckdb)
    assert set(per_pattern) == set(Pattern), f"a pattern found nothing, so proves nothing: {per_pattern}"
    assert shown(by_spark) == shown(by_duckdb)
    assert set(spark_rows) == set(duckdb_rows)
    for call, rows in duckdb_rows.items():
        assert typed(spark_rows[call]) == typed(rows), call[0]


def test_tables_as_folders_of_parts_read_as_one_table(spark_session, region, policy, tmp_path):
    """Regions' exports read together: each table a folder holding one Parquet file per part."""
    import pyarrow.parquet as pq

    from yibao.analytics.dataset import TABLES, table_path

    for table in TABLES:
        rows = pq.read_table(table_path(region, table))
        half = rows.num_rows // 2
        folder = table_path(tmp_path, table)
        folder.mkdir()
        pq.write_table(rows.slice(0, half), folder / "110000.parquet")
        pq.write_table(rows.slice(half), folder / "120000.parquet")
    whole = shown(detect(region, policy, YEAR_FROM, YEAR_TO))
    assert shown(detect(tmp_path, policy, YEAR_FROM, YEAR_TO)) == whole
    assert shown(detect(tmp_path, policy, YEAR_FROM, YEAR_TO, engine="spark")) == whole


def test_spark_queries_have_every_duckdb_query_name():
    assert set(rules_spark.SQL) == set(rules_duckdb.SQL)


def test_the_export_of_what_the_services_did_is_found_alike(spark_session, ctx, admin, policy, tmp_path, settings):
    from yibao.analytics.export import digest_key, export

    world, settlement_id, _number = _services_world(ctx, admin)
    folder = export(settings.resolved_database_url, tmp_path / "set", MARCH_FROM, MARCH_TO, ctx.policy,
                    key=digest_key(settings.secret_key))
    by_duckdb = detect(folder, policy, MARCH_FROM, MARCH_TO)
    by_spark = detect(folder, policy, MARCH_FROM, MARCH_TO, engine="spark")
    assert {(f.pattern, f.subject_id) for f in by_spark} >= {(Pattern.AFTER_DEATH, world.person.id)}
    assert Pattern.SHARED_BANK_ACCOUNT in {f.pattern for f in by_spark}
    assert shown(by_spark) == shown(by_duckdb)


def test_the_command_on_spark_records_what_duckdb_recorded(spark_ready, ctx, admin, database_url, tmp_path):
    """DuckDB's run records the findings; Spark's run of the same period finds the very same and so adds none; a
    run over the kept data set (`--input`, no export) adds none either."""
    from tests.support import yibao
    from yibao.domain.users import Actor, Role
    from yibao.services.misuse.findings import list_findings

    _services_world(ctx, admin)
    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path),
           "YIBAO_ARGON2_PROFILE": "light", "YIBAO_ENV": "dev", "COLUMNS": "200"}
    period = ("--from", MARCH_FROM.isoformat(), "--to", MARCH_TO.isoformat())
    kept = tmp_path / "kept"
    reviewer = Actor(username="finding-reviewer", role=Role.REVIEWER)

    def recorded() -> list[str]:
        return sorted(f.fingerprint for f in list_findings(ctx, actor=reviewer))

    on_duckdb = yibao(env, "analytics", "misuse", *period, "--engine", "duckdb", "--dataset", str(kept))
    assert on_duckdb.returncode == 0, on_duckdb.stderr
    added, already = map(int, RECORDED.search(on_duckdb.stdout).groups())
    assert added >= 2 and already == 0, on_duckdb.stdout
    by_duckdb = recorded()
    assert len(by_duckdb) == added

    on_spark = yibao(env, "analytics", "misuse", *period, "--engine", "spark", "--json")
    assert on_spark.returncode == 0, on_spark.stderr
    ids = {f.fingerprint: f.id for f in list_findings(ctx, actor=reviewer)}  # each as recorded by the first run
    expected = [as_dict(f, ids[f.fingerprint()]) for f in detect(kept, ctx.policy.policy_set, MARCH_FROM, MARCH_TO)]
    assert sorted(json.loads(on_spark.stdout), key=lambda f: f["fingerprint"]) == json.loads(
        json.dumps(sorted(expected, key=lambda f: f["fingerprint"]), default=str))
    assert recorded() == by_duckdb

    over_input = yibao(env, "analytics", "misuse", *period, "--input", str(kept))
    assert over_input.returncode == 0, over_input.stderr
    assert RECORDED.search(over_input.stdout).groups() == ("0", str(added)), over_input.stdout


def test_the_command_refuses_options_it_cannot_honour(tmp_path, database_url):
    from tests.support import yibao

    env = {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path),
           "YIBAO_ARGON2_PROFILE": "light", "YIBAO_ENV": "dev", "COLUMNS": "200"}
    period = ("--from", MARCH_FROM.isoformat(), "--to", MARCH_TO.isoformat())
    master_on_duckdb = yibao(env, "analytics", "misuse", *period, "--master", "spark://nowhere:7077")
    assert master_on_duckdb.returncode == 1 and "analytics.invalid" in master_on_duckdb.stderr
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    no_dataset = yibao(env, "analytics", "misuse", *period, "--input", str(empty))
    assert no_dataset.returncode == 1 and "analytics.no_dataset" in no_dataset.stderr
    assert str(empty) not in no_dataset.stderr
