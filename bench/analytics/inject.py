"""Inject each misuse pattern into a known 1 % of persons (of institutions, for institution_outlier) of a
generated data set, and write what was injected as `truth.parquet` (pattern, subject_kind, subject_id, persons).

    .venv/bin/python bench/analytics/inject.py --data DIR [--seed 11] [--share 0.01]

The patterns (each on its own persons, none of them under a family grant of the clean data):
- split_payments: 3–5 payments at one institution 30 s to 3 min apart, each under the per-payment cap, summing over it;
- limit_hugging: 10–15 days running, two payments a day at two pharmacies, each at 90–100 % of the institution's
  daily limit, so the day is at 90–100 % of the daily limit;
- many_institutions: one credential at 5–7 institutions of the region in one day;
- far_apart: one credential at home and, 1 to 2.5 hours later, in a region of another province 1,000+ km away;
- shared_bank_account: the person's account digest linked by a second person too (half still linked, half history);
- duplicate_invoice: one invoice number on two applications, or claimed and also settled directly;
- family_pattern: a new grant, the grantee paying 25+ times a year from the owner's account, 4.8–8 times the
  owner's own spending (at least ¥720);
- after_death: a death recorded mid-year and 1–3 settlements after it;
- emergency_unclaimed: 1–2 emergency settlements at a hospital before 27 November, with no reimbursement claim (the
  clean emergencies each have one within 20 days);
- institution_outlier: an institution refunding 30 % of its settlements, or settling 35 % of them at night.
The injected settlements are appended to settlements.parquet after the clean ones (not in time order).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analytics import schema  # noqa: E402
from bench.analytics.generate import (  # noqa: E402
    DAY_S,
    FAR_REGIONS,
    HOME_REGION,
    US_PER_S,
    at_us,
    card_ids,
    digest_of,
    epoch_day,
    evoucher_ids,
    ids,
    load_limits,
    person_ids,
)

PERSON_PATTERNS = ("split_payments", "limit_hugging", "many_institutions", "far_apart", "shared_bank_account",
                   "duplicate_invoice", "family_pattern", "after_death", "emergency_unclaimed")
FAMILY_FACTOR = 4  # a grantee's spending from the owner's account, at least this many times the owner's own
EMERGENCY_LAST_DAY = 330  # injected emergencies early enough for a claim's window to close within the year
OUTLIER_REFUND_SHARE = 0.30
OUTLIER_NIGHT_SHARE = 0.35


class Rows:
    """Injected settlements, gathered as columns of person and institution indexes."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {k: [] for k in ("payer", "owner", "inst", "day", "seconds", "total",
                                                         "evoucher", "emergency")}

    def add(self, payer, inst, day, seconds, total, owner=None, evoucher=False, emergency=False) -> None:
        """Append payments (scalars broadcast to the length of `inst`)."""
        inst = np.atleast_1d(np.asarray(inst, dtype=np.int64))
        n = inst.size

        def col(value, dtype):
            return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

        c = self.columns
        c["payer"].append(col(payer, np.int64))
        c["owner"].append(col(payer if owner is None else owner, np.int64))
        c["inst"].append(inst)
        c["day"].append(col(day, np.int32))
        c["seconds"].append(col(seconds, np.int64))
        c["total"].append(col(total, np.int64))
        c["evoucher"].append(col(evoucher, bool))
        c["emergency"].append(col(emergency, bool))

    def table(self, first_number: int, codes: np.ndarray, kinds: np.ndarray, regions: np.ndarray,
              cap: int) -> tuple[pa.Table, np.ndarray]:
        """The settlements in the data set's schema, numbered from `first_number`, and their numbers."""
        c = {k: np.concatenate(v) for k, v in self.columns.items()}
        at = at_us(c["day"], c["seconds"])
        order = np.argsort(at, kind="stable")
        c = {k: v[order] for k, v in c.items()}
        at = at[order]
        n = at.size
        total = c["total"]
        account = np.minimum(total, cap)
        number = np.arange(first_number, first_number + n)
        credential = pc.if_else(pa.array(c["evoucher"]), evoucher_ids(c["payer"]), card_ids(c["payer"]))
        table = pa.Table.from_arrays([
            ids("S", number, 11), pa.array(at, schema.UTC), pa.array(epoch_day(c["day"]), pa.date32()),
            pa.array(codes[c["inst"]], pa.string()), pa.array(kinds[c["inst"]], pa.string()),
            pa.array(regions[c["inst"]], pa.string()), person_ids(c["payer"]), person_ids(c["owner"]),
            pa.array([HOME_REGION] * n, pa.string()),
            pa.array(np.where(c["evoucher"], "evoucher", "card").astype(object), pa.string()), credential,
            pa.array(total), pa.array(account), pa.array(total - account), pa.array(np.zeros(n, dtype=np.int64)),
            pa.array(c["emergency"]), pa.array(np.where(total > cap, "institution_daily", "").astype(object),
                                                pa.string()),
            pa.array(np.full(n, cap, dtype=np.int64))], schema=schema.SETTLEMENTS)
        return table, number


