"""The operational database to the analytics data set for a period, read through DuckDB's sqlite or postgres
scanner (loaded from the installed extension packages, without network) on a read-only attachment: it never
writes the operational tables. Bank account numbers leave only as digests."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.util
import json
from pathlib import Path

import duckdb

from yibao.analytics.dataset import write_table
from yibao.domain.invoices import normal_issuer, normal_number
from yibao.domain.regions import pooling_region, within
from yibao.policy.engine import Engine
from yibao.policy.loader import NATIONAL

_SCANNERS = {"sqlite": ("sqlite_scanner", "duckdb_extension_sqlite_scanner"),
             "postgres": ("postgres_scanner", "duckdb_extension_postgres_scanner")}


def _extension(kind: str) -> str:
    name, package = _SCANNERS[kind]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the {package} package is not installed")
    return str(next(Path(spec.origin).parent.rglob(f"{name}.duckdb_extension")))


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def attach(database_url: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the operational database attached read-only as `op`."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    scheme, _, rest = database_url.partition("://")
    if scheme.startswith("sqlite"):
        con.execute(f"LOAD '{_extension('sqlite')}'")
        path = rest.removeprefix("/")
        con.execute(f"ATTACH {_quoted(path)} AS op (TYPE sqlite, READ_ONLY)")
    elif scheme.startswith("postgres"):
        con.execute(f"LOAD '{_extension('postgres')}'")
        con.execute(f"ATTACH {_quoted('postgresql://' + rest)} AS op (TYPE postgres, READ_ONLY)")
    else:
        raise ValueError("unsupported database")
    return con


def _rows(con, sql: str, args: list | None = None) -> list[dict]:
    cursor = con.execute(sql, args or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _utc(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _day(value):
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _json(value):
    return json.loads(value) if isinstance(value, str | bytes) else (value or {})


def _cap(engine: Engine | None, owner_region: str, institution_region: str, kind: str, day: dt.date) -> int:
    """The per-payment cap the policy put on a payment, 0 if none (the stored decision keeps only what limited it)."""
    if engine is None:
        return 0
    region = engine.policy_region(owner_region)
    home = region if region != NATIONAL else pooling_region(owner_region)
    answer = engine.answer(region, "settlement.limit.per_transaction",
                           {"institution_kind": kind, "cross_region": not within(home, institution_region)}, day)
    return int(answer.values["limit"]) if answer is not None else 0


def digest_key(secret: str) -> bytes:
    """The key bank account numbers are digested under, derived from the deployment's secret: the digests match
    within one deployment's data sets and cannot be reversed by trying every number without it."""
    return hmac.new(secret.encode("utf-8"), b"yibao.analytics.bank_account", hashlib.sha256).digest()


def account_digest(key: bytes, number: str) -> str:
    """A bank account number as the data set keeps it: HMAC-SHA256 under the deployment's key, in hex."""
    return hmac.new(key, number.encode("utf-8"), hashlib.sha256).hexdigest()


def export(database_url: str, folder: Path, start: dt.date, end: dt.date, policy: Engine | None = None, *,
           key: bytes) -> Path:
    """Write the data set of settlements on business days start..end (with their refunds) and the registers they
    are read against (persons, institutions, bank accounts by keyed digest, grants, applications and their
    invoices)."""
    con = attach(database_url)
    try:
        _settlements(con, folder, start, end, policy)
        _registers(con, folder, key)
    finally:
        con.close()
    return folder


