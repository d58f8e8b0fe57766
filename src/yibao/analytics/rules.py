"""The misuse rules (R26) as DuckDB SQL over the analytics data set: each pattern reads its thresholds and windows
from the policy in force on the period's last day and reports `Detected` findings with their evidence ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from yibao.analytics.dataset import TABLES, table_path
from yibao.domain.findings import Detected, Pattern, SubjectKind
from yibao.policy.loader import NATIONAL, PolicySet


@dataclass(frozen=True)
class Params:
    """A pattern's parameters on a day, and the version naming them (the latest effective date among them)."""

    values: dict[str, object]
    version: str

    def __getitem__(self, name: str):
        return self.values[name]


def params_for(policy: PolicySet, pattern: Pattern, day: dt.date, region: str = NATIONAL) -> Params | None:
    """The pattern's parameters in force on a day (a region's own value over the national one); None if unset."""
    prefix = f"misuse.{pattern.value}."
    names = {name for r in (NATIONAL, region) if r in policy.regions
             for name in policy.regions[r].parameters if name.startswith(prefix)}
    values, since = {}, []
    for name in sorted(names):
        found = None
        for r in (region, NATIONAL):
            parameter = policy.parameter(r, name)
            if parameter is not None and (found := parameter.at(day)) is not None:
                break
        if found is None:
            return None
        values[name.removeprefix(prefix)], taken = found
        since.append(taken)
    if not values:
        return None
    return Params(values, f"{prefix.rstrip('.')}@{max(since).isoformat()}")


