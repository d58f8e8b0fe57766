"""The analytics data set's tables as pyarrow schemas: a copy of the shared contract, used when
`yibao.analytics.dataset` is not installed (when it is, its schemas are the ones used), and the truth's schema."""

from __future__ import annotations

import pyarrow as pa

UTC = pa.timestamp("us", tz="UTC")

SETTLEMENTS = pa.schema([
    ("settlement_id", pa.string()),
    ("at", UTC),
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
    ("at", UTC),
    ("amount_fen", pa.int64()),
])

APPLICATIONS = pa.schema([
    ("application_id", pa.string()),
    ("person_id", pa.string()),
    ("kind", pa.string()),
    ("reason", pa.string()),
    ("status", pa.string()),
    ("submitted_at", UTC),
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
    ("linked_at", UTC),
    ("unlinked_at", UTC),
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

TRUTH = pa.schema([
    ("pattern", pa.string()),
    ("subject_kind", pa.string()),
    ("subject_id", pa.string()),
    ("persons", pa.string()),  # the persons involved, comma-separated (a bank account's holders, a grant's two ends)
])

TABLES = {
    "settlements": SETTLEMENTS,
    "refunds": REFUNDS,
    "applications": APPLICATIONS,
    "invoices": INVOICES,
    "bank_accounts": BANK_ACCOUNTS,
    "grants": GRANTS,
    "persons": PERSONS,
    "institutions": INSTITUTIONS,
}

try:  # the shared contract, once it is installed: the same schemas, one source
    from yibao.analytics.dataset import (  # noqa: F401
        APPLICATIONS,
        BANK_ACCOUNTS,
        GRANTS,
        INSTITUTIONS,
        INVOICES,
        PERSONS,
        REFUNDS,
        SETTLEMENTS,
        TABLES,
    )
except ImportError:
    pass
