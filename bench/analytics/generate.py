"""A region's year of settlements as the analytics data set (Parquet, one file per table), synthetic and clean.

    .venv/bin/python bench/analytics/generate.py --rows 10000000 --out /tmp/yibao-synth [--seed 7] [--chunk 1000000]

Persons are about a tenth of the rows; institutions are hospitals, clinics and pharmacies with their shares of
the settlements; amounts are log-normal per kind, times of day per kind with few at night; payments per person
are skewed; a few persons pay under a family grant, a few die in the year (and pay nothing after), each has one
bank account. Vectorised with NumPy and pyarrow, written in chunks of days so memory stays bounded and the
settlements file is in time order. `inject.py` then adds the misuse patterns with their truth. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analytics import schema  # noqa: E402

HOME_REGION = "110000"  # Beijing: its policy has the per-institution, daily and yearly limits
NEAR_REGIONS = ("120000", "130100")  # Tianjin, Shijiazhuang: within 300 km, where normal persons also pay
FAR_REGIONS = ("440100", "310000", "510100")  # Guangzhou, Shanghai, Chengdu: over 1,000 km, only in injections
YEAR = 2025
CHINA = dt.timezone(dt.timedelta(hours=8))
US_PER_S = 1_000_000
DAY_S = 86_400

# institutions: share of institutions, share of settlements, amount (median fen, log sigma), opening hours
KINDS = ("hospital", "clinic", "pharmacy")
INSTITUTION_SHARE = np.array([0.10, 0.40, 0.50])
SETTLEMENT_SHARE = np.array([0.35, 0.20, 0.45])
AMOUNT = {"hospital": (18_000, 0.9), "clinic": (8_000, 0.7), "pharmacy": (6_000, 0.8)}
HOURS = {"hospital": (7.5, 20.0), "clinic": (8.0, 18.0), "pharmacy": (8.0, 22.0)}
NIGHT_SHARE = {"hospital": 0.02, "clinic": 0.002, "pharmacy": 0.005}  # 00:00-06:00 China time
NEAR_SHARE = 0.01  # of settlements, at an institution of a near region
GRANTEE_SHARE = 0.04  # of persons, paying part of the time from a family member's account
GRANT_USE = 0.3  # of a grantee's payments, from the owner's account
DEATH_SHARE = 0.006  # of persons, dying in the year
EVOUCHER_SHARE = 0.4  # of persons, paying mostly with an e-voucher
REFUND_SHARE = 0.01
EMERGENCY_SHARE = 0.005  # of hospital settlements; each has its reimbursement claim
INVOICED_SHARE = 0.05  # of settlements, with an invoice settled directly
WITHDRAWAL_SHARE = 0.01  # of persons, with a withdrawal application


@dataclass(frozen=True)
class Limits:
    """The home region's limits (fen), read from its dated policy file: the latest values."""

    institution_daily: int
    daily: int
    yearly: int


def load_limits(region_dir: Path = ROOT / "policies" / "110000-beijing") -> Limits:
    """The latest values of the region's settlement limits."""
    params = yaml.safe_load((region_dir / "settlement.yaml").read_text())["parameters"]

    def latest(name: str) -> int:
        values = params[f"settlement.limit.{name}"]["values"]
        return int(values[max(values)])

    return Limits(latest("institution_daily"), latest("daily"), latest("yearly"))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Prefixed zero-padded string ids, vectorised."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def person_ids(index: np.ndarray) -> pa.Array:
    """Person ids of person indexes."""
    return ids("P", index, 9)


def card_ids(index: np.ndarray) -> pa.Array:
    """Card numbers of person indexes."""
    return ids("K1100", index, 9)


def evoucher_ids(index: np.ndarray) -> pa.Array:
    """E-voucher ids of person indexes."""
    return ids("EV", index, 9)


def digest_of(number: str) -> str:
    """The sha256 hex of a bank account number (the data set never holds the number)."""
    return hashlib.sha256(number.encode()).hexdigest()


def year_start_us() -> int:
    """Microseconds since the epoch of 1 January YEAR, 00:00 China time."""
    return int(dt.datetime(YEAR, 1, 1, tzinfo=CHINA).timestamp()) * US_PER_S


