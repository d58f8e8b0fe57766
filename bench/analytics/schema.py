"""The analytics data set's tables, as `yibao.analytics.dataset` defines them (one source for the generator, the
export and the engines), and the schema of the injected truth."""

from __future__ import annotations

import pyarrow as pa

from yibao.analytics.dataset import (  # noqa: F401 - re-exported for the generator and the injector
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

UTC = pa.timestamp("us", tz="UTC")

TRUTH = pa.schema([
    ("pattern", pa.string()),
    ("subject_kind", pa.string()),
    ("subject_id", pa.string()),
    ("persons", pa.string()),  # the persons involved, comma-separated (a bank account's holders, a grant's two ends)
])
