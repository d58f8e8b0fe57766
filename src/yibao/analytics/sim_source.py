"""The settlements a what-if replays, read from the operational database (read only) as column arrays.

One function, `load_settlements`, so that the analytics export can take its place: the columns are those of the
data set's settlements table, with what the categories covered and the balances the payments drew on.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yibao.analytics.simulate import Settlements
from yibao.domain.regions import prefix, within
from yibao.domain.registry import Institution, Person
from yibao.domain.settlement import Refund, Settlement
from yibao.ledger import accounts as acct

_UTC = dt.UTC


def _utc(moment: dt.datetime) -> np.datetime64:
    if moment.tzinfo is not None:
        moment = moment.astimezone(_UTC).replace(tzinfo=None)
    return np.datetime64(moment, "us")


def load_settlements(ctx, region: str, date_from: dt.date, date_to: dt.date) -> Settlements:
    """The settlements paid from the accounts of persons insured in `region` (a code, or a prefix's region) on
    business days date_from..date_to, oldest first, with their refunds, each owner's balance before the period
    and the other movements of the accounts in the period (credits, payouts) in time order."""
    with ctx.uow() as uow:
        found = [s for s in uow.all_by(Settlement, "at")
                 if date_from <= s.business_date <= date_to and s.account_paid_fen + s.cash_fen > 0]
        persons = {p.id: p for p in (uow.get(Person, i) for i in sorted({s.owner_id for s in found})) if p}
        chosen = [s for s in found if s.owner_id in persons and within(region, persons[s.owner_id].region)]
        institutions = {i.code: i for i in uow.all_by(Institution)} if chosen else {}
        owners = sorted({s.owner_id for s in chosen})
        entries = {s.entry_id for s in chosen}
        index = {s.id: i for i, s in enumerate(chosen)}
        refunds = [r for s in chosen for r in uow.all_by(Refund, "at", settlement_id=s.id)]
        entries |= {r.entry_id for r in refunds}
        opening, moves = {}, []
        for owner in owners:
            before, lines = uow.ledger.account_lines(acct.personal(owner), date_from=date_from, date_to=date_to,
                                                     limit=1_000_000)
            opening[owner] = before
            moves += [(owner, line.at, line.amount_fen) for line in lines
                      if line.id not in entries and line.amount_fen]
    return _columns(chosen, persons, institutions, opening, moves,
                    [(index[r.settlement_id], r.at, r.amount_fen) for r in refunds])


def _columns(chosen: list[Settlement], persons: dict, institutions: dict, opening: dict,
             moves: list[tuple], refunds: list[tuple]) -> Settlements:
    def column(values, dtype=object) -> np.ndarray:
        return np.array(list(values), dtype=dtype)

    def covered(s: Settlement) -> int:
        items = s.items or []
        if items and all("covered" in item for item in items):
            return sum(item["amount_fen"] for item in items if item["covered"])
        return s.total_fen

    inst = [institutions.get(s.institution_code) for s in chosen]
    return Settlements(
        settlement_id=column(s.id for s in chosen),
        at=column((_utc(s.at) for s in chosen), "datetime64[us]"),
        business_date=column((np.datetime64(s.business_date, "D") for s in chosen), "datetime64[D]"),
        institution_code=column(s.institution_code for s in chosen),
        institution_kind=column(i.kind if i else "" for i in inst),
        institution_region=column(i.region if i else "" for i in inst),
        owner_id=column(s.owner_id for s in chosen),
        owner_region=column(persons[s.owner_id].region for s in chosen),
        total_fen=column((s.total_fen for s in chosen), np.int64),
        covered_fen=column((covered(s) for s in chosen), np.int64),
        account_paid_fen=column((s.account_paid_fen for s in chosen), np.int64),
        cash_fen=column((s.cash_fen for s in chosen), np.int64),
        emergency=column((bool(s.emergency) for s in chosen), bool),
        limited_by=column(",".join((s.decision or {}).get("limited_by", [])) for s in chosen),
        refunds=(column((r[0] for r in refunds), np.int64), column((_utc(r[1]) for r in refunds), "datetime64[us]"),
                 column((r[2] for r in refunds), np.int64)),
        opening_fen=opening,
        credits=(column(m[0] for m in moves), column((_utc(m[1]) for m in moves), "datetime64[us]"),
                 column((m[2] for m in moves), np.int64)),
    )


def from_dataset(folder, region: str, date_from: dt.date, date_to: dt.date) -> Settlements:
    """The same columns read from the analytics data set's Parquet files (settlements.parquet, refunds.parquet).

    The data set keeps no balances, so the balance does not limit here; what the categories covered is its
    nullable covered_fen column where present, else the total, or what the account paid when a category was not
    covered (exact unless another limit applied too)."""
    folder = Path(folder)
    table = pq.read_table(folder / "settlements.parquet")
    keep = pc.and_(pc.and_(pc.greater_equal(table["business_date"], date_from),
                           pc.less_equal(table["business_date"], date_to)),
                   pc.starts_with(table["owner_region"], prefix(region)))
    table = table.filter(keep).sort_by([("at", "ascending")])

    def col(name: str, dtype=None) -> np.ndarray:
        values = table[name].to_numpy(zero_copy_only=False)
        return values.astype(dtype) if dtype is not None else values

    limited = col("limited_by").astype(object)
    total, paid = col("total_fen", np.int64), col("account_paid_fen", np.int64)
    not_covered = np.array(["category.not_covered" in str(x) for x in limited], dtype=bool)
    covered = np.where(not_covered, paid, total)
    if "covered_fen" in table.column_names:
        given = table["covered_fen"]
        covered = np.where(given.is_valid().to_numpy(zero_copy_only=False),
                           given.fill_null(0).to_numpy(zero_copy_only=False), covered).astype(np.int64)
    refunds = None
    if (folder / "refunds.parquet").exists() and table.num_rows:
        found = pq.read_table(folder / "refunds.parquet")
        position = pc.index_in(found["settlement_id"], value_set=table["settlement_id"])
        found = found.filter(position.is_valid())
        position = position.drop_null().to_numpy(zero_copy_only=False).astype(np.int64)
        refunds = (position, found["at"].to_numpy(zero_copy_only=False).astype("datetime64[us]"),
                   found["amount_fen"].to_numpy(zero_copy_only=False).astype(np.int64))
    return Settlements(
        settlement_id=col("settlement_id").astype(object), at=col("at").astype("datetime64[us]"),
        business_date=col("business_date").astype("datetime64[D]"),
        institution_code=col("institution_code").astype(object), institution_kind=col("institution_kind").astype(object),
        institution_region=col("institution_region").astype(object), owner_id=col("owner_id").astype(object),
        owner_region=col("owner_region").astype(object), total_fen=total, covered_fen=covered, account_paid_fen=paid,
        cash_fen=col("cash_fen", np.int64), emergency=col("emergency", bool), limited_by=limited, refunds=refunds)
