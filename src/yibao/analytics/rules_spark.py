"""The misuse rules' queries in Spark SQL, over the data set's Parquet files (Apache Spark, for many regions at once).

The same names, columns and Python types as `rules_duckdb.SQL`, so `rules.RULES` turns their rows into the same
findings; `:name` marks an argument. Spark has no ordered `list(x ORDER BY k)`: `_ordered` collects structs of the
sort keys and the value, sorts them and keeps the values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yibao.analytics.dataset import TABLES
from yibao.analytics.rules import MEASURES, Query, region_seats
from yibao.analytics.spark import session, views

_PERIOD = "business_date BETWEEN :from AND :to"


def _ordered(value: str, *keys: str) -> str:
    """The values of a group as an array ordered by the keys (the first key first)."""
    fields = ", ".join(f"'k{i}', {key}" for i, key in enumerate(keys))
    return f"transform(array_sort(collect_list(named_struct({fields}, 'v', {value}))), x -> x.v)"


def _distinct(value: str) -> str:
    """The distinct non-null values of a group as a sorted array, NULL when there is none (as DuckDB's filtered
    list gives)."""
    return f"CASE WHEN count({value}) > 0 THEN array_sort(collect_set({value})) END"


def _unclaimed(person: str) -> str:
    """No live emergency claim by `person` from the day before the settlement to the window's end."""
    return f"""NOT EXISTS (SELECT 1 FROM applications a WHERE a.person_id = s.{person}
                        AND a.reason = 'emergency' AND a.status NOT IN ('withdrawn', 'draft')
                        AND CAST(a.submitted_at AS DATE) BETWEEN date_sub(s.business_date, 1)
                            AND date_add(s.business_date, :window))"""