def connect(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every table of the data set as a view over its Parquet file."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in TABLES:
        path = str(table_path(folder, table)).replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
    return con


def _rows(con, sql: str, args: dict) -> list[dict]:
    cursor = con.execute(sql, args)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _bounded(x: float) -> float:
    return round(max(0.0, min(1.0, x)), 4)


# --- the patterns -----------------------------------------------------------------------------------------------

_PERIOD = "business_date BETWEEN $from AND $to"


def split_payments(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """Bursts of payments of one credential at one institution, each within the window of the one before, whose
    account shares sum over the per-payment cap."""
    sql = f"""
    WITH s AS (
      SELECT settlement_id, payer_id, credential_id, institution_code, "at", account_paid_fen, cap_fen,
             CASE WHEN epoch_us("at") - lag(epoch_us("at")) OVER w <= CAST($window AS BIGINT) * 60000000
                  THEN 0 ELSE 1 END AS starts
      FROM settlements WHERE {_PERIOD}
      WINDOW w AS (PARTITION BY credential_id, institution_code ORDER BY "at", settlement_id)),
    bursts AS (
      SELECT *, sum(starts) OVER (PARTITION BY credential_id, institution_code ORDER BY "at", settlement_id
                                  ROWS UNBOUNDED PRECEDING) AS burst
      FROM s QUALIFY count(*) OVER (PARTITION BY credential_id, institution_code) >= $min_payments),
    found AS (
      SELECT credential_id, institution_code, burst FROM bursts GROUP BY ALL
      HAVING count(*) >= $min_payments AND max(cap_fen) > 0 AND sum(account_paid_fen) > max(cap_fen))
    SELECT min(b.payer_id) AS payer_id, b.institution_code, list(b.settlement_id ORDER BY b."at", b.settlement_id) AS ids,
           count(*) AS n, sum(b.account_paid_fen) AS paid, max(b.cap_fen) AS cap
    FROM bursts b JOIN found f USING (credential_id, institution_code, burst)
    GROUP BY b.credential_id, b.institution_code, b.burst ORDER BY payer_id, min(b."at")"""
    found = _rows(con, sql, {"from": start, "to": end, "window": int(p["window"]),
                             "min_payments": int(p["min_payments"])})
    return [Detected(Pattern.SPLIT_PAYMENTS, p.version, _bounded(r["paid"] / r["cap"] - 1), SubjectKind.PERSON,
                     r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"payments": r["n"], "account_paid_fen": int(r["paid"]), "cap_fen": int(r["cap"]),
                      "institution_code": r["institution_code"], "window_minutes": int(p["window"])})
            for r in found]


def limit_hugging(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """A payer paying 90–100 % of the cap on many days running."""
    sql = f"""
    WITH near AS (
      SELECT payer_id, business_date, list(settlement_id ORDER BY "at", settlement_id) AS ids
      FROM settlements WHERE {_PERIOD} AND cap_fen > 0
        AND account_paid_fen >= $low * cap_fen AND account_paid_fen <= cap_fen
      GROUP BY payer_id, business_date),
    runs AS (SELECT *, business_date - CAST(row_number() OVER (PARTITION BY payer_id ORDER BY business_date)
                                            AS INTEGER) AS run FROM near)
    SELECT payer_id, min(business_date) AS first_day, count(*) AS days, flatten(list(ids ORDER BY business_date)) AS ids
    FROM runs GROUP BY payer_id, run HAVING count(*) >= $min_days ORDER BY payer_id, first_day"""
    found = _rows(con, sql, {"from": start, "to": end, "low": float(p["low_rate"]), "min_days": int(p["min_days"])})
    return [Detected(Pattern.LIMIT_HUGGING, p.version, _bounded(r["days"] / (2 * int(p["min_days"]))),
                     SubjectKind.PERSON, r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"days": r["days"], "first_day": r["first_day"].isoformat(), "low_rate": str(p["low_rate"])})
            for r in found]


def many_institutions(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One credential at many institutions in a day."""
    sql = f"""
    WITH days AS (
      SELECT credential_id, business_date, count(DISTINCT institution_code) AS n FROM settlements
      WHERE {_PERIOD} GROUP BY ALL HAVING count(DISTINCT institution_code) >= $min)
    SELECT s.credential_id, min(s.payer_id) AS payer_id, s.business_date, any_value(d.n) AS n,
           list(s.settlement_id ORDER BY s."at", s.settlement_id) AS ids
    FROM settlements s JOIN days d USING (credential_id, business_date)
    GROUP BY s.credential_id, s.business_date ORDER BY s.credential_id, s.business_date"""
    found = _rows(con, sql, {"from": start, "to": end, "min": int(p["min_institutions"])})
    return [Detected(Pattern.MANY_INSTITUTIONS, p.version, _bounded(r["n"] / (2 * int(p["min_institutions"]))),
                     SubjectKind.PERSON, r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"institutions": r["n"], "day": r["business_date"].isoformat()})
            for r in found]


def far_apart(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One credential used in two provinces closer in time than the journey allows."""
    sql = f"""
    WITH s AS (
      SELECT settlement_id, payer_id, credential_id, "at", institution_region[1:2] AS province
      FROM settlements WHERE {_PERIOD}),
    paired AS (
      SELECT *, lag(settlement_id) OVER w AS prev_id, epoch_us("at") - lag(epoch_us("at")) OVER w AS gap_us,
             lag(province) OVER w AS prev_province
      FROM s WINDOW w AS (PARTITION BY credential_id ORDER BY "at", settlement_id))
    SELECT payer_id, prev_id, settlement_id, province, prev_province, gap_us / 60000000 AS minutes
    FROM paired WHERE province <> prev_province AND gap_us < CAST($window AS BIGINT) * 3600000000
    ORDER BY payer_id, "at" """
    window = int(p["window"])
    found = _rows(con, sql, {"from": start, "to": end, "window": window})
    return [Detected(Pattern.FAR_APART, p.version, _bounded(1 - r["minutes"] / (60 * window)), SubjectKind.PERSON,
                     r["payer_id"], start, end, {"settlement_ids": [r["prev_id"], r["settlement_id"]]},
                     {"minutes_apart": round(r["minutes"], 1), "provinces": [r["prev_province"], r["province"]]})
            for r in found]


def shared_bank_account(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One bank account number linked by several persons, unlinked links included."""
    sql = """
    SELECT account_digest, list(DISTINCT person_id ORDER BY person_id) AS persons
    FROM bank_accounts WHERE CAST(linked_at AS DATE) <= $to
    GROUP BY account_digest HAVING count(DISTINCT person_id) >= $min ORDER BY account_digest"""
    found = _rows(con, sql, {"to": end, "min": int(p["min_persons"])})
    return [Detected(Pattern.SHARED_BANK_ACCOUNT, p.version, _bounded(len(r["persons"]) / 4),
                     SubjectKind.BANK_ACCOUNT, r["account_digest"], start, end, {"person_ids": list(r["persons"])},
                     {"persons": len(r["persons"])})
            for r in found]


def duplicate_invoice(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One invoice claimed twice, or claimed and also settled directly."""
    sql = """
    WITH claims AS (
      SELECT i.issuer, i.invoice_number, nullif(i.application_id, '') AS application_id,
             nullif(i.settlement_id, '') AS settlement_id, coalesce(a.person_id, s.payer_id) AS person_id
      FROM invoices i
      LEFT JOIN applications a ON a.application_id = nullif(i.application_id, '')
      LEFT JOIN settlements s ON s.settlement_id = nullif(i.settlement_id, '')
      WHERE i.invoice_date <= $to AND coalesce(a.status, '') NOT IN ('rejected', 'withdrawn'))
    SELECT issuer, invoice_number, min(person_id) AS person_id,
           list(DISTINCT application_id ORDER BY application_id) FILTER (WHERE application_id IS NOT NULL) AS apps,
           list(DISTINCT settlement_id ORDER BY settlement_id) FILTER (WHERE settlement_id IS NOT NULL) AS sets,
           count(DISTINCT person_id) AS persons
    FROM claims GROUP BY issuer, invoice_number
    HAVING count(DISTINCT application_id) + count(DISTINCT settlement_id) >= $min
    ORDER BY issuer, invoice_number"""
    found = _rows(con, sql, {"to": end, "min": int(p["min_claims"])})
    out = []
    for r in found:
        evidence = {"application_ids": list(r["apps"] or []), "settlement_ids": list(r["sets"] or [])}
        out.append(Detected(Pattern.DUPLICATE_INVOICE, p.version, 1.0 if evidence["settlement_ids"] else 0.8,
                            SubjectKind.PERSON, r["person_id"], start, end,
                            {k: v for k, v in evidence.items() if v},
                            {"claims": len(evidence["application_ids"]) + len(evidence["settlement_ids"]),
                             "persons": r["persons"]}))
    return out


def after_death(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """Settlements on or after the recorded death of the payer or of the account's owner."""
    sql = f"""
    WITH dead AS (SELECT person_id, died_on FROM persons WHERE died_on IS NOT NULL),
    touched AS (  -- two equality joins (payer, owner) rather than one join on either: each is a hash join
      SELECT d.person_id, d.died_on, s.settlement_id, s.business_date
      FROM dead d JOIN settlements s ON s.payer_id = d.person_id WHERE s.{_PERIOD}
      UNION
      SELECT d.person_id, d.died_on, s.settlement_id, s.business_date
      FROM dead d JOIN settlements s ON s.owner_id = d.person_id WHERE s.{_PERIOD})
    SELECT person_id, died_on, list(DISTINCT settlement_id ORDER BY settlement_id) AS ids
    FROM touched WHERE business_date >= died_on + CAST($grace AS INTEGER)
    GROUP BY person_id, died_on ORDER BY person_id"""
    found = _rows(con, sql, {"from": start, "to": end, "grace": int(p["grace_days"])})
    return [Detected(Pattern.AFTER_DEATH, p.version, 1.0, SubjectKind.PERSON, r["person_id"], start, end,
                     {"settlement_ids": list(r["ids"])}, {"died_on": r["died_on"].isoformat()})
            for r in found]


_MEASURES = ("refund_share", "account_share", "night_share", "limit_share")


def institution_outlier(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """Institutions far from their peers (same kind and region) on refunds, account share, night or limit share,
    by the robust z-score 0.6745·(x − median) / MAD."""
    measures = ", ".join(
        f"""CASE WHEN mad_{m} > 0 THEN 0.6745 * ({m} - med_{m}) / mad_{m} END AS z_{m}""" for m in _MEASURES)
    sql = f"""
    WITH per AS (
      SELECT institution_code, any_value(institution_kind) AS kind, any_value(institution_region) AS region,
             count(*) AS n,
             sum(refunded_fen) / nullif(sum(account_paid_fen), 0) AS refund_share,
             sum(account_paid_fen) / nullif(sum(total_fen), 0) AS account_share,
             avg(CASE WHEN (epoch_us("at") // 3600000000 + 8) % 24 >= $night_from  -- China time, UTC+8 all year
                        OR (epoch_us("at") // 3600000000 + 8) % 24 < $night_to THEN 1 ELSE 0 END) AS night_share,
             avg(CASE WHEN coalesce(limited_by, '') <> '' THEN 1 ELSE 0 END) AS limit_share
      FROM settlements WHERE {_PERIOD} GROUP BY institution_code),
    med AS (
      SELECT kind, region, count(*) AS peers,
             {", ".join(f"median({m}) AS med_{m}" for m in _MEASURES)}
      FROM per GROUP BY kind, region),
    dev AS (
      SELECT per.*, med.* EXCLUDE (kind, region),
             {", ".join(f"abs({m} - med_{m}) AS d_{m}" for m in _MEASURES)}
      FROM per JOIN med USING (kind, region)),
    mad AS (SELECT kind, region, {", ".join(f"median(d_{m}) AS mad_{m}" for m in _MEASURES)}
            FROM dev GROUP BY kind, region)
    SELECT dev.*, {measures}
    FROM dev JOIN mad USING (kind, region) WHERE peers >= $min_peers ORDER BY institution_code"""
    threshold = float(p["z_threshold"])
    found = _rows(con, sql, {"from": start, "to": end, "min_peers": int(p["min_peers"]),
                             "night_from": int(p["night_from"]), "night_to": int(p["night_to"])})
    out = []
    for r in found:
        far = {m: round(float(r[f"z_{m}"]), 2) for m in _MEASURES
               if r[f"z_{m}"] is not None and abs(r[f"z_{m}"]) >= threshold}
        if not far:
            continue
        ids = [row[0] for row in con.execute(
            f"SELECT settlement_id FROM settlements WHERE institution_code = $code AND {_PERIOD} "
            "ORDER BY settlement_id", {"code": r["institution_code"], "from": start, "to": end}).fetchall()]
        top = max(abs(z) for z in far.values())
        out.append(Detected(Pattern.INSTITUTION_OUTLIER, p.version, _bounded(top / (2 * threshold)),
                            SubjectKind.INSTITUTION, r["institution_code"], start, end, {"settlement_ids": ids},
                            {"z": far, "peers": r["peers"], "settlements": r["n"],
                             **{m: round(float(r[m]), 4) for m in far},
                             **{f"median_{m}": round(float(r[f"med_{m}"]), 4) for m in far}}))
    return out


def family_pattern(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """A grantee spending an owner's account far above the owner's own spending, or one person's grants rotating
    among many counterparts in the period."""
    spending = f"""
    WITH s AS (SELECT * FROM settlements WHERE {_PERIOD}),
    own AS (SELECT owner_id, sum(account_paid_fen) AS own_fen FROM s WHERE payer_id = owner_id GROUP BY owner_id),
    granted AS (SELECT owner_id, payer_id, sum(account_paid_fen) AS paid_fen,
                       list(settlement_id ORDER BY "at", settlement_id) AS ids
                FROM s WHERE payer_id <> owner_id GROUP BY owner_id, payer_id)
    SELECT g.owner_id, g.payer_id, g.paid_fen, coalesce(o.own_fen, 0) AS own_fen, g.ids
    FROM granted g LEFT JOIN own o USING (owner_id)
    WHERE g.paid_fen >= $min_fen AND g.paid_fen > $ratio * coalesce(o.own_fen, 0)
    ORDER BY g.owner_id, g.payer_id"""
    ratio = float(p["ratio"])
    out = [Detected(Pattern.FAMILY_PATTERN, p.version,
                    _bounded(1 - r["own_fen"] / r["paid_fen"]), SubjectKind.PERSON, r["payer_id"], start, end,
                    {"settlement_ids": list(r["ids"])},
                    {"owner_id": r["owner_id"], "grantee_paid_fen": int(r["paid_fen"]),
                     "owner_paid_fen": int(r["own_fen"]), "ratio": str(p["ratio"])})
           for r in _rows(con, spending, {"from": start, "to": end, "min_fen": int(p["min_fen"]), "ratio": ratio})]
    rotating = """
    WITH sides AS (SELECT grant_id, owner_id AS person_id, grantee_id AS other FROM grants
                   WHERE starts_on BETWEEN $from AND $to
                   UNION ALL SELECT grant_id, grantee_id, owner_id FROM grants WHERE starts_on BETWEEN $from AND $to)
    SELECT person_id, count(DISTINCT other) AS n, list(DISTINCT grant_id ORDER BY grant_id) AS ids
    FROM sides GROUP BY person_id HAVING count(DISTINCT other) >= $min ORDER BY person_id"""
    minimum = int(p["min_counterparts"])
    out += [Detected(Pattern.FAMILY_PATTERN, p.version, _bounded(r["n"] / (2 * minimum)), SubjectKind.PERSON,
                     r["person_id"], start, end, {"grant_ids": list(r["ids"])}, {"counterparts": r["n"]})
            for r in _rows(con, rotating, {"from": start, "to": end, "min": minimum})]
    return out


def emergency_unclaimed(con, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """An emergency the institution stated, with no emergency claim by the person within the window after it (only
    once the window has closed by the period's end)."""
    sql = f"""
    SELECT s.payer_id, list(s.settlement_id ORDER BY s."at", s.settlement_id) AS ids
    FROM settlements s
    WHERE s.{_PERIOD} AND s.emergency AND s.business_date + CAST($window AS INTEGER) <= $to
      AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.person_id IN (s.payer_id, s.owner_id)
                        AND a.reason = 'emergency' AND a.status NOT IN ('withdrawn', 'draft')
                        AND CAST(a.submitted_at AS DATE) BETWEEN s.business_date - 1
                            AND s.business_date + CAST($window AS INTEGER))
    GROUP BY s.payer_id ORDER BY s.payer_id"""
    found = _rows(con, sql, {"from": start, "to": end, "window": int(p["window"])})
    return [Detected(Pattern.EMERGENCY_UNCLAIMED, p.version, _bounded(0.5 + 0.1 * len(r["ids"])), SubjectKind.PERSON,
                     r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"emergencies": len(r["ids"]), "window_days": int(p["window"])})
            for r in found]


RULES: dict[Pattern, Callable] = {
    Pattern.SPLIT_PAYMENTS: split_payments,
    Pattern.LIMIT_HUGGING: limit_hugging,
    Pattern.MANY_INSTITUTIONS: many_institutions,
    Pattern.FAR_APART: far_apart,
    Pattern.SHARED_BANK_ACCOUNT: shared_bank_account,
    Pattern.DUPLICATE_INVOICE: duplicate_invoice,
    Pattern.AFTER_DEATH: after_death,
    Pattern.INSTITUTION_OUTLIER: institution_outlier,
    Pattern.FAMILY_PATTERN: family_pattern,
    Pattern.EMERGENCY_UNCLAIMED: emergency_unclaimed,
}


def detect(folder: Path, policy: PolicySet, start: dt.date, end: dt.date,
           patterns: list[Pattern] | None = None) -> list[Detected]:
    """Run every rule (or the given ones) over the data set for a period, with the policy in force on its last day."""
    con = connect(folder)
    try:
        found: list[Detected] = []
        for pattern, rule in RULES.items():
            if patterns is not None and pattern not in patterns:
                continue
            params = params_for(policy, pattern, end)
            if params is not None:
                found.extend(rule(con, params, start, end))
        return found
    finally:
        con.close()
