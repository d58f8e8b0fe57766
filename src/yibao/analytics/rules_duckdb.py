"""The misuse rules' queries in DuckDB's SQL, over the data set's Parquet files (the embedded engine).

Each query is named by its pattern (`rules.RULES` asks for them); `$name` marks an argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from yibao.analytics.dataset import TABLES, table_path
from yibao.analytics.rules import MEASURES, Query, region_seats

_PERIOD = "business_date BETWEEN $from AND $to"

SQL: dict[str, str] = {
    "split_payments": f"""
    WITH keyed AS (  -- a cheap pass on integers first: the credential-institution keys with two payments within
                     -- the window of each other (every burst has such a pair); a hash collision only adds a key
      SELECT hash(credential_id, institution_code) AS k, epoch_us("at") AS t FROM settlements WHERE {_PERIOD}),
    hot AS (
      SELECT DISTINCT k FROM (SELECT k, t - lag(t) OVER (PARTITION BY k ORDER BY t) AS gap FROM keyed)
      WHERE gap <= CAST($window AS BIGINT) * 60000000 OR $min_payments < 2),
    s AS (
      SELECT settlement_id, payer_id, credential_id, institution_code, "at", account_paid_fen, cap_fen,
             CASE WHEN epoch_us("at") - lag(epoch_us("at")) OVER w <= CAST($window AS BIGINT) * 60000000
                  THEN 0 ELSE 1 END AS starts
      FROM settlements WHERE {_PERIOD} AND hash(credential_id, institution_code) IN (SELECT k FROM hot)
      WINDOW w AS (PARTITION BY credential_id, institution_code ORDER BY "at", settlement_id)),
    bursts AS (
      SELECT *, sum(starts) OVER (PARTITION BY credential_id, institution_code ORDER BY "at", settlement_id
                                  ROWS UNBOUNDED PRECEDING) AS burst
      FROM s),
    found AS (
      SELECT credential_id, institution_code, burst FROM bursts GROUP BY ALL
      HAVING count(*) >= $min_payments AND max(cap_fen) > 0 AND sum(account_paid_fen) > max(cap_fen))
    SELECT min(b.payer_id) AS payer_id, b.institution_code, list(b.settlement_id ORDER BY b."at", b.settlement_id) AS ids,
           count(*) AS n, sum(b.account_paid_fen) AS paid, max(b.cap_fen) AS cap
    FROM bursts b JOIN found f USING (credential_id, institution_code, burst)
    GROUP BY b.credential_id, b.institution_code, b.burst ORDER BY payer_id, min(b."at")""",
    "limit_hugging": f"""
    WITH near AS (
      SELECT payer_id, business_date, settlement_id, "at" FROM settlements
      WHERE {_PERIOD} AND cap_fen > 0 AND account_paid_fen >= $low * cap_fen AND account_paid_fen <= cap_fen),
    runs AS (  -- days first, without their ids: consecutive days share business_date - row_number
      SELECT payer_id, business_date,
             business_date - CAST(row_number() OVER (PARTITION BY payer_id ORDER BY business_date) AS INTEGER) AS run
      FROM (SELECT DISTINCT payer_id, business_date FROM near)),
    long AS (
      SELECT payer_id, run, min(business_date) AS first_day, count(*) AS days FROM runs
      GROUP BY payer_id, run HAVING count(*) >= $min_days)
    SELECT l.payer_id, l.first_day, l.days, list(n.settlement_id ORDER BY n."at", n.settlement_id) AS ids
    FROM long l JOIN runs r USING (payer_id, run) JOIN near n USING (payer_id, business_date)
    GROUP BY l.payer_id, l.run, l.first_day, l.days ORDER BY l.payer_id, l.first_day""",
    "many_institutions": f"""
    WITH busy AS (  -- a cheap pass on integers first: credential-days with enough payments for enough places
      SELECT hash(credential_id, business_date) AS k FROM settlements WHERE {_PERIOD}
      GROUP BY k HAVING count(*) >= $min),
    s AS (
      SELECT s.settlement_id, s.payer_id, s.credential_id, s.business_date, s.institution_code, s."at"
      FROM settlements s SEMI JOIN busy b ON hash(s.credential_id, s.business_date) = b.k WHERE s.{_PERIOD}),
    days AS (
      SELECT credential_id, business_date, count(DISTINCT institution_code) AS n FROM s
      GROUP BY ALL HAVING count(DISTINCT institution_code) >= $min)
    SELECT s.credential_id, min(s.payer_id) AS payer_id, s.business_date, any_value(d.n) AS n,
           list(s.settlement_id ORDER BY s."at", s.settlement_id) AS ids
    FROM s JOIN days d USING (credential_id, business_date)
    GROUP BY s.credential_id, s.business_date ORDER BY s.credential_id, s.business_date""",
    "far_apart": f"""
    WITH moving AS (  -- a cheap pass first: credentials used in more than one region in the period
      SELECT hash(credential_id) AS k FROM settlements WHERE {_PERIOD}
      GROUP BY k HAVING min(institution_region) <> max(institution_region)),
    s AS (
      SELECT s.settlement_id, s.payer_id, s.credential_id, s."at", s.institution_region AS region
      FROM settlements s SEMI JOIN moving m ON hash(s.credential_id) = m.k WHERE s.{_PERIOD}),
    moved AS (
      SELECT * FROM (
        SELECT *, lag(settlement_id) OVER w AS prev_id, epoch_us("at") - lag(epoch_us("at")) OVER w AS gap_us,
               lag(region) OVER w AS prev_region
        FROM s WINDOW w AS (PARTITION BY credential_id ORDER BY "at", settlement_id))
      WHERE region <> prev_region),
    places AS (SELECT region FROM moved UNION SELECT prev_region FROM moved),
    seats AS (  -- a region's own seat, else its prefecture city's, else its province's
      SELECT p.region, coalesce(a.lat, c.lat, v.lat) AS lat, coalesce(a.lon, c.lon, v.lon) AS lon
      FROM places p
      LEFT JOIN region_seats a ON a.region = p.region
      LEFT JOIN region_seats c ON c.region = substr(p.region, 1, 4) || '00'
      LEFT JOIN region_seats v ON v.region = substr(p.region, 1, 2) || '0000'),
    measured AS (  -- the great-circle distance between the two seats, in km
      SELECT m.*, 2 * 6371.0088 * asin(sqrt(
               pow(sin(radians(b.lat - a.lat) / 2), 2)
               + cos(radians(a.lat)) * cos(radians(b.lat)) * pow(sin(radians(b.lon - a.lon) / 2), 2))) AS km
      FROM moved m JOIN seats a ON a.region = m.prev_region JOIN seats b ON b.region = m.region
      WHERE a.lat IS NOT NULL AND b.lat IS NOT NULL),
    timed AS (  -- the fastest plausible journey: the overhead at its ends, the distance at the speed
      SELECT *, gap_us / 60000000 AS minutes, $overhead + 60 * km / $speed AS fastest_minutes FROM measured)
    SELECT payer_id, prev_id, settlement_id, region, prev_region, substr(region, 1, 2) AS province,
           substr(prev_region, 1, 2) AS prev_province, minutes, km, fastest_minutes
    FROM timed WHERE km >= $min_km AND minutes < fastest_minutes
    ORDER BY payer_id, "at" """,
    "shared_bank_account": """
    WITH linked AS (SELECT person_id, account_digest FROM bank_accounts WHERE CAST(linked_at AS DATE) <= $to),
    several AS (  -- a cheap pass on integers first: digests with enough links
      SELECT hash(account_digest) AS k FROM linked GROUP BY k HAVING count(*) >= $min)
    SELECT account_digest, list(DISTINCT person_id ORDER BY person_id) AS persons
    FROM linked WHERE hash(account_digest) IN (SELECT k FROM several)
    GROUP BY account_digest HAVING count(DISTINCT person_id) >= $min ORDER BY account_digest""",
    "duplicate_invoice": """
    WITH live AS (
      SELECT i.issuer, i.invoice_number, nullif(i.application_id, '') AS application_id,
             nullif(i.settlement_id, '') AS settlement_id, a.person_id AS applicant
      FROM invoices i LEFT JOIN applications a ON a.application_id = nullif(i.application_id, '')
      WHERE i.invoice_date <= $to AND coalesce(a.status, '') NOT IN ('rejected', 'withdrawn')),
    several AS (  -- a cheap pass first: invoices with rows enough for the claims counted
      SELECT hash(issuer, invoice_number) AS k FROM live GROUP BY k
      HAVING sum(CAST(application_id IS NOT NULL AS INTEGER) + CAST(settlement_id IS NOT NULL AS INTEGER)) >= $min),
    claims AS (
      SELECT l.issuer, l.invoice_number, l.application_id, l.settlement_id,
             coalesce(l.applicant, s.payer_id) AS person_id
      FROM live l LEFT JOIN settlements s ON s.settlement_id = l.settlement_id
      WHERE hash(l.issuer, l.invoice_number) IN (SELECT k FROM several))
    SELECT issuer, invoice_number, min(person_id) AS person_id,
           list(DISTINCT application_id ORDER BY application_id) FILTER (WHERE application_id IS NOT NULL) AS apps,
           list(DISTINCT settlement_id ORDER BY settlement_id) FILTER (WHERE settlement_id IS NOT NULL) AS sets,
           count(DISTINCT person_id) AS persons
    FROM claims GROUP BY issuer, invoice_number
    HAVING count(DISTINCT application_id) + count(DISTINCT settlement_id) >= $min
    ORDER BY issuer, invoice_number""",
    "after_death": f"""
    WITH dead AS (SELECT person_id, died_on FROM persons WHERE died_on IS NOT NULL),
    touched AS (  -- two equality joins (payer, owner) rather than one join on either: each is a hash join
      SELECT d.person_id, d.died_on, s.settlement_id, s.business_date
      FROM dead d JOIN settlements s ON s.payer_id = d.person_id WHERE s.{_PERIOD}
      UNION
      SELECT d.person_id, d.died_on, s.settlement_id, s.business_date
      FROM dead d JOIN settlements s ON s.owner_id = d.person_id WHERE s.{_PERIOD})
    SELECT person_id, died_on, list(DISTINCT settlement_id ORDER BY settlement_id) AS ids
    FROM touched WHERE business_date >= died_on + CAST($grace AS INTEGER)
    GROUP BY person_id, died_on ORDER BY person_id""",
    "institution_outlier": f"""
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
             {", ".join(f"median({m}) AS med_{m}" for m in MEASURES)}
      FROM per GROUP BY kind, region),
    dev AS (
      SELECT per.*, med.* EXCLUDE (kind, region),
             {", ".join(f"abs({m} - med_{m}) AS d_{m}" for m in MEASURES)}
      FROM per JOIN med USING (kind, region)),
    mad AS (SELECT kind, region, {", ".join(f"median(d_{m}) AS mad_{m}" for m in MEASURES)}
            FROM dev GROUP BY kind, region)
    SELECT dev.*, mad.* EXCLUDE (kind, region)  -- the rule scores each measure: `rules.robust_z`
    FROM dev JOIN mad USING (kind, region) WHERE peers >= $min_peers ORDER BY institution_code""",
    "emergency_unclaimed": f"""
    WITH claims AS (
      SELECT person_id, CAST(submitted_at AS DATE) AS day FROM applications
      WHERE reason = 'emergency' AND status NOT IN ('withdrawn', 'draft'))
    SELECT s.payer_id, list(s.settlement_id ORDER BY s."at", s.settlement_id) AS ids
    FROM settlements s
    WHERE s.{_PERIOD} AND s.emergency AND s.business_date + CAST($window AS INTEGER) <= $to
      AND NOT EXISTS (SELECT 1 FROM claims a WHERE a.person_id = s.payer_id  -- one equality join each: hash joins
                        AND a.day BETWEEN s.business_date - 1 AND s.business_date + CAST($window AS INTEGER))
      AND NOT EXISTS (SELECT 1 FROM claims a WHERE a.person_id = s.owner_id
                        AND a.day BETWEEN s.business_date - 1 AND s.business_date + CAST($window AS INTEGER))
    GROUP BY s.payer_id ORDER BY s.payer_id""",
    "family_pattern.spending": f"""
    WITH granted AS (
      SELECT owner_id, payer_id, sum(account_paid_fen) AS paid_fen, count(*) AS n,
             list(settlement_id ORDER BY "at", settlement_id) AS ids
      FROM settlements WHERE {_PERIOD} AND payer_id <> owner_id GROUP BY owner_id, payer_id
      HAVING sum(account_paid_fen) >= $min_fen AND count(*) >= $min_payments),
    own AS (  -- only the owners whose account a grantee used enough
      SELECT owner_id, sum(account_paid_fen) AS own_fen FROM settlements
      WHERE {_PERIOD} AND payer_id = owner_id AND owner_id IN (SELECT owner_id FROM granted) GROUP BY owner_id)
    SELECT g.owner_id, g.payer_id, g.paid_fen, coalesce(o.own_fen, 0) AS own_fen, g.n, g.ids
    FROM granted g LEFT JOIN own o USING (owner_id)
    WHERE g.paid_fen > $ratio * coalesce(o.own_fen, 0)
    ORDER BY g.owner_id, g.payer_id""",
    "family_pattern.rotating": """
    WITH sides AS (SELECT grant_id, owner_id AS person_id, grantee_id AS other FROM grants
                   WHERE starts_on BETWEEN $from AND $to
                   UNION ALL SELECT grant_id, grantee_id, owner_id FROM grants WHERE starts_on BETWEEN $from AND $to)
    SELECT person_id, count(DISTINCT other) AS n, list(DISTINCT grant_id ORDER BY grant_id) AS ids
    FROM sides GROUP BY person_id HAVING count(DISTINCT other) >= $min ORDER BY person_id""",
    "institution_outlier.ids": f"""
    SELECT institution_code, settlement_id FROM settlements
    WHERE list_contains($codes, institution_code) AND {_PERIOD} ORDER BY institution_code, settlement_id""",
}


def connect(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every table of the data set as a view over its Parquet file, and the regions'
    seats as `region_seats`."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("region_seats", pa.Table.from_pylist(list(region_seats())))
    for table in TABLES:
        path = str(table_path(folder, table)).replace("'", "''")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
    return con


@contextmanager
def queries(folder: Path) -> Iterator[Query]:
    """A `Query` over the data set in `folder`, for as long as the block runs."""
    con = connect(folder)

    def run(name: str, args: dict) -> list[dict]:
        cursor = con.execute(SQL[name], args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    try:
        yield run
    finally:
        con.close()