def person_index(person_id: pa.Array) -> np.ndarray:
    """Person indexes of generated person ids (P + 9 digits)."""
    return pc.cast(pc.utf8_slice_codeunits(person_id, 1), pa.int64()).to_numpy()


def inject(folder: Path, seed: int = 11, share: float = 0.01) -> dict[str, int]:
    """Inject every pattern into `folder`'s data set and write truth.parquet; returns the truth count per pattern."""
    rng = np.random.default_rng(seed)
    limits = load_limits()
    persons = pq.read_table(folder / "persons.parquet")
    institutions = pq.read_table(folder / "institutions.parquet")
    grants = pq.read_table(folder / "grants.parquet")
    banks = pq.read_table(folder / "bank_accounts.parquet")
    applications = pq.read_table(folder / "applications.parquet")
    invoices = pq.read_table(folder / "invoices.parquet")
    refunds = pq.read_table(folder / "refunds.parquet")

    n_persons = persons.num_rows
    codes = institutions["institution_code"].to_numpy(zero_copy_only=False).astype(object)
    kinds = institutions["kind"].to_numpy(zero_copy_only=False).astype(object)
    regions = institutions["region"].to_numpy(zero_copy_only=False).astype(object)
    home = regions == HOME_REGION
    of_kind = {k: np.flatnonzero(home & (kinds == k)) for k in ("hospital", "clinic", "pharmacy")}
    home_all = np.flatnonzero(home)
    far = np.flatnonzero(np.isin(regions, FAR_REGIONS))

    busy = set(person_index(grants["owner_id"])) | set(person_index(grants["grantee_id"]))
    alive = persons["died_on"].is_null().to_numpy(zero_copy_only=False)
    eligible = np.array([i for i in np.flatnonzero(alive) if i not in busy], dtype=np.int64)
    rng.shuffle(eligible)
    k = max(1, round(share * n_persons))
    need = k * (len(PERSON_PATTERNS) + 4)  # a second person for shared accounts, three to pick a grant's owner from
    if eligible.size < need:
        raise SystemExit(f"too few persons to inject into: {eligible.size} < {need}")
    chosen, cursor = {}, 0
    for pattern in PERSON_PATTERNS:
        width = {"shared_bank_account": 2 * k, "family_pattern": 4 * k}.get(pattern, k)
        chosen[pattern] = eligible[cursor:cursor + width]
        cursor += width

    rows = Rows()
    truth: list[tuple[str, str, str, str]] = []
    cap = limits.institution_daily

    def person_truth(pattern: str, who: np.ndarray) -> None:
        for p in who:
            truth.append((pattern, "person", f"P{p:09d}", f"P{p:09d}"))

    # split_payments
    for p in chosen["split_payments"]:
        count = int(rng.integers(3, 6))
        inst = rng.choice(np.concatenate([of_kind["pharmacy"], of_kind["clinic"]]))
        start = int(rng.integers(9 * 3600, 19 * 3600))
        seconds = start + np.cumsum(np.r_[0, rng.integers(30, 180, count - 1)])
        totals = np.round(rng.uniform(0.35, 0.95, count) * cap, -1).astype(np.int64)
        rows.add(p, np.full(count, inst), int(rng.integers(0, 360)), seconds, totals, evoucher=bool(p % 2))
    person_truth("split_payments", chosen["split_payments"])

    # limit_hugging
    for p in chosen["limit_hugging"]:
        run = int(rng.integers(10, 16))
        first = int(rng.integers(0, 365 - run))
        for day in range(first, first + run):
            two = rng.choice(of_kind["pharmacy"], 2, replace=False)
            totals = np.round(rng.uniform(0.9, 1.0, 2) * min(cap, limits.daily // 2), -1).astype(np.int64)
            rows.add(p, two, day, np.sort(rng.integers(9 * 3600, 20 * 3600, 2)), totals)
    person_truth("limit_hugging", chosen["limit_hugging"])

    # many_institutions
    for p in chosen["many_institutions"]:
        count = int(rng.integers(5, 8))
        places = rng.choice(home_all, count, replace=False)
        seconds = np.sort(rng.integers(8 * 3600, 20 * 3600, count))
        rows.add(p, places, int(rng.integers(0, 365)), seconds, rng.integers(30, 150, count) * 100)
    person_truth("many_institutions", chosen["many_institutions"])

    # far_apart
    for p in chosen["far_apart"]:
        day, start = int(rng.integers(0, 365)), int(rng.integers(8 * 3600, 14 * 3600))
        later = start + int(rng.integers(3600, 9000))
        rows.add(p, [rng.choice(home_all), rng.choice(far)], day, [start, later], rng.integers(30, 150, 2) * 100)
    person_truth("far_apart", chosen["far_apart"])

    # shared_bank_account: the truth is the shared digest
    pairs = chosen["shared_bank_account"].reshape(-1, 2)
    extra_links = []
    for i, (a, b) in enumerate(pairs):
        digest = digest_of(f"6222{a:015d}")
        linked = at_us(np.array([int(rng.integers(0, 300))]), np.array([36_000]))[0]
        unlinked = linked + int(rng.integers(30, 90)) * DAY_S * US_PER_S if i % 2 else None
        extra_links.append({"person_id": f"P{b:09d}", "account_digest": digest,
                            "linked_at": linked, "unlinked_at": unlinked})
        truth.append(("shared_bank_account", "bank_account", digest, f"P{a:09d},P{b:09d}"))
    link_table = table_of([tuple(r.values()) for r in extra_links], schema.BANK_ACCOUNTS)

    # family_pattern: the truth is the grantee
    # owners: the third of a pool who spend least themselves (an elderly parent's account, say)
    grantees, pool = chosen["family_pattern"][:k], chosen["family_pattern"][k:]
    own = own_spending(folder, pool)
    pool = pool[np.argsort([own.get(f"P{o:09d}", 0) for o in pool], kind="stable")][:k]
    fam = np.column_stack([grantees, pool])
    new_grants = []
    for i, (grantee, owner) in enumerate(fam):
        new_grants.append({"grant_id": f"GX{i:07d}", "owner_id": f"P{owner:09d}", "grantee_id": f"P{grantee:09d}",
                           "relation": "child", "status": "active", "starts_on": int(epoch_day(np.zeros(1))[0]) - 30,
                           "ends_on": None})
        target = max(FAMILY_FACTOR * own.get(f"P{owner:09d}", 0), 60_000) * rng.uniform(1.2, 2.0)
        count = max(int(rng.integers(25, 41)), int(np.ceil(target / 20_000)))
        places = rng.choice(np.concatenate([of_kind["pharmacy"], of_kind["clinic"]]), count)
        weights = rng.lognormal(0.0, 0.4, count)
        totals = np.clip(np.round(weights / weights.sum() * target, -1), 1000, 0.8 * cap).astype(np.int64)
        rows.add(grantee, places, rng.integers(0, 365, count), rng.integers(9 * 3600, 20 * 3600, count), totals,
                 owner=owner)
        truth.append(("family_pattern", "person", f"P{grantee:09d}", f"P{grantee:09d},P{owner:09d}"))
    grant_table = table_of([tuple(g.values()) for g in new_grants], schema.GRANTS)

    # after_death
    death_day = {}
    for p in chosen["after_death"]:
        day = int(rng.integers(60, 300))
        death_day[p] = day
        count = int(rng.integers(1, 4))
        rows.add(p, rng.choice(home_all, count), day + rng.integers(1, 40, count),
                 rng.integers(9 * 3600, 20 * 3600, count), rng.integers(30, 200, count) * 100)
    person_truth("after_death", chosen["after_death"])
    died = persons["died_on"].cast(pa.int32())
    died_mask = died.is_null().to_numpy(zero_copy_only=False).copy()
    died_values = pc.fill_null(died, 0).to_numpy().copy()
    for p, day in death_day.items():
        died_values[p] = epoch_day(np.array([day]))[0]
        died_mask[p] = False
    persons = persons.set_column(persons.schema.get_field_index("died_on"), "died_on",
                                 pa.array(died_values, pa.date32(), mask=died_mask))

    # emergency_unclaimed
    for p in chosen["emergency_unclaimed"]:
        count = int(rng.integers(1, 3))
        rows.add(p, rng.choice(of_kind["hospital"], count), rng.integers(0, EMERGENCY_LAST_DAY, count),
                 rng.integers(0, DAY_S, count), rng.integers(200, 2000, count) * 100, emergency=True)
    person_truth("emergency_unclaimed", chosen["emergency_unclaimed"])

    # duplicate_invoice: half claimed twice, half claimed and settled directly
    dup = chosen["duplicate_invoice"]
    direct = dup[1::2]
    direct_inst = rng.choice(of_kind["hospital"], direct.size)
    direct_day = rng.integers(0, 330, direct.size)
    direct_total = rng.integers(200, 2000, direct.size) * 100
    rows.add(direct, direct_inst, direct_day, rng.integers(9 * 3600, 17 * 3600, direct.size), direct_total)
    person_truth("duplicate_invoice", dup)

    first_number = pq.ParquetFile(folder / "settlements.parquet").metadata.num_rows
    injected, numbers = rows.table(first_number, codes, kinds, regions, cap)
    # find the direct settlements' numbers again after the time sort
    direct_ids = _direct_settlement_ids(injected, direct, direct_inst, codes)
    dup_apps, dup_invoices = _duplicate_invoices(dup, direct, direct_ids, direct_inst, direct_day, direct_total,
                                                 codes, applications.num_rows, rng)

    # institution_outlier: rewrite their settlements while streaming the file
    n_outliers = max(2, round(share * home_all.size))
    candidates = np.concatenate([of_kind["pharmacy"], of_kind["clinic"]])
    outliers = rng.choice(candidates, min(n_outliers, candidates.size), replace=False)
    refund_codes, night_codes = set(codes[outliers[0::2]]), set(codes[outliers[1::2]])
    for inst in outliers:
        truth.append(("institution_outlier", "institution", codes[inst], ""))
    extra_refunds = _rewrite_settlements(folder, injected, refund_codes, night_codes, rng)

    pq.write_table(persons, folder / "persons.parquet")
    pq.write_table(pa.concat_tables([banks, link_table]), folder / "bank_accounts.parquet")
    pq.write_table(pa.concat_tables([grants, grant_table]), folder / "grants.parquet")
    pq.write_table(pa.concat_tables([applications, dup_apps]), folder / "applications.parquet")
    pq.write_table(pa.concat_tables([invoices, dup_invoices]), folder / "invoices.parquet")
    pq.write_table(pa.concat_tables([refunds, extra_refunds]), folder / "refunds.parquet")
    truth_table = pa.Table.from_arrays([pa.array(col, pa.string()) for col in zip(*truth, strict=True)],
                                       schema=schema.TRUTH)
    pq.write_table(truth_table, folder / "truth.parquet")
    counts: dict[str, int] = {}
    for pattern, *_ in truth:
        counts[pattern] = counts.get(pattern, 0) + 1
    return counts


def own_spending(folder: Path, owners: np.ndarray) -> dict[str, int]:
    """What each of these persons paid from their own account themselves (a pass over the settlements)."""
    wanted = person_ids(owners)
    sums: dict[str, int] = {}
    for batch in pq.ParquetFile(folder / "settlements.parquet").iter_batches(
            batch_size=1_000_000, columns=["payer_id", "owner_id", "account_paid_fen"]):
        table = pa.Table.from_batches([batch])
        mine = pc.and_(pc.is_in(table["payer_id"], value_set=wanted), pc.equal(table["payer_id"], table["owner_id"]))
        grouped = table.filter(mine).group_by("payer_id").aggregate([("account_paid_fen", "sum")])
        for person, paid in zip(grouped["payer_id"].to_pylist(), grouped["account_paid_fen_sum"].to_pylist(),
                                strict=True):
            sums[person] = sums.get(person, 0) + paid
    return sums


def table_of(rows: list[tuple], table_schema: pa.Schema) -> pa.Table:
    """A table of row tuples, timestamps as UTC microseconds and dates as days since the epoch."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(table_schema)
    arrays = []
    for values, field in zip(columns, table_schema, strict=True):
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array([None if v is None else int(v) for v in values], pa.int64()).cast(field.type))
        elif pa.types.is_date32(field.type):
            arrays.append(pa.array([None if v is None else int(v) for v in values], pa.int32()).cast(field.type))
        else:
            arrays.append(pa.array([v.item() if isinstance(v, np.generic) else v for v in values], field.type))
    return pa.Table.from_arrays(arrays, schema=table_schema)


def _direct_settlement_ids(injected: pa.Table, direct: np.ndarray, direct_inst: np.ndarray,
                           codes: np.ndarray) -> list[str]:
    """The ids of the settlements injected for the 'claimed and settled directly' half, matched by payer."""
    payer = injected["payer_id"].to_pylist()
    inst = injected["institution_code"].to_pylist()
    sid = injected["settlement_id"].to_pylist()
    by_key = {}
    for s, p, i in zip(sid, payer, inst, strict=True):
        by_key.setdefault((p, i), s)
    return [by_key[(f"P{p:09d}", codes[i])] for p, i in zip(direct, direct_inst, strict=True)]


def _duplicate_invoices(dup: np.ndarray, direct: np.ndarray, direct_ids: list[str], direct_inst: np.ndarray,
                        direct_day: np.ndarray, direct_total: np.ndarray, codes: np.ndarray, first_application: int,
                        rng: np.random.Generator) -> tuple[pa.Table, pa.Table]:
    """Applications and invoice rows that claim one invoice number twice."""
    apps, invs = [], []
    number = first_application + 10_000_000
    twice = dup[0::2]
    start = epoch_day(np.zeros(1))[0]
    for i, p in enumerate(twice):
        issuer = codes[0]
        amount = int(rng.integers(100, 3000)) * 100
        invoice = f"INVX{i:09d}"
        day = int(rng.integers(0, 300))
        for j in range(2):
            app = f"A{number:09d}"
            number += 1
            submitted = at_us(np.array([day + 10 + 30 * j]), np.array([36_000]))[0]
            apps.append((app, f"P{p:09d}", "reimbursement", "other", "approved" if j == 0 else "submitted",
                         submitted, amount, amount if j == 0 else 0))
            invs.append((invoice, issuer, start + day, app, "", amount))
    for i, (p, sid, inst, day, total) in enumerate(zip(direct, direct_ids, direct_inst, direct_day, direct_total,
                                                       strict=True)):
        invoice = f"INVY{i:09d}"
        app = f"A{number:09d}"
        number += 1
        submitted = at_us(np.array([int(day) + 15]), np.array([36_000]))[0]
        apps.append((app, f"P{p:09d}", "reimbursement", "other", "submitted", submitted, int(total), 0))
        invs.append((invoice, codes[inst], start + int(day), "", sid, int(total)))
        invs.append((invoice, codes[inst], start + int(day), app, "", int(total)))
    app_table, inv_table = table_of(apps, schema.APPLICATIONS), table_of(invs, schema.INVOICES)
    return app_table, inv_table


def _rewrite_settlements(folder: Path, injected: pa.Table, refund_codes: set[str], night_codes: set[str],
                         rng: np.random.Generator) -> pa.Table:
    """Stream settlements.parquet: outlier institutions' refunds and night times, then the injected rows."""
    source = folder / "settlements.parquet"
    target = folder / "settlements.parquet.tmp"
    refunds = []
    refund_set, night_set = pa.array(sorted(refund_codes), pa.string()), pa.array(sorted(night_codes), pa.string())
    with pq.ParquetWriter(target, schema.SETTLEMENTS) as writer:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=1_000_000):
            table = pa.Table.from_batches([batch], schema=schema.SETTLEMENTS)
            code = table["institution_code"]
            refunded = table["refunded_fen"].to_numpy().copy()
            total = table["total_fen"].to_numpy()
            pick = (pc.is_in(code, value_set=refund_set).to_numpy(zero_copy_only=False)
                    & (refunded == 0) & (rng.random(table.num_rows) < OUTLIER_REFUND_SHARE))
            if pick.any():
                refunded[pick] = total[pick]
                at = table["at"].cast(pa.int64()).to_numpy()
                delay = rng.integers(600, 2 * DAY_S, int(pick.sum())) * US_PER_S
                sid = table["settlement_id"].filter(pa.array(pick))
                refunds.append(pa.Table.from_arrays([
                    pc.binary_join_element_wise(pa.scalar("RX"), sid, ""), sid,
                    pa.array(at[pick] + delay, schema.UTC), pa.array(total[pick])], schema=schema.REFUNDS))
                table = table.set_column(table.schema.get_field_index("refunded_fen"), "refunded_fen",
                                         pa.array(refunded))
            night = (pc.is_in(code, value_set=night_set).to_numpy(zero_copy_only=False)
                     & (rng.random(table.num_rows) < OUTLIER_NIGHT_SHARE))
            if night.any():
                at = table["at"].cast(pa.int64()).to_numpy().copy()
                days = table["business_date"].cast(pa.int32()).to_numpy().astype(np.int64)
                midnight = (days * DAY_S - 8 * 3600) * US_PER_S
                at[night] = midnight[night] + rng.integers(0, 5 * 3600, int(night.sum())) * US_PER_S
                table = table.set_column(table.schema.get_field_index("at"), "at", pa.array(at, schema.UTC))
            writer.write_table(table)
        writer.write_table(injected)
    os.replace(target, source)
    return pa.concat_tables(refunds) if refunds else schema.REFUNDS.empty_table()


def main() -> None:
    """Command line: inject the patterns into a generated data set and print the truth counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--share", type=float, default=0.01)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = inject(args.data, args.seed, args.share)
    for pattern, count in counts.items():
        print(f"{pattern:>20} {count:>8,}")
    print(f"injected in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
