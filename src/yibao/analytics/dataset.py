"""The analytics data set: one Parquet file per table, with these exact pyarrow schemas (timestamps UTC, dates as
date32, money int64 fen, ids as strings). The exporter, the synthetic generator and every engine share them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")

SETTLEMENTS = pa.schema([
    ("settlement_id", pa.string()),
    ("at", _TS),
    ("business_date", pa.date32()),
    ("institution_code", pa.string()),
    ("institution_kind", pa.string()),
    ("institution_region", pa.string()),
    ("payer_id", pa.string()),
    ("owner_id", pa.string()),
    ("owner_region", pa.string()),
    ("credential_type", pa.string()),
    ("credential_id", pa.string()),
    ("total_fen", pa.int64()),
    ("account_paid_fen", pa.int64()),
    ("cash_fen", pa.int64()),
    ("refunded_fen", pa.int64()),
    ("emergency", pa.bool_()),
    ("limited_by", pa.string()),
    ("cap_fen", pa.int64()),
])

REFUNDS = pa.schema([
    ("refund_id", pa.string()),
    ("settlement_id", pa.string()),
    ("at", _TS),
    ("amount_fen", pa.int64()),
])

APPLICATIONS = pa.schema([
    ("application_id", pa.string()),
    ("person_id", pa.string()),
    ("kind", pa.string()),
    ("reason", pa.string()),
    ("status", pa.string()),
    ("submitted_at", _TS),
    ("amount_fen", pa.int64()),
    ("approved_fen", pa.int64()),
])

INVOICES = pa.schema([
    ("invoice_number", pa.string()),
    ("issuer", pa.string()),
    ("invoice_date", pa.date32()),
    ("application_id", pa.string()),
    ("settlement_id", pa.string()),
    ("amount_fen", pa.int64()),
])

BANK_ACCOUNTS = pa.schema([
    ("person_id", pa.string()),
    ("account_digest", pa.string()),
    ("linked_at", _TS),
    ("unlinked_at", _TS),
])

GRANTS = pa.schema([
    ("grant_id", pa.string()),
    ("owner_id", pa.string()),
    ("grantee_id", pa.string()),
    ("relation", pa.string()),
    ("status", pa.string()),
    ("starts_on", pa.date32()),
    ("ends_on", pa.date32()),
])

PERSONS = pa.schema([
    ("person_id", pa.string()),
    ("region", pa.string()),
    ("birth_year", pa.int32()),
    ("died_on", pa.date32()),
    ("emigrated_on", pa.date32()),
])

INSTITUTIONS = pa.schema([
    ("institution_code", pa.string()),
    ("kind", pa.string()),
    ("region", pa.string()),
])

TABLES: dict[str, pa.Schema] = {
    "settlements": SETTLEMENTS,
    "refunds": REFUNDS,
    "applications": APPLICATIONS,
    "invoices": INVOICES,
    "bank_accounts": BANK_ACCOUNTS,
    "grants": GRANTS,
    "persons": PERSONS,
    "institutions": INSTITUTIONS,
}


def table_path(folder: Path, table: str) -> Path:
    """Where one table of the data set lives in its folder."""
    return Path(folder) / f"{table}.parquet"


def write_table(folder: Path, table: str, rows: list[dict]) -> Path:
    """Write rows (dicts keyed by column) as one table of the data set, cast to its schema."""
    import pyarrow.parquet as pq

    schema = TABLES[table]
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    arrow_table = pa.Table.from_pydict(columns, schema=schema)
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = table_path(folder, table)
    pq.write_table(arrow_table, path)
    return path