def epoch_day(day_of_year: np.ndarray) -> np.ndarray:
    """date32 values (days since 1970-01-01) of days of the year."""
    return (dt.date(YEAR, 1, 1) - dt.date(1970, 1, 1)).days + day_of_year.astype(np.int32)


def at_us(day_of_year: np.ndarray, seconds_of_day: np.ndarray) -> np.ndarray:
    """UTC microseconds of a China-time day of the year and second of that day."""
    return year_start_us() + (day_of_year.astype(np.int64) * DAY_S + seconds_of_day.astype(np.int64)) * US_PER_S


@dataclass
class World:
    """The persons and institutions a year of settlements is drawn from, with their sampling weights."""

    n_persons: int
    person_cum: np.ndarray  # cumulative payment weights
    died_day: np.ndarray  # day of the year of death, 366 when alive
    evoucher: np.ndarray  # pays mostly with an e-voucher
    grant_owner: np.ndarray  # index of the owner whose account the person may use, -1 when none
    inst_codes: np.ndarray  # object array of codes
    inst_kind: np.ndarray  # index into KINDS
    inst_region: np.ndarray  # object array of region codes
    kind_members: list[np.ndarray]  # home-region institution indexes per kind
    kind_cum: list[np.ndarray]  # their cumulative popularity
    near_members: np.ndarray
    limits: Limits


