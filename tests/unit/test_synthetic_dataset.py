"""The synthetic analytics data set at tiny scale: the shared schemas, consistent money and dates, every pattern
injected into its known subjects as the truth says, and the scorer's arithmetic."""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analytics import schema  # noqa: E402
from bench.analytics.generate import generate  # noqa: E402
from bench.analytics.inject import inject  # noqa: E402
from bench.analytics.score import score  # noqa: E402

from yibao.domain.findings import Detected, Pattern, SubjectKind  # noqa: E402

CHINA = dt.timezone(dt.timedelta(hours=8))
ROWS = 3000


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    generate(ROWS, folder, seed=3, chunk=1000)
    return folder


@pytest.fixture(scope="module")
def injected(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("injected")
    generate(ROWS, folder, seed=3, chunk=1000)
    inject(folder, seed=5)
    return folder


def read(folder: Path, table: str) -> list[dict]:
    return pq.read_table(folder / f"{table}.parquet").to_pylist()


def test_every_table_has_the_shared_schema(clean):
    for name, table_schema in schema.TABLES.items():
        assert pq.read_schema(clean / f"{name}.parquet").equals(table_schema), name


def test_settlements_are_consistent_and_in_time_order(clean):
    rows = read(clean, "settlements")
    assert 0.95 * ROWS <= len(rows) <= ROWS  # a few dropped: nobody pays after their death
    assert len({r["settlement_id"] for r in rows}) == len(rows)
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    for r in rows:
        assert r["account_paid_fen"] + r["cash_fen"] == r["total_fen"] > 0
        assert r["account_paid_fen"] <= r["cap_fen"]
        assert r["business_date"] == r["at"].astimezone(CHINA).date()
        assert r["business_date"].year == 2025
        assert r["credential_type"] in ("card", "evoucher")
    kinds = Counter(r["institution_kind"] for r in rows)
    assert set(kinds) == {"hospital", "clinic", "pharmacy"}
    night = sum(r["at"].astimezone(CHINA).hour < 6 for r in rows)
    assert night < 0.03 * len(rows)


def test_persons_are_a_tenth_with_one_bank_account_each(clean):
    persons = read(clean, "persons")
    assert len(persons) == ROWS // 10
    banks = read(clean, "bank_accounts")
    assert sorted(b["person_id"] for b in banks) == sorted(p["person_id"] for p in persons)
    assert len({b["account_digest"] for b in banks}) == len(banks)
    died = {p["person_id"]: p["died_on"] for p in persons if p["died_on"]}
    for r in read(clean, "settlements"):
        assert r["payer_id"] not in died or r["business_date"] < died[r["payer_id"]]


def test_side_tables_point_at_real_rows(clean):
    settlement_ids = {r["settlement_id"] for r in read(clean, "settlements")}
    assert {r["settlement_id"] for r in read(clean, "refunds")} <= settlement_ids
    applications = {a["application_id"] for a in read(clean, "applications")}
    invoices = read(clean, "invoices")
    assert len({i["invoice_number"] for i in invoices}) == len(invoices)  # clean: no invoice claimed twice
    for invoice in invoices:
        assert bool(invoice["application_id"]) != bool(invoice["settlement_id"])
        assert invoice["application_id"] in applications or invoice["settlement_id"] in settlement_ids


def test_truth_names_one_percent_per_pattern_on_distinct_subjects(injected):
    truth = read(injected, "truth")
    counts = Counter(t["pattern"] for t in truth)
    assert set(counts) == {p.value for p in Pattern}
    persons = ROWS // 10
    for pattern, count in counts.items():
        if pattern != "institution_outlier":
            assert count == round(0.01 * persons), pattern
    person_subjects = [t["subject_id"] for t in truth if t["subject_kind"] == "person"]
    assert len(person_subjects) == len(set(person_subjects))


def km_between(one: str, other: str) -> float:
    """The great-circle distance between two regions' seats (the regions of the generated data have their own)."""
    from yibao.analytics.rules import region_seats

    seats = {s["region"]: s for s in region_seats()}
    a, b = (seats.get(r) or seats[r[:2] + "0000"] for r in (one, other))
    lat1, lat2 = math.radians(a["lat"]), math.radians(b["lat"])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(
        math.radians(b["lon"] - a["lon"]) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_clean_trips_out_of_the_region_are_near(clean):
    regions = {r["institution_region"] for r in read(clean, "settlements")}
    assert len(regions) > 1 and all(km_between("110000", region) < 300 for region in regions)


def test_the_injected_patterns_are_in_the_data(injected):
    truth = defaultdict(list)
    for t in read(injected, "truth"):
        truth[t["pattern"]].append(t)
    settlements = read(injected, "settlements")
    by_payer = defaultdict(list)
    for r in settlements:
        by_payer[r["payer_id"]].append(r)

    for t in truth["split_payments"]:
        rows = by_payer[t["subject_id"]]
        bursts = Counter((r["institution_code"], r["business_date"]) for r in rows)
        place, day = bursts.most_common(1)[0][0]
        burst = sorted((r for r in rows if (r["institution_code"], r["business_date"]) == (place, day)),
                       key=lambda r: r["at"])
        assert 3 <= len(burst) <= 5 and burst[-1]["at"] - burst[0]["at"] < dt.timedelta(minutes=15)
        assert all(r["total_fen"] < r["cap_fen"] for r in burst)
        assert sum(r["account_paid_fen"] for r in burst) > burst[0]["cap_fen"]

    for t in truth["many_institutions"]:
        per_day = defaultdict(set)
        for r in by_payer[t["subject_id"]]:
            per_day[(r["credential_id"], r["business_date"])].add(r["institution_code"])
        assert max(len(v) for v in per_day.values()) >= 5

    for t in truth["far_apart"]:
        rows = sorted(by_payer[t["subject_id"]], key=lambda r: r["at"])
        assert any(a["credential_id"] == b["credential_id"] and b["at"] - a["at"] < dt.timedelta(hours=3)
                   and km_between(a["institution_region"], b["institution_region"]) > 1000 for a, b in pairwise(rows))

    for t in truth["limit_hugging"]:
        days = sorted({r["business_date"] for r in by_payer[t["subject_id"]]
                       if 0.9 * r["cap_fen"] <= r["account_paid_fen"] <= r["cap_fen"]})
        longest = run = 1
        for a, b in pairwise(days):
            run = run + 1 if (b - a).days == 1 else 1
            longest = max(longest, run)
        assert longest >= 10

    holders = defaultdict(set)
    for b in read(injected, "bank_accounts"):
        holders[b["account_digest"]].add(b["person_id"])
    for t in truth["shared_bank_account"]:
        assert holders[t["subject_id"]] == set(t["persons"].split(","))

    claims = Counter(i["invoice_number"] for i in read(injected, "invoices"))
    assert sum(n == 2 for n in claims.values()) == len(truth["duplicate_invoice"])

    died = {p["person_id"]: p["died_on"] for p in read(injected, "persons")}
    for t in truth["after_death"]:
        assert any(r["business_date"] > died[t["subject_id"]] for r in by_payer[t["subject_id"]])

    grants = {(g["grantee_id"], g["owner_id"]) for g in read(injected, "grants")}
    for t in truth["family_pattern"]:
        grantee, owner = t["persons"].split(",")
        assert (grantee, owner) in grants
        on_owner = sum(r["total_fen"] for r in by_payer[grantee] if r["owner_id"] == owner)
        own = sum(r["total_fen"] for r in by_payer[owner] if r["owner_id"] == owner)
        assert on_owner >= 4 * own

    claimed = {a["person_id"] for a in read(injected, "applications") if a["reason"] == "emergency"}
    for t in truth["emergency_unclaimed"]:
        assert any(r["emergency"] for r in by_payer[t["subject_id"]]) and t["subject_id"] not in claimed


def test_scoring_counts_true_and_false_findings():
    truth = [
        {"pattern": "split_payments", "subject_kind": "person", "subject_id": "P1", "persons": "P1"},
        {"pattern": "split_payments", "subject_kind": "person", "subject_id": "P2", "persons": "P2"},
        {"pattern": "shared_bank_account", "subject_kind": "bank_account", "subject_id": "d1", "persons": "P3,P4"},
    ]

    def found(pattern, kind, subject):
        return Detected(pattern, "v", 1.0, kind, subject, dt.date(2025, 1, 1), dt.date(2025, 12, 31))

    report = score([
        found(Pattern.SPLIT_PAYMENTS, SubjectKind.PERSON, "P1"),
        found(Pattern.SPLIT_PAYMENTS, SubjectKind.PERSON, "P1"),  # a second burst of the same person
        found(Pattern.SPLIT_PAYMENTS, SubjectKind.PERSON, "P9"),
        found(Pattern.SHARED_BANK_ACCOUNT, SubjectKind.PERSON, "P4"),  # a holder of the shared account
    ], truth)
    assert report["split_payments"] == {"truth": 2, "found": 2, "true": 1, "precision": 0.5, "recall": 0.5}
    assert report["shared_bank_account"]["precision"] == report["shared_bank_account"]["recall"] == 1.0
    assert report["after_death"] == {"truth": 0, "found": 0, "true": 0, "precision": None, "recall": None}