def _settlements(con, folder: Path, start: dt.date, end: dt.date, policy: Engine | None) -> None:
    found = _rows(con, """
        SELECT s.id, CAST(s.at AS TIMESTAMP) AS at, s.business_date, s.institution_code, i.kind, i.region AS institution_region,
               s.payer_id, s.owner_id, o.region AS owner_region, s.credential_type, s.total_fen, s.account_paid_fen,
               s.cash_fen, s.refunded_fen, s.emergency, CAST(s.decision AS VARCHAR) AS decision
        FROM op.settlements s JOIN op.institutions i ON i.code = s.institution_code
        JOIN op.persons o ON o.id = s.owner_id
        WHERE CAST(s.business_date AS DATE) BETWEEN ? AND ? ORDER BY s.id""", [start, end])
    rows, caps = [], {}
    for r in found:
        day = _day(r["business_date"])
        asked = (r["owner_region"], r["institution_region"], r["kind"], day)
        if asked not in caps:
            caps[asked] = _cap(policy, *asked)
        rows.append({
            "settlement_id": r["id"], "at": _utc(r["at"]), "business_date": day,
            "institution_code": r["institution_code"], "institution_kind": r["kind"],
            "institution_region": r["institution_region"], "payer_id": r["payer_id"], "owner_id": r["owner_id"],
            "owner_region": r["owner_region"], "credential_type": r["credential_type"],
            "credential_id": r["payer_id"], "total_fen": r["total_fen"], "account_paid_fen": r["account_paid_fen"],
            "cash_fen": r["cash_fen"], "refunded_fen": r["refunded_fen"], "emergency": bool(r["emergency"]),
            "limited_by": ",".join(_json(r["decision"]).get("limited_by", [])),
            "cap_fen": caps[asked]})
    write_table(folder, "settlements", rows)
    refunds = _rows(con, """
        SELECT f.id, f.settlement_id, CAST(f.at AS TIMESTAMP) AS at, f.amount_fen FROM op.refunds f JOIN op.settlements s ON s.id = f.settlement_id
        WHERE CAST(s.business_date AS DATE) BETWEEN ? AND ? ORDER BY f.id""", [start, end])
    write_table(folder, "refunds", [{"refund_id": r["id"], "settlement_id": r["settlement_id"], "at": _utc(r["at"]),
                                     "amount_fen": r["amount_fen"]} for r in refunds])


def _registers(con, folder: Path, key: bytes) -> None:
    persons = _rows(con, """
        SELECT p.id, p.region, p.birth_date, d.event_date AS died_on, e.event_date AS emigrated_on
        FROM op.persons p LEFT JOIN op.life_events d ON d.person_id = p.id AND d.kind = 'death'
        LEFT JOIN op.life_events e ON e.person_id = p.id AND e.kind = 'emigration' ORDER BY p.id""")
    write_table(folder, "persons", [{"person_id": r["id"], "region": r["region"],
                                     "birth_year": _day(r["birth_date"]).year, "died_on": _day(r["died_on"]),
                                     "emigrated_on": _day(r["emigrated_on"])} for r in persons])
    write_table(folder, "institutions", [{"institution_code": r["code"], "kind": r["kind"], "region": r["region"]}
                                         for r in _rows(con, "SELECT code, kind, region FROM op.institutions")])
    links = _rows(con, "SELECT person_id, account_no, CAST(created_at AS TIMESTAMP) AS created_at, "
                  "CAST(unlinked_at AS TIMESTAMP) AS unlinked_at FROM op.bank_accounts ORDER BY id")
    write_table(folder, "bank_accounts", [
        {"person_id": r["person_id"], "account_digest": account_digest(key, r["account_no"]),
         "linked_at": _utc(r["created_at"]), "unlinked_at": _utc(r["unlinked_at"])} for r in links])
    grants = _rows(con, """SELECT id, owner_id, grantee_id, relation, status, CAST(created_at AS TIMESTAMP) AS created_at,
                                  CAST(accepted_at AS TIMESTAMP) AS accepted_at, CAST(revoked_at AS TIMESTAMP) AS revoked_at
                           FROM op.family_grants ORDER BY id""")
    write_table(folder, "grants", [
        {"grant_id": r["id"], "owner_id": r["owner_id"], "grantee_id": r["grantee_id"], "relation": r["relation"],
         "status": r["status"], "starts_on": _day(r["accepted_at"] or r["created_at"]),
         "ends_on": _day(r["revoked_at"])} for r in grants])
    applications = _rows(con, """SELECT id, person_id, kind, reason, status, CAST(created_at AS TIMESTAMP) AS created_at, requested_fen, approved_fen,
                                        CAST(details AS VARCHAR) AS details FROM op.applications ORDER BY id""")
    write_table(folder, "applications", [
        {"application_id": r["id"], "person_id": r["person_id"], "kind": r["kind"], "reason": r["reason"],
         "status": r["status"], "submitted_at": _utc(r["created_at"]), "amount_fen": r["requested_fen"],
         "approved_fen": r["approved_fen"]} for r in applications])
    invoices = []
    for r in applications:
        for invoice in _json(r["details"]).get("invoices") or []:
            invoices.append({
                "invoice_number": normal_number(invoice.get("number") or ""),
                "issuer": normal_issuer(invoice.get("issuer") or ""),
                "invoice_date": _day(invoice.get("date")), "application_id": r["id"], "settlement_id": "",
                "amount_fen": sum(int(item.get("amount_fen", 0)) for item in invoice.get("items") or [])})
    write_table(folder, "invoices", invoices)