def make_world(rows: int, rng: np.random.Generator) -> World:
    """Persons (about a tenth of the rows) and institutions (one per 2,000 rows, at least 30) with weights."""
    n_persons = max(100, rows // 10)
    weights = np.minimum(rng.lognormal(0.0, 0.8, n_persons), 20.0)
    person_cum = np.cumsum(weights)
    person_cum /= person_cum[-1]
    died_day = np.full(n_persons, 366, dtype=np.int32)
    dying = rng.random(n_persons) < DEATH_SHARE
    died_day[dying] = rng.integers(30, 365, dying.sum())
    evoucher = rng.random(n_persons) < EVOUCHER_SHARE
    grant_owner = np.full(n_persons, -1, dtype=np.int64)
    grantees = np.flatnonzero((rng.random(n_persons) < GRANTEE_SHARE) & ~dying)
    owners = (grantees + rng.integers(1, n_persons, grantees.size)) % n_persons
    keep = ~dying[owners]
    grant_owner[grantees[keep]] = owners[keep]

    n_home = max(30, rows // 2000)
    kind = rng.choice(3, n_home, p=INSTITUTION_SHARE)
    kind[:3] = [0, 1, 2]  # every kind present, even at tiny scale
    n_near = max(3, n_home // 50)
    n_far = 3 * len(FAR_REGIONS)
    total = n_home + n_near + n_far
    inst_kind = np.concatenate([kind, rng.choice(3, n_near, p=INSTITUTION_SHARE), np.tile([0, 1, 2], len(FAR_REGIONS))])
    inst_region = np.empty(total, dtype=object)
    inst_region[:n_home] = HOME_REGION
    inst_region[n_home:n_home + n_near] = np.array(NEAR_REGIONS, dtype=object)[np.arange(n_near) % len(NEAR_REGIONS)]
    inst_region[n_home + n_near:] = np.repeat(np.array(FAR_REGIONS, dtype=object), 3)
    letters = np.array(["H", "C", "D"], dtype=object)[inst_kind]
    inst_codes = np.array([f"{letters[i]}{inst_region[i]}{i:05d}" for i in range(total)], dtype=object)
    popularity = rng.lognormal(0.0, 0.7, total)
    kind_members, kind_cum = [], []
    for k in range(3):
        members = np.flatnonzero(inst_kind[:n_home] == k)
        cum = np.cumsum(popularity[members])
        kind_members.append(members)
        kind_cum.append(cum / cum[-1])
    near_members = np.arange(n_home, n_home + n_near)
    return World(n_persons, person_cum, died_day, evoucher, grant_owner, inst_codes, inst_kind, inst_region,
                 kind_members, kind_cum, near_members, load_limits())


def pick(cum: np.ndarray, members: np.ndarray | None, rng: np.random.Generator, n: int) -> np.ndarray:
    """n weighted draws: indexes into members (or positions when members is None)."""
    positions = np.minimum(np.searchsorted(cum, rng.random(n)), cum.size - 1)
    return positions if members is None else members[positions]


def seconds_of_day(kind: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """China-time seconds of the day by institution kind: opening hours, a few at night."""
    seconds = np.empty(kind.size, dtype=np.int64)
    for k, name in enumerate(KINDS):
        mask = kind == k
        n = int(mask.sum())
        opens, closes = HOURS[name]
        if name == "hospital":  # mornings busiest
            hours = np.clip(rng.normal(10.5, 2.5, n), opens, closes)
        else:
            hours = rng.uniform(opens, closes, n)
        night = rng.random(n) < NIGHT_SHARE[name]
        hours[night] = rng.uniform(0.0, 6.0, int(night.sum()))
        seconds[mask] = (hours * 3600).astype(np.int64)
    return seconds


def settlement_chunk(world: World, first_id: int, n: int, day_from: int, day_to: int,
                     rng: np.random.Generator) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """n settlements on days [day_from, day_to), in time order, and the draws the side tables need."""
    payer = pick(world.person_cum, None, rng, n)
    day = rng.integers(day_from, day_to, n).astype(np.int32)
    alive = day < world.died_day[payer]
    payer, day = payer[alive], day[alive]
    n = payer.size
    kind = rng.choice(3, n, p=SETTLEMENT_SHARE)
    inst = np.empty(n, dtype=np.int64)
    for k in range(3):
        mask = kind == k
        inst[mask] = pick(world.kind_cum[k], world.kind_members[k], rng, int(mask.sum()))
    near = rng.random(n) < NEAR_SHARE
    inst[near] = rng.choice(world.near_members, int(near.sum()))
    kind = world.inst_kind[inst]
    seconds = seconds_of_day(kind, rng)
    order = np.lexsort((seconds, day))
    payer, day, inst, kind, seconds = payer[order], day[order], inst[order], kind[order], seconds[order]

    total = np.empty(n, dtype=np.int64)
    for k, name in enumerate(KINDS):
        mask = kind == k
        median, sigma = AMOUNT[name]
        total[mask] = np.maximum(100, np.round(rng.lognormal(np.log(median), sigma, int(mask.sum())), -1))
    cap = np.full(n, world.limits.institution_daily, dtype=np.int64)
    account = np.minimum(total, cap)
    limited = total > cap
    owner = payer.copy()
    granted = (world.grant_owner[payer] >= 0) & (rng.random(n) < GRANT_USE)
    owner[granted] = world.grant_owner[payer[granted]]
    use_evoucher = world.evoucher[payer] ^ (rng.random(n) < 0.1)
    credential = pc.if_else(pa.array(use_evoucher), evoucher_ids(payer), card_ids(payer))
    refunded = np.zeros(n, dtype=np.int64)
    refund = rng.random(n) < REFUND_SHARE
    full = rng.random(n) < 0.6
    refunded[refund] = np.where(full[refund], total[refund], np.maximum(10, (total[refund] * 0.3).round(-1)))
    emergency = (kind == 0) & (rng.random(n) < EMERGENCY_SHARE)
    at = at_us(day, seconds)
    settlement_number = np.arange(first_id, first_id + n)
    table = pa.Table.from_arrays([
        ids("S", settlement_number, 11),
        pa.array(at, schema.UTC),
        pa.array(epoch_day(day), pa.date32()),
        pa.array(world.inst_codes[inst], pa.string()),
        pa.array(np.array(KINDS, dtype=object)[kind], pa.string()),
        pa.array(world.inst_region[inst], pa.string()),
        person_ids(payer),
        person_ids(owner),
        pa.array(np.full(n, HOME_REGION, dtype=object), pa.string()),
        pa.array(np.where(use_evoucher, "evoucher", "card").astype(object), pa.string()),
        credential,
        pa.array(total),
        pa.array(account),
        pa.array(total - account),
        pa.array(refunded),
        pa.array(emergency),
        pa.array(np.where(limited, "institution_daily", "").astype(object), pa.string()),
        pa.array(cap),
    ], schema=schema.SETTLEMENTS)
    draws = {"number": settlement_number, "at": at, "day": day, "payer": payer, "inst": inst, "total": total,
             "cash": total - account, "refund": refund, "refunded": refunded, "emergency": emergency,
             "invoiced": rng.random(n) < INVOICED_SHARE}
    return table, draws


class SideTables:
    """Refunds, claims and invoices gathered chunk by chunk (they are a few per cent of the settlements)."""

    def __init__(self) -> None:
        self.refunds: list[pa.Table] = []
        self.applications: list[pa.Table] = []
        self.invoices: list[pa.Table] = []
        self.next_application = 0
        self.next_invoice = 0

    def add(self, world: World, draws: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """The refunds, emergency claims (with their invoices) and direct invoices of one chunk."""
        r = draws["refund"]
        n_refunds = int(r.sum())
        delay = rng.integers(600, 3 * DAY_S, n_refunds) * US_PER_S
        self.refunds.append(pa.Table.from_arrays([
            ids("R", draws["number"][r], 11), ids("S", draws["number"][r], 11),
            pa.array(draws["at"][r] + delay, schema.UTC), pa.array(draws["refunded"][r])], schema=schema.REFUNDS))
        e = draws["emergency"]
        n_claims = int(e.sum())
        application = np.arange(self.next_application, self.next_application + n_claims)
        self.next_application += n_claims
        claimed = np.maximum(draws["cash"][e], draws["total"][e] // 10)
        submitted = draws["at"][e] + rng.integers(DAY_S, 20 * DAY_S, n_claims) * US_PER_S
        self.applications.append(pa.Table.from_arrays([
            ids("A", application, 9), person_ids(draws["payer"][e]),
            pa.array(["reimbursement"] * n_claims, pa.string()), pa.array(["emergency"] * n_claims, pa.string()),
            pa.array(["approved"] * n_claims, pa.string()), pa.array(submitted, schema.UTC),
            pa.array(claimed), pa.array(claimed)], schema=schema.APPLICATIONS))
        self._invoices(world, draws["inst"][e], epoch_day(draws["day"][e]), ids("A", application, 9),
                       pa.array([""] * n_claims, pa.string()), claimed)
        v = draws["invoiced"] & ~e
        self._invoices(world, draws["inst"][v], epoch_day(draws["day"][v]), pa.array([""] * int(v.sum()), pa.string()),
                       ids("S", draws["number"][v], 11), draws["total"][v])

    def _invoices(self, world: World, inst: np.ndarray, day: np.ndarray, application: pa.Array,
                  settlement: pa.Array, amount: np.ndarray) -> None:
        n = inst.size
        number = np.arange(self.next_invoice, self.next_invoice + n)
        self.next_invoice += n
        self.invoices.append(pa.Table.from_arrays([
            ids("INV", number, 10), pa.array(world.inst_codes[inst], pa.string()), pa.array(day, pa.date32()),
            application, settlement, pa.array(amount)], schema=schema.INVOICES))

    def withdrawals(self, world: World, rng: np.random.Generator) -> None:
        """General withdrawal applications of a few persons (no invoices)."""
        who = np.flatnonzero(rng.random(world.n_persons) < WITHDRAWAL_SHARE)
        who = who[world.died_day[who] > 200]
        n = who.size
        application = np.arange(self.next_application, self.next_application + n)
        self.next_application += n
        amount = np.round(rng.lognormal(np.log(200_000), 0.6, n), -2).astype(np.int64)
        approved = np.where(rng.random(n) < 0.9, amount, 0)
        self.applications.append(pa.Table.from_arrays([
            ids("A", application, 9), person_ids(who), pa.array(["withdrawal"] * n, pa.string()),
            pa.array(["general"] * n, pa.string()),
            pa.array(np.where(approved > 0, "approved", "rejected").astype(object), pa.string()),
            pa.array(at_us(rng.integers(0, 190, n), rng.integers(9 * 3600, 17 * 3600, n)), schema.UTC),
            pa.array(amount), pa.array(approved)], schema=schema.APPLICATIONS))


def persons_table(world: World, rng: np.random.Generator) -> pa.Table:
    """The persons: region, birth year, death day when they died in the year."""
    index = np.arange(world.n_persons)
    died = world.died_day <= 365
    died_on = pa.array(np.where(died, epoch_day(np.minimum(world.died_day, 364)), 0), pa.date32(), mask=~died)
    birth = np.clip(rng.normal(1975, 20, world.n_persons), 1930, 2024).astype(np.int32)
    return pa.Table.from_arrays([
        person_ids(index), pa.array(np.full(world.n_persons, HOME_REGION, dtype=object), pa.string()),
        pa.array(birth), died_on, pa.nulls(world.n_persons, pa.date32())], schema=schema.PERSONS)


def bank_accounts_table(world: World, rng: np.random.Generator) -> pa.Table:
    """One bank account per person, linked before the year, by the digest of its number."""
    digests = [digest_of(f"6222{i:015d}") for i in range(world.n_persons)]
    linked = year_start_us() - rng.integers(DAY_S, 5 * 365 * DAY_S, world.n_persons) * US_PER_S
    return pa.Table.from_arrays([
        person_ids(np.arange(world.n_persons)), pa.array(digests, pa.string()), pa.array(linked, schema.UTC),
        pa.nulls(world.n_persons, schema.UTC)], schema=schema.BANK_ACCOUNTS)


def grants_table(world: World) -> pa.Table:
    """The family grants behind the settlements paid from another person's account."""
    grantee = np.flatnonzero(world.grant_owner >= 0)
    n = grantee.size
    relation = np.array(["spouse", "child", "parent"], dtype=object)[grantee % 3]
    return pa.Table.from_arrays([
        ids("G", np.arange(n), 8), person_ids(world.grant_owner[grantee]), person_ids(grantee),
        pa.array(relation, pa.string()), pa.array(["active"] * n, pa.string()),
        pa.array(np.full(n, epoch_day(np.zeros(1))[0] - 200, dtype=np.int32), pa.date32()),
        pa.nulls(n, pa.date32())], schema=schema.GRANTS)


def institutions_table(world: World) -> pa.Table:
    """Every institution: home region, near regions and the few far ones."""
    return pa.Table.from_arrays([
        pa.array(world.inst_codes, pa.string()), pa.array(np.array(KINDS, dtype=object)[world.inst_kind], pa.string()),
        pa.array(world.inst_region, pa.string())], schema=schema.INSTITUTIONS)


def generate(rows: int, out: Path, seed: int = 7, chunk: int = 1_000_000) -> dict[str, int]:
    """Write the data set of about `rows` settlements into `out`; returns each table's row count."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    world = make_world(rows, rng)
    side = SideTables()
    n_chunks = max(1, -(-rows // chunk))
    bounds = np.linspace(0, 365, n_chunks + 1).round().astype(int)
    counts = {}
    written = 0
    with pq.ParquetWriter(out / "settlements.parquet", schema.SETTLEMENTS) as writer:
        for i in range(n_chunks):
            n = rows * int(bounds[i + 1]) // 365 - rows * int(bounds[i]) // 365
            table, draws = settlement_chunk(world, written, n, int(bounds[i]), int(bounds[i + 1]), rng)
            writer.write_table(table)
            written += table.num_rows
            side.add(world, draws, rng)
    counts["settlements"] = written
    side.withdrawals(world, rng)
    tables = {
        "refunds": pa.concat_tables(side.refunds),
        "applications": pa.concat_tables(side.applications),
        "invoices": pa.concat_tables(side.invoices),
        "bank_accounts": bank_accounts_table(world, rng),
        "grants": grants_table(world),
        "persons": persons_table(world, rng),
        "institutions": institutions_table(world),
    }
    for name, table in tables.items():
        pq.write_table(table, out / f"{name}.parquet")
        counts[name] = table.num_rows
    return counts


def main() -> None:
    """Command line: generate a data set and print the row counts and the time taken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = generate(args.rows, args.out, args.seed, args.chunk)
    elapsed = time.perf_counter() - started
    for name, count in counts.items():
        print(f"{name:>14} {count:>12,}")
    print(f"generated in {elapsed:.1f} s ({counts['settlements'] / elapsed:,.0f} settlements/s)")


if __name__ == "__main__":
    main()
