"""Fixtures: every database test runs on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
import shutil

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.pg_cluster import Cluster, find_bindir
from yibao.api.app import create_app
from yibao.bootstrap import bootstrap
from yibao.config import Settings
from yibao.domain.users import Actor
from yibao.store.db import create_engine
from yibao.store.migrate import upgrade
from yibao.store.tables import metadata

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser):
    parser.addoption("--db", default=",".join(BACKENDS), help="comma-separated backends: sqlite,postgresql")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        chosen = [b for b in metafunc.config.getoption("--db").split(",") if b]
        if IN_CI and set(chosen) != set(BACKENDS):
            raise pytest.UsageError("in CI every backend runs: do not narrow --db")
        if metafunc.definition.get_closest_marker("postgresql_only"):
            chosen = [b for b in chosen if b == "postgresql"]  # deselected, not skipped, without PostgreSQL
        metafunc.parametrize("backend", chosen, scope="session")


@pytest.fixture(scope="session")
def pg_cluster():
    bindir = find_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("PostgreSQL server binaries are missing; `make test` installs them", pytrace=False)
        pytest.skip("PostgreSQL server binaries not found (run `make test` to install them)")
    cluster = Cluster(bindir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def migrated_template(backend, request, tmp_path_factory):
    """A database migrated to head once per backend; tests get a fresh copy of it."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        engine = create_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        return path
    cluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database("yibao_test")
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def database_url(backend, migrated_template, tmp_path):
    if backend == "sqlite":
        path = tmp_path / "yibao.db"
        shutil.copy(migrated_template, path)
        yield f"sqlite:///{path}"
        return
    engine = create_engine(migrated_template)
    names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield migrated_template


@pytest.fixture(scope="session")
def bank_simulator(tmp_path_factory):
    """The bank simulator, a real HTTP server on 127.0.0.1 with its own key; the agency knows its public key."""
    from yibao.simulators.bank import BankSimulator, key_pair

    simulator = BankSimulator(key_pair(tmp_path_factory.mktemp("bank"))).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def settings(database_url, tmp_path, bank_simulator) -> Settings:
    return Settings(env="test", database_url=database_url, data_dir=tmp_path / "data", argon2_profile="light",
                    secret_key="test-secret-key", bank_url=bank_simulator.url,
                    bank_public_key=bank_simulator.public_key)


@pytest.fixture
def ctx(settings):
    context = bootstrap(settings)
    yield context
    context.engine.dispose()


@pytest.fixture
def admin() -> Actor:
    return Actor.system("test-admin")


@pytest.fixture
def app(ctx):
    return create_app(ctx)


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