SQL: dict[str, str] = {
    "split_payments": f"""
    WITH s AS (
      SELECT settlement_id, payer_id, credential_id, institution_code, `at`, account_paid_fen, cap_fen,
             CASE WHEN unix_micros(`at`) - lag(unix_micros(`at`)) OVER w <= CAST(:window AS BIGINT) * 60000000
                  THEN 0 ELSE 1 END AS starts
      FROM settlements WHERE {_PERIOD}
      WINDOW w AS (PARTITION BY credential_id, institution_code ORDER BY `at`, settlement_id)),
    bursts AS (
      SELECT *, sum(starts) OVER (PARTITION BY credential_id, institution_code ORDER BY `at`, settlement_id
                                  ROWS UNBOUNDED PRECEDING) AS burst
      FROM s QUALIFY count(*) OVER (PARTITION BY credential_id, institution_code) >= :min_payments),
    found AS (
      SELECT credential_id, institution_code, burst FROM bursts GROUP BY ALL
      HAVING count(*) >= :min_payments AND max(cap_fen) > 0 AND sum(account_paid_fen) > max(cap_fen))
    SELECT min(b.payer_id) AS payer_id, b.institution_code,
           {_ordered("b.settlement_id", "b.`at`", "b.settlement_id")} AS ids,
           count(*) AS n, sum(b.account_paid_fen) AS paid, max(b.cap_fen) AS cap
    FROM bursts b JOIN found f USING (credential_id, institution_code, burst)
    GROUP BY b.credential_id, b.institution_code, b.burst ORDER BY payer_id, min(b.`at`)""",
    "limit_hugging": f"""
    WITH near AS (
      SELECT payer_id, business_date, {_ordered("settlement_id", "`at`", "settlement_id")} AS ids
      FROM settlements WHERE {_PERIOD} AND cap_fen > 0
        AND account_paid_fen >= :low * cap_fen AND account_paid_fen <= cap_fen
      GROUP BY payer_id, business_date),
    runs AS (SELECT *, date_sub(business_date, CAST(row_number() OVER (PARTITION BY payer_id ORDER BY business_date)
                                                    AS INT)) AS run FROM near)
    SELECT payer_id, min(business_date) AS first_day, count(*) AS days,
           flatten({_ordered("ids", "business_date")}) AS ids
    FROM runs GROUP BY payer_id, run HAVING count(*) >= :min_days ORDER BY payer_id, first_day""",
    "many_institutions": f"""
    WITH days AS (
      SELECT credential_id, business_date, count(DISTINCT institution_code) AS n FROM settlements
      WHERE {_PERIOD} GROUP BY ALL HAVING count(DISTINCT institution_code) >= :min)
    SELECT s.credential_id, min(s.payer_id) AS payer_id, s.business_date, any_value(d.n) AS n,
           {_ordered("s.settlement_id", "s.`at`", "s.settlement_id")} AS ids
    FROM settlements s JOIN days d USING (credential_id, business_date)
    GROUP BY s.credential_id, s.business_date ORDER BY s.credential_id, s.business_date""",
    "far_apart": f"""
    WITH s AS (
      SELECT settlement_id, payer_id, credential_id, `at`, institution_region AS region
      FROM settlements WHERE {_PERIOD}),
    moved AS (
      SELECT * FROM (
        SELECT *, lag(settlement_id) OVER w AS prev_id, unix_micros(`at`) - lag(unix_micros(`at`)) OVER w AS gap_us,
               lag(region) OVER w AS prev_region
        FROM s WINDOW w AS (PARTITION BY credential_id ORDER BY `at`, settlement_id))
      WHERE region <> prev_region),
    places AS (SELECT region FROM moved UNION SELECT prev_region FROM moved),
    seats AS (  -- a region's own seat, else its prefecture city's, else its province's
      SELECT p.region, coalesce(a.lat, c.lat, v.lat) AS lat, coalesce(a.lon, c.lon, v.lon) AS lon
      FROM places p
      LEFT JOIN region_seats a ON a.region = p.region
      LEFT JOIN region_seats c ON c.region = substring(p.region, 1, 4) || '00'
      LEFT JOIN region_seats v ON v.region = substring(p.region, 1, 2) || '0000'),
    measured AS (  -- the great-circle distance between the two seats, in km
      SELECT m.*, 2 * 6371.0088 * asin(sqrt(
               pow(sin(radians(b.lat - a.lat) / 2), 2)
               + cos(radians(a.lat)) * cos(radians(b.lat)) * pow(sin(radians(b.lon - a.lon) / 2), 2))) AS km
      FROM moved m JOIN seats a ON a.region = m.prev_region JOIN seats b ON b.region = m.region
      WHERE a.lat IS NOT NULL AND b.lat IS NOT NULL),
    timed AS (  -- the fastest plausible journey: the overhead at its ends, the distance at the speed
      SELECT *, gap_us / 60000000 AS minutes, :overhead + 60 * km / :speed AS fastest_minutes FROM measured)
    SELECT payer_id, prev_id, settlement_id, region, prev_region, substring(region, 1, 2) AS province,
           substring(prev_region, 1, 2) AS prev_province, minutes, km, fastest_minutes
    FROM timed WHERE km >= :min_km AND minutes < fastest_minutes
    ORDER BY payer_id, `at` """,
    "shared_bank_account": f"""
    SELECT account_digest, {_distinct("person_id")} AS persons
    FROM bank_accounts WHERE CAST(linked_at AS DATE) <= :to
    GROUP BY account_digest HAVING count(DISTINCT person_id) >= :min ORDER BY account_digest""",
    "duplicate_invoice": f"""
    WITH claims AS (
      SELECT i.issuer, i.invoice_number, nullif(i.application_id, '') AS application_id,
             nullif(i.settlement_id, '') AS settlement_id, coalesce(a.person_id, s.payer_id) AS person_id
      FROM invoices i
      LEFT JOIN applications a ON a.application_id = nullif(i.application_id, '')
      LEFT JOIN settlements s ON s.settlement_id = nullif(i.settlement_id, '')
      WHERE i.invoice_date <= :to AND coalesce(a.status, '') NOT IN ('rejected', 'withdrawn'))
    SELECT issuer, invoice_number, min(person_id) AS person_id,
           {_distinct("application_id")} AS apps, {_distinct("settlement_id")} AS sets,
           count(DISTINCT person_id) AS persons
    FROM claims GROUP BY issuer, invoice_number
    HAVING count(DISTINCT application_id) + count(DISTINCT settlement_id) >= :min
    ORDER BY issuer, invoice_number""",
    "after_death": f"""
    WITH dead AS (SELECT person_id, died_on FROM persons WHERE died_on IS NOT NULL),
    touched AS (
      SELECT d.person_id, d.died_on, s.settlement_id, s.business_date
      FROM dead d JOIN settlements s ON s.payer_id = d.person_id WHERE s.{_PERIOD}
      UNION
      SELECT d.person_id, d.died_on, s.settlement_id, s.business_date
      FROM dead d JOIN settlements s ON s.owner_id = d.person_id WHERE s.{_PERIOD})
    SELECT person_id, died_on, {_distinct("settlement_id")} AS ids
    FROM touched WHERE business_date >= date_add(died_on, :grace)
    GROUP BY person_id, died_on ORDER BY person_id""",
    "institution_outlier": f"""
    WITH per AS (
      SELECT institution_code, any_value(institution_kind) AS kind, any_value(institution_region) AS region,
             count(*) AS n,
             sum(refunded_fen) / nullif(sum(account_paid_fen), 0) AS refund_share,
             sum(account_paid_fen) / nullif(sum(total_fen), 0) AS account_share,
             avg(CASE WHEN (unix_micros(`at`) div 3600000000 + 8) % 24 >= :night_from  -- China time, UTC+8
                        OR (unix_micros(`at`) div 3600000000 + 8) % 24 < :night_to THEN 1 ELSE 0 END) AS night_share,
             avg(CASE WHEN coalesce(limited_by, '') <> '' THEN 1 ELSE 0 END) AS limit_share
      FROM settlements WHERE {_PERIOD} GROUP BY institution_code),
    med AS (
      SELECT kind, region, count(*) AS peers,
             {", ".join(f"median({m}) AS med_{m}" for m in MEASURES)}
      FROM per GROUP BY kind, region),
    dev AS (
      SELECT per.*, med.peers, {", ".join(f"med.med_{m}" for m in MEASURES)},
             {", ".join(f"abs({m} - med_{m}) AS d_{m}" for m in MEASURES)}
      FROM per JOIN med ON per.kind = med.kind AND per.region = med.region),
    mad AS (SELECT kind, region, {", ".join(f"median(d_{m}) AS mad_{m}" for m in MEASURES)}
            FROM dev GROUP BY kind, region)
    SELECT dev.*, {", ".join(f"mad.mad_{m}" for m in MEASURES)}  -- the rule scores each measure: `rules.robust_z`
    FROM dev JOIN mad ON dev.kind = mad.kind AND dev.region = mad.region WHERE peers >= :min_peers
    ORDER BY institution_code""",
    "emergency_unclaimed": f"""
    SELECT s.payer_id, {_ordered("s.settlement_id", "s.`at`", "s.settlement_id")} AS ids
    FROM settlements s
    WHERE s.{_PERIOD} AND s.emergency AND date_add(s.business_date, :window) <= :to
      AND {_unclaimed("payer_id")} AND {_unclaimed("owner_id")}
    GROUP BY s.payer_id ORDER BY s.payer_id""",
    "family_pattern.spending": f"""
    WITH granted AS (
      SELECT owner_id, payer_id, sum(account_paid_fen) AS paid_fen, count(*) AS n,
             {_ordered("settlement_id", "`at`", "settlement_id")} AS ids
      FROM settlements WHERE {_PERIOD} AND payer_id <> owner_id GROUP BY owner_id, payer_id
      HAVING sum(account_paid_fen) >= :min_fen AND count(*) >= :min_payments),
    own AS (
      SELECT owner_id, sum(account_paid_fen) AS own_fen FROM settlements
      WHERE {_PERIOD} AND payer_id = owner_id AND owner_id IN (SELECT owner_id FROM granted) GROUP BY owner_id)
    SELECT g.owner_id, g.payer_id, g.paid_fen, coalesce(o.own_fen, 0) AS own_fen, g.n, g.ids
    FROM granted g LEFT JOIN own o USING (owner_id)
    WHERE g.paid_fen > :ratio * coalesce(o.own_fen, 0)
    ORDER BY g.owner_id, g.payer_id""",
    "family_pattern.rotating": f"""
    WITH sides AS (SELECT grant_id, owner_id AS person_id, grantee_id AS other FROM grants
                   WHERE starts_on BETWEEN :from AND :to
                   UNION ALL SELECT grant_id, grantee_id, owner_id FROM grants WHERE starts_on BETWEEN :from AND :to)
    SELECT person_id, count(DISTINCT other) AS n, {_distinct("grant_id")} AS ids
    FROM sides GROUP BY person_id HAVING count(DISTINCT other) >= :min ORDER BY person_id""",
    "institution_outlier.ids": f"""
    SELECT institution_code, settlement_id FROM settlements
    WHERE array_contains(:codes, institution_code) AND {_PERIOD} ORDER BY institution_code, settlement_id""",
}


@contextmanager
def queries(folder: Path, master: str | None = None) -> Iterator[Query]:
    """A `Query` over the data set in `folder` on the process's Spark session (local mode unless `master` names a
    cluster), for as long as the block runs."""
    spark = session(master)
    views(spark, folder)
    spark.createDataFrame(list(region_seats()), "region string, name string, lat double, lon double") \
        .createOrReplaceTempView("region_seats")

    def run(name: str, args: dict) -> list[dict]:
        return [row.asDict() for row in spark.sql(SQL[name], args=args).collect()]

    try:
        yield run
    finally:
        for table in (*TABLES, "region_seats"):
            spark.catalog.dropTempView(table)
