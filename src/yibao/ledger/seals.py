"""Seals: the digest of a money- or decision-bearing row, carried by the audit record written with it.

A seal is `[table, key, digest]` in the audit record's `details["seals"]`; the record's link in its entity's
hash chain covers it. The newest seal of a row is what the row must still hold (`yibao audit verify` reads
every row of the sealed tables and compares): a row altered, removed or added behind the services' back
no longer matches. A row the services remove (a lapsed cash voucher replaced on retry) is sealed as removed
(digest null). The ledger's own rows are links of their chains; an entry may be sealed too (its hash), so a
chain rewritten from that entry on is named at that entry.

Each sealed table's digest covers the columns listed here (those that hold a value). A column added later
that bears money or a decision belongs in its list, and rows written before it are sealed without it.
"""

from __future__ import annotations

from yibao.ledger import chain

COLUMNS: dict[str, tuple[str, ...]] = {
    "settlements": ("id", "institution_code", "idempotency_key", "payer_id", "owner_id", "credential_type",
                    "total_fen", "account_paid_fen", "cash_fen", "refunded_fen", "status", "business_date", "at",
                    "items", "decision", "quotas", "entry_id"),
    "refunds": ("id", "settlement_id", "amount_fen", "entry_id", "at", "actor"),
    "application_steps": ("id", "application_id", "at", "actor", "action", "from_status", "to_status", "note",
                          "data"),
    "vouchers": ("code", "kind", "person_id", "subject", "sha256", "created_at", "created_by"),
    "cash_vouchers": ("code", "application_id", "person_id", "hold_id", "amount_fen", "institution_code",
                      "issued_at", "valid_until", "redeemed_at", "redeemed_by", "redeemed_at_institution"),
    "idempotency_keys": ("scope", "key", "request_hash", "response"),
    "findings": ("id", "fingerprint", "pattern", "rule_version", "score", "subject_kind", "subject_id",
                 "period_from", "period_to", "evidence", "facts", "found_at", "status", "decided_by", "decided_at",
                 "note"),
}
# Columns added to a sealed table after rows were sealed: a row's digest covers one only where it holds other
# than its default, so rows sealed before it existed still match and a row that states it is covered.
ADDED_LATER: dict[str, dict[str, object]] = {
    "settlements": {"emergency": False},  # stated by the institution (急诊抢救): decides whether a filing is needed
}
# Each sealed table's key columns (the store's test holds them to the tables' primary keys).
KEYS: dict[str, tuple[str, ...]] = {
    "settlements": ("id",), "refunds": ("id",), "application_steps": ("id",), "vouchers": ("code",),
    "cash_vouchers": ("code",), "idempotency_keys": ("scope", "key"), "findings": ("id",),
}
ENTRIES = "ledger_entries"


def key_of(table: str, row) -> list[str]:
    get = row.get if isinstance(row, dict) else (lambda name: getattr(row, name))
    return [str(get(name)) for name in KEYS[table]]


def digest_of(table: str, row) -> str:
    """The digest of a row (a mapping, a result row or a mapped object) over its table's sealed columns."""
    get = row.get if isinstance(row, dict) else (lambda name: getattr(row, name, None))
    values = {name: get(name) for name in COLUMNS[table]}
    for name, default in ADDED_LATER.get(table, {}).items():
        if get(name) is not None and get(name) != default:
            values[name] = get(name)
    return chain.row_digest(values)


def seal(table: str, row) -> list:
    """The seal of a row as it is now written."""
    return [table, key_of(table, row), digest_of(table, row)]


def removed(table: str, key: list[str]) -> list:
    """The seal of a row the services remove."""
    return [table, [str(k) for k in key], None]


def entry_seal(entry_id: str, entry_hash: str) -> list:
    """An entry's hash, sealed where a use case audits the entry it wrote."""
    return [ENTRIES, [entry_id], entry_hash]


def answer_seal(scope: str, key: str, request_hash: str, response: dict) -> list:
    return seal("idempotency_keys", {"scope": scope, "key": key, "request_hash": request_hash,
                                     "response": response})
