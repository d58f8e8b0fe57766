"""Engines for SQLite (embedded default) and PostgreSQL, with the settings each needs."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url


class _NoResultRows(logging.Filter):
    """SQLAlchemy logs every fetched row at DEBUG; rows hold ID numbers, phones and bank numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_NO_RESULT_ROWS = _NoResultRows()


def create_engine(url: str) -> Engine:
    # Statement parameters hold ID numbers, phones and bank numbers: keep them out of SQL logs
    # and out of the messages of database errors (DESIGN: never written to logs).
    private = {"hide_parameters": True}
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NO_RESULT_ROWS)  # added once
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **private)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no cover
            # Writers serialise up front instead of failing on lock upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    # No ping on checkout: it is a round trip on every unit of work. A connection the server has dropped fails
    # its first statement, before anything is written or at commit (a retry with the same idempotency key
    # is then answered once), and the pool replaces every connection older than that failure.
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_recycle=3600, **private)
