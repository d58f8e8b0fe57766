"""The settlements a what-if replays, read from the operational database (read only) as column arrays.

One function, `load_settlements`, so that the analytics export can take its place: the columns are those of the
data set's settlements table, with what the categories covered and the balances the payments drew on.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yibao.analytics.simulate import Settlements, Text
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


_TEXT = ("institution_code", "institution_kind", "institution_region", "owner_id", "owner_region", "limited_by")
_READ = ("settlement_id", "at", "business_date", *_TEXT, "total_fen", "account_paid_fen", "cash_fen", "emergency",
         "refunded_fen", "covered_fen")


def _numbers(column, dtype) -> np.ndarray:
    return column.to_numpy().astype(dtype, copy=False)


def from_dataset(folder, region: str, date_from: dt.date, date_to: dt.date) -> Settlements:
    """The same columns read from the analytics data set's Parquet files (settlements.parquet, refunds.parquet).

    The data set keeps no balances, so the balance does not limit here; what the categories covered is its
    nullable covered_fen column where present, else the total, or what the account paid when a category was not
    covered (exact unless another limit applied too). The strings stay in Arrow, dictionary-encoded as Parquet
    stores them (the owners' ids hashed into codes once); a file already in time order (as the export and the
    generator write it) is not sorted again."""
    folder = Path(folder)
    path = folder / "settlements.parquet"
    present = set(pq.read_schema(path).names)
    # few distinct values: Parquet's own dictionaries; the owners (as many as a tenth of the rows): hashed once
    table = pq.read_table(path, columns=[c for c in _READ if c in present],
                          read_dictionary=[c for c in _TEXT if c != "owner_id"])
    table = table.set_column(table.schema.get_field_index("owner_id"), "owner_id",
                             table["owner_id"].combine_chunks().dictionary_encode())
    days = _numbers(table["business_date"], "datetime64[D]")
    regions, names = Text(table["owner_region"]).codes()
    keep = ((days >= np.datetime64(date_from, "D")) & (days <= np.datetime64(date_to, "D"))
            & pc.starts_with(names.cast(pa.string()), prefix(region)).to_numpy(zero_copy_only=False)[regions])
    if not keep.all():
        table = table.filter(pa.array(keep))
    moments = _numbers(table["at"], "datetime64[us]")
    if len(moments) > 1 and not bool((moments[1:] >= moments[:-1]).all()):
        table = table.take(pa.array(np.argsort(moments, kind="stable")))
        moments = _numbers(table["at"], "datetime64[us]")
    text = {name: Text(table[name]) for name in _TEXT}
    total, paid = _numbers(table["total_fen"], np.int64), _numbers(table["account_paid_fen"], np.int64)
    flags, flag_names = text["limited_by"].codes()
    not_covered = pc.match_substring(flag_names.cast(pa.string()), "category.not_covered").to_numpy(
        zero_copy_only=False)[flags]
    covered = np.where(not_covered, paid, total)
    if "covered_fen" in table.column_names:
        given = table["covered_fen"]
        covered = np.where(given.is_valid().to_numpy(zero_copy_only=False),
                           given.fill_null(0).to_numpy(zero_copy_only=False), covered).astype(np.int64)
    return Settlements(
        settlement_id=Text(table["settlement_id"]), at=moments, business_date=_numbers(table["business_date"],
                                                                                       "datetime64[D]"),
        institution_code=text["institution_code"], institution_kind=text["institution_kind"],
        institution_region=text["institution_region"], owner_id=text["owner_id"], owner_region=text["owner_region"],
        total_fen=total, covered_fen=covered, account_paid_fen=paid, cash_fen=_numbers(table["cash_fen"], np.int64),
        emergency=_numbers(table["emergency"], bool), limited_by=text["limited_by"],
        refunds=_refunds(folder / "refunds.parquet", table))


def _refunds(path: Path, table) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The refunds of the chosen settlements: (settlement's row, at, amount_fen). Only settlements whose
    refunded_fen says they were refunded are looked for, when the file has that column."""
    if not path.exists() or not table.num_rows:
        return None
    rows = np.arange(table.num_rows)
    if "refunded_fen" in table.column_names:
        rows = np.flatnonzero(table["refunded_fen"].fill_null(0).to_numpy() > 0)
    ids = table["settlement_id"].take(pa.array(rows)) if len(rows) < table.num_rows else table["settlement_id"]
    found = pq.read_table(path, columns=["settlement_id", "at", "amount_fen"])
    position = pc.index_in(found["settlement_id"], value_set=ids.combine_chunks())
    found = found.filter(position.is_valid())
    position = rows[position.drop_null().to_numpy(zero_copy_only=False).astype(np.int64)]
    return (position, _numbers(found["at"], "datetime64[us]"), _numbers(found["amount_fen"], np.int64))
