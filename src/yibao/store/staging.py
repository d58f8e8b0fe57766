"""Temporary tables filled by COPY (PostgreSQL): how a batch of thousands of rows reaches a set-based
statement without thousands of parameters."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import Connection


def stage(conn: Connection, table: str, columns: str, rows: Iterable[tuple]) -> None:
    """COPY rows into a temporary table of this connection, emptied first and again at commit."""
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns}) ON COMMIT DELETE ROWS")
    conn.exec_driver_sql(f"TRUNCATE {table}")
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
