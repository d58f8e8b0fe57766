"""Policy what-if: the recorded settlements of a region re-decided under a proposed policy file, vectorised.

The figures of each settlement's limits come from the policy engine once per distinct (insured region, institution
region and kind, scheme, emergency, day): the same rules the scalar decision reads. The running totals (per
institution per day, per day, per year, the day's count of payments and the balance) are carried per person in
time order, all persons at once: step k re-decides the k-th event of every person with NumPy, so the loop runs
over the longest person's history, never over settlements.

The preparation works on integer codes only: string columns arrive dictionary-encoded from Arrow (`Text`), the
orders are counting sorts on 16-bit digits, an input already in time order is not sorted again, and every
period's running total is numbered by one pass along the per-person order.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yibao.policy.engine import Engine
from yibao.policy.interface import RefundFacts, SettleFacts
from yibao.policy.loader import PolicySet, load_files
from yibao.policy.schema import LIMITS

NO_LIMIT = np.iinfo(np.int64).max // 4  # a limit no total reaches
_LIMIT_INDEX = {kind: i for i, kind in enumerate(LIMITS)}
# what kept the account from paying it all, in the order the scalar decision names it
_FLAGS = ("category.not_covered", *(f"limit.{kind}" for kind in LIMITS), "balance.insufficient")
_RUNNING = ("institution_daily", "daily", "yearly", "daily_count")  # the limits with a running total
_DIGIT = 16  # bits a counting-sort pass orders at once


class Text:
    """A column of strings kept in Arrow (plain or dictionary-encoded): integer codes without Python objects, and
    Python strings only for the rows asked for. Indexing and astype answer as a NumPy object array would."""

    dtype = np.dtype(object)

    def __init__(self, array: pa.Array | pa.ChunkedArray):
        if isinstance(array, pa.ChunkedArray):
            if pa.types.is_dictionary(array.type):
                array = array.unify_dictionaries()
            array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    def __getitem__(self, index):
        if isinstance(index, int | np.integer):
            value = self.array[int(index)].as_py()
            return "" if value is None else value
        if isinstance(index, slice):
            return _objects(self.array[index])
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return _objects(self.array.take(pa.array(index.astype(np.int64))))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        values = _objects(self.array)
        return values if dtype is None else values.astype(dtype)

    def __iter__(self):
        return iter(_objects(self.array).tolist())

    def astype(self, dtype) -> np.ndarray:
        """The strings as a NumPy array of dtype."""
        return np.asarray(self).astype(dtype)

    def codes(self) -> tuple[np.ndarray, pa.Array]:
        """A code per row and the distinct strings by code (the dictionary's, when the column has one)."""
        encoded = self.array if pa.types.is_dictionary(self.array.type) else self.array.dictionary_encode()
        indices = encoded.indices
        if indices.null_count:
            indices = pc.fill_null(indices, len(encoded.dictionary))
            return indices.to_numpy().astype(np.int64), pa.concat_arrays([encoded.dictionary,
                                                                           pa.array([""], encoded.dictionary.type)])
        return indices.to_numpy().astype(np.int64), encoded.dictionary


def _objects(array: pa.Array) -> np.ndarray:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return pc.fill_null(array, "").to_numpy(zero_copy_only=False).astype(object)


@dataclass
class Settlements:
    """The settlements to re-decide, as column arrays (one element per settlement), and the balances they draw on.

    `covered_fen` is what the categories covered (the total unless a category was not covered); `refunds` the
    refunds of these settlements (the settlement's index, at, amount_fen); `opening_fen` is each owner's balance
    before the period (absent: the balance does not limit), `credits` the account's other movements in the
    period as (owner_id, at, amount_fen) arrays. A string column is a NumPy array or a `Text`."""

    settlement_id: np.ndarray
    at: np.ndarray  # datetime64[us], UTC
    business_date: np.ndarray  # datetime64[D]
    institution_code: np.ndarray
    institution_kind: np.ndarray
    institution_region: np.ndarray
    owner_id: np.ndarray
    owner_region: np.ndarray
    total_fen: np.ndarray
    covered_fen: np.ndarray
    account_paid_fen: np.ndarray
    cash_fen: np.ndarray
    emergency: np.ndarray
    limited_by: np.ndarray  # the recorded flags, comma-separated
    scheme: np.ndarray | None = None
    refunds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # settlement row, at, amount_fen
    opening_fen: Mapping[str, int] | None = None
    credits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    allowed: np.ndarray | None = None  # whether each went through as recorded (None: all did, as recorded ones do)

    def __len__(self) -> int:
        return len(self.settlement_id)


@dataclass
class Outcome:
    """Each settlement re-decided: what the account pays, cash, whether allowed and what limited it."""

    settlements: Settlements
    account_fen: np.ndarray
    cash_fen: np.ndarray
    allowed: np.ndarray
    flags: np.ndarray  # bool, one column per _FLAGS entry
    extra: dict = field(default_factory=dict)

    def limited_by(self, i: int) -> str:
        """The flags of settlement i, as the data set writes them."""
        return ",".join(name for name, on in zip(_FLAGS, self.flags[i], strict=True) if on)

    def all_limited_by(self) -> np.ndarray:
        """The flags of every settlement as the data set writes them (one string per distinct combination)."""
        if not len(self.account_fen):
            return np.zeros(0, dtype=object)
        combination = self.flags.astype(np.int64) @ (1 << np.arange(len(_FLAGS), dtype=np.int64))
        distinct, inverse = np.unique(combination, return_inverse=True)
        names = np.array([",".join(name for k, name in enumerate(_FLAGS) if int(c) >> k & 1) for c in distinct],
                         dtype=object)
        return names[inverse.reshape(-1)]

    @property
    def changed(self) -> np.ndarray:
        """Which settlements are decided otherwise than recorded (amounts, or allowed where recorded otherwise)."""
        s = self.settlements
        recorded = s.allowed if s.allowed is not None else True
        return (self.account_fen != s.account_paid_fen) | (self.allowed != recorded)


def candidate_set(current: PolicySet, region: str, file_name: str, data: bytes) -> PolicySet:
    """The policy set in force with one proposed YAML file put in the region's folder (checked as a load is)."""
    folder = next((name.partition("/")[0] for name in current.files if name.split("-", 1)[0] == region), None)
    if folder is None:
        raise LookupError("no policy folder for the region")
    files = dict(current.files)
    files.pop(f"{folder}/", None)
    stem = Path(file_name).name.removesuffix(".yml").removesuffix(".yaml")
    files[f"{folder}/{stem}.yaml"] = data
    return load_files(files)


# --- integer codes ----------------------------------------------------------------------------------------


def _codes(column) -> tuple[np.ndarray, object]:
    """A code per row of a column and its distinct values by code (a Text's dictionary, hashed for strings)."""
    if isinstance(column, Text):
        return column.codes()
    if column.dtype.kind in "OUS":
        encoded = pa.array(column.astype(object) if column.dtype.kind != "O" else column).dictionary_encode()
        return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary
    if column.dtype == bool:
        return column.astype(np.int64), np.array([False, True])
    values, inverse = np.unique(column, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), values


def _dense(combined: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes below `size` made dense (0..k-1), and one row holding each."""
    n = len(combined)
    if size <= max(4 * n, 1 << 20):
        present = np.bincount(combined, minlength=size) > 0
        dense = (np.cumsum(present) - 1)[combined]
        row = np.zeros(int(present.sum()), dtype=np.int64)
        row[dense] = np.arange(n)  # any row of a key serves: a key's rows share its facts
        return dense, row
    _, row, dense = np.unique(combined, return_index=True, return_inverse=True)
    return dense.reshape(-1), row


def _combine(parts: list[tuple[np.ndarray, int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """A dense key per distinct combination of (codes, how many) parts, and one row of each key."""
    combined, size = np.zeros(n, dtype=np.int64), 1
    for codes, count in parts:
        if size * max(count, 1) >= 1 << 62:
            combined, row = _dense(combined, size)
            size = len(row)
        combined = combined * max(count, 1) + codes
        size *= max(count, 1)
    return _dense(combined, size)


def _stable_order(values: np.ndarray, size: int) -> np.ndarray:
    """The stable order of non-negative integers below `size`: counting sorts of 16-bit digits, lowest first."""
    order, shift = None, 0
    while True:
        digits = (((values if order is None else values[order]) >> shift) & 0xFFFF).astype(np.uint16)
        step = np.argsort(digits, kind="stable")
        order = step if order is None else order[step]
        shift += _DIGIT
        if size <= 1 << shift:
            return order


def _time_order(at: np.ndarray) -> np.ndarray | None:
    """The stable order of moments, or None when they are in order already."""
    moments = np.asarray(at).astype("datetime64[us]", copy=False).view(np.int64)
    if len(moments) < 2 or bool((moments[1:] >= moments[:-1]).all()):
        return None
    return np.argsort(moments, kind="stable")


def _runs(*columns: np.ndarray) -> np.ndarray:
    """Along rows already grouped, a dense id that moves on whenever any column's value changes."""
    change = np.zeros(len(columns[0]), dtype=bool)
    if len(change):
        change[0] = True
        for column in columns:
            change[1:] |= column[1:] != column[:-1]
    return np.cumsum(change) - 1


def _within_runs(run: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Along rows grouped into runs, a dense id per distinct (run, value): each row is matched with the first row
    of its run holding the same value, comparing each row with those 1, 2, ... rows before it in the run."""
    n = len(run)
    position = np.arange(n)
    if not n:
        return position
    starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    in_run = position - np.repeat(starts, np.diff(np.r_[starts, n]))
    first = position.copy()
    rows, lag = np.flatnonzero(in_run >= 1), 1
    while len(rows):
        same = value[rows - lag] == value[rows]
        first[rows[same]] = rows[same] - lag  # a longer lag comes later and finds an earlier row
        lag += 1
        rows = rows[in_run[rows] >= lag]
    return (np.cumsum(first == position) - 1)[first]


# --- the limits of each settlement, from the rules -------------------------------------------------------


def change_days(policy_set: PolicySet) -> np.ndarray:
    """Every day on which a rule's version or a parameter's value takes effect, sorted: between two of them
    every decision is the same as on the first."""
    days = {d for region in policy_set.regions.values()
            for item in (*region.rules.values(), *region.parameters.values()) for d in item.dates}
    return np.array(sorted(days), dtype="datetime64[D]")


def _as_decided(policy_set: PolicySet, days: np.ndarray) -> np.ndarray:
    """Each day as the latest change day on or before it (the day before the first, when earlier)."""
    changes = change_days(policy_set)
    if not len(changes):
        return days
    i = np.searchsorted(changes, days, side="right") - 1
    return np.where(i >= 0, changes[np.maximum(i, 0)], changes[0] - np.timedelta64(1, "D"))


def _day(value: np.datetime64) -> dt.date:
    return dt.date.fromisoformat(str(value.astype("datetime64[D]")))


class _Columns:
    """The settlements' columns as integer codes, each computed once; days as offsets from the first day."""

    def __init__(self, policy_set: PolicySet, s: Settlements):
        self.s, self.n = s, len(s)
        days = np.asarray(s.business_date).astype("datetime64[D]", copy=False).view(np.int64)
        self.first_day = int(days.min()) if self.n else 0
        self.day = days - self.first_day
        span = (np.arange(int(self.day.max()) + 1 if self.n else 0) + self.first_day).astype("datetime64[D]")
        self.year_of_day = span.astype("datetime64[Y]").view(np.int64)
        self.decided_days, self.decided_of_day = np.unique(_as_decided(policy_set, span), return_inverse=True)

    def code(self, name: str) -> tuple[np.ndarray, object]:
        """The codes of one column and its values by code."""
        if name not in self.__dict__:
            column = getattr(self.s, name)
            if column is None:
                self.__dict__[name] = (np.zeros(self.n, dtype=np.int64), np.array([""], dtype=object))
            else:
                self.__dict__[name] = _codes(column)
        return self.__dict__[name]

    def parts(self, *names: str) -> list[tuple[np.ndarray, int]]:
        return [(codes, len(values)) for codes, values in (self.code(name) for name in names)]

    @cached_property
    def facts_key(self) -> tuple[np.ndarray, np.ndarray]:
        """Each settlement's key of the facts its limits depend on, and one row of each key."""
        decided = self.decided_of_day.reshape(-1)[self.day]
        return _combine([*self.parts("owner_region", "institution_region", "institution_kind", "scheme"),
                         (self.s.emergency.astype(np.int64), 2), (decided, len(self.decided_days))], self.n)


def _lookup_day(columns: _Columns, row: int) -> dt.date:
    return _day(columns.decided_days[columns.decided_of_day.reshape(-1)[columns.day[row]]])


def limits_of(engine: Engine, s: Settlements) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per settlement: the limits in force (one column per LIMITS kind; NO_LIMIT where none), whether reaching each
    refuses the payment, and whether the payment is refused outright (e.g. cross-region where no rule allows it)."""
    inverse, limits, refuses, blocked = limit_table(engine, s)
    return limits[inverse], refuses[inverse], blocked[inverse]


def limit_table(engine: Engine, s: Settlements) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """limits_of as a table: each settlement's row in it, then per distinct facts and change day the limits,
    whether reaching each refuses, and whether the payment is refused outright. A recorded settlement went
    through, so a cross-region one is taken as filed (the data set does not say)."""
    return _limit_table(engine, _Columns(engine.policy_set, s))


def _limit_table(engine: Engine, columns: _Columns):
    s = columns.s
    key, rows = columns.facts_key
    limits = np.full((len(rows), len(LIMITS)), NO_LIMIT, dtype=np.int64)
    refuses = np.zeros((len(rows), len(LIMITS)), dtype=bool)
    blocked = np.zeros(len(rows), dtype=bool)
    for k, row in enumerate(rows.tolist()):
        scheme = (str(s.scheme[row]) or None) if s.scheme is not None else None
        facts = SettleFacts(region=str(s.owner_region[row]), institution_region=str(s.institution_region[row]),
                            institution_kind=str(s.institution_kind[row]), items=(), has_filing=True,
                            emergency=bool(s.emergency[row]), scheme=scheme)
        decision = engine.decide(facts, _lookup_day(columns, row))
        if not decision.allowed:
            blocked[k] = True
            continue
        for kind, figures in decision.details.get("limits", {}).items():
            limits[k, _LIMIT_INDEX[kind]] = figures["limit"]
            refuses[k, _LIMIT_INDEX[kind]] = figures["on_reach"] == "refuse"
    return key, limits, refuses, blocked


def refunds_restore(engine: Engine, s: Settlements) -> np.ndarray:
    """Per refund: whether it gives its settlement's quota back (the rule in force on the refund's day)."""
    return _refunds_restore(engine, _Columns(engine.policy_set, s))


def _refunds_restore(engine: Engine, columns: _Columns) -> np.ndarray:
    s = columns.s
    if s.refunds is None or not len(s.refunds[0]):
        return np.zeros(0, dtype=bool)
    rows, at, _ = s.refunds
    days = _as_decided(engine.policy_set, (at.astype("datetime64[us]") + np.timedelta64(8, "h"))
                       .astype("datetime64[D]"))  # the refund's day in China
    day_codes, distinct_days = _codes(days.view(np.int64))
    (region, n_region), (kind, n_kind) = columns.parts("owner_region", "institution_kind")
    key, first = _combine([(region[rows], n_region), (kind[rows], n_kind), (day_codes, len(distinct_days))],
                          len(rows))
    answers = np.array([engine.decide(RefundFacts(region=str(s.owner_region[rows[i]]),
                                                  institution_kind=str(s.institution_kind[rows[i]])),
                                      _day(days[i])).details["restores_quota"] for i in first.tolist()], dtype=bool)
    return answers[key]


# --- the events in the order they are re-decided ----------------------------------------------------------

THREADS = max(1, min(4, os.cpu_count() or 1))  # blocks re-decided side by side, one per core
BLOCK_ROWS = 1 << 18  # settlements re-decided together: the owners are cut into blocks of about this many


def _merged(major_at: np.ndarray, minor_at: np.ndarray, before: bool) -> np.ndarray:
    """Where each of a sorted minor list goes among a sorted major list merged with it: before the major events of
    the same moment, or after them."""
    return np.searchsorted(major_at, minor_at, side="left" if before else "right") + np.arange(len(minor_at))


def _merge(major: list[np.ndarray], minor: list[np.ndarray], before: bool) -> list[np.ndarray]:
    """Two lists of events (moments first, then the other columns), each in time order, merged in time order."""
    if not len(minor[0]):
        return major
    place = _merged(major[0], minor[0], before)
    rest = np.ones(len(major[0]) + len(place), dtype=bool)
    rest[place] = False
    merged = []
    for big, small in zip(major, minor, strict=True):
        column = np.empty(len(rest), dtype=np.result_type(big, small))
        column[place], column[rest] = small, big
        merged.append(column)
    return merged


@dataclass
class _Prepared:
    """What the step loop reads, for all settlements: integer columns, the limits per facts key, the credits and
    refunds in time order, and each owner's balance (None: the balance does not limit)."""

    at: np.ndarray  # int64 microseconds
    owner: np.ndarray
    day: np.ndarray  # days from the first
    year_of_day: np.ndarray
    institution: np.ndarray
    key: np.ndarray
    covered: np.ndarray
    limits: np.ndarray
    refuses: np.ndarray
    blocked: np.ndarray
    balance: np.ndarray | None
    credit_owner: np.ndarray  # the credits of known owners, in time order
    credit_at: np.ndarray
    credit_amount: np.ndarray
    refund_row: np.ndarray  # the refunds in time order
    refund_at: np.ndarray
    refund_amount: np.ndarray
    refund_restores: np.ndarray


def _prepare(engine: Engine, s: Settlements) -> _Prepared:
    columns = _Columns(engine.policy_set, s)
    key, limits, refuses, blocked = _limit_table(engine, columns)
    owner, owner_names = columns.code("owner_id")
    balance, empty = None, np.zeros(0, dtype=np.int64)
    credit = (empty, empty, empty)
    if s.opening_fen is not None:
        names = owner_names.to_pylist() if isinstance(owner_names, pa.Array) else list(owner_names)
        balance = np.array([int(s.opening_fen.get(p, 0)) for p in names], dtype=np.int64)
        if s.credits is not None and len(s.credits[0]):
            c_owner, c_at, c_amount = s.credits
            known = pa.array(names) if not isinstance(owner_names, pa.Array) else owner_names
            given = c_owner.array if isinstance(c_owner, Text) else pa.array(np.asarray(c_owner, dtype=object))
            if pa.types.is_dictionary(given.type):
                given = given.dictionary_decode()
            found = pc.index_in(given.cast(known.type), value_set=known)
            valid = found.is_valid().to_numpy(zero_copy_only=False)
            moments, order = _sorted(np.asarray(c_at)[valid])
            credit = (found.drop_null().to_numpy().astype(np.int64)[order], moments,
                      np.asarray(c_amount)[valid].astype(np.int64)[order])
    refund = (empty, empty, empty, np.zeros(0, dtype=bool))
    if s.refunds is not None and len(s.refunds[0]):
        moments, order = _sorted(s.refunds[1])
        refund = (np.asarray(s.refunds[0]).astype(np.int64)[order], moments,
                  np.asarray(s.refunds[2]).astype(np.int64)[order], _refunds_restore(engine, columns)[order])
    at = np.asarray(s.at).astype("datetime64[us]", copy=False).view(np.int64)
    return _Prepared(at, owner, columns.day, columns.year_of_day,
                     columns.code("institution_code")[0], key, np.where(blocked[key], 0, s.covered_fen), limits,
                     refuses, blocked, balance, *credit, *refund)


def _sorted(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A list's moments (int64 microseconds) in time order, and that order."""
    moments = np.asarray(at).astype("datetime64[us]", copy=False).view(np.int64)
    order = _time_order(at)
    order = np.arange(len(moments)) if order is None else order
    return moments[order], order


def _blocks(owner: np.ndarray, first: int, size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The stable order of rows by block of owners (codes first.. cut into `count` ranges), and each block's
    bounds in it."""
    block = (owner - first) * count // max(size, 1)
    order = _stable_order(block, count)
    return order, np.searchsorted(block[order], np.arange(count + 1))


def _by_step(rank: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The order by step (owners ascending within one, as given) and where each step begins and ends."""
    order = _stable_order(rank, max(steps, 1))
    return order, np.searchsorted(rank[order], np.arange(steps + 1))


# --- the re-decision -----------------------------------------------------------------------------------


def redecide(engine: Engine, s: Settlements) -> Outcome:
    """Re-decide every settlement under the engine's rules, in time order per owner, vectorised across owners:
    step k decides the k-th event of every owner at once, each step a contiguous slice of prepared columns.
    Owners never share a running total, so they are re-decided in blocks that stay in the processor's caches."""
    n = len(s)
    t = _prepare(engine, s)
    account = np.zeros(n, dtype=np.int64)
    hits = np.zeros((len(LIMITS) + 1, n), dtype=bool)  # which limit cut each payment; the last row: the balance
    refused = np.zeros(n, dtype=bool)
    step_of_row = np.zeros(n, dtype=np.int64) if len(t.refund_row) else None
    s_order = _time_order(s.at)
    s_rows = np.arange(n) if s_order is None else s_order
    first = int(t.owner.min()) if n else 0
    size = int(t.owner.max()) + 1 - first if n else 0
    count = max(1, -(-n // BLOCK_ROWS))
    s_block, s_bounds = _blocks(t.owner[s_rows], first, size, count)
    c_block, c_bounds = _blocks(t.credit_owner, first, size, count)
    r_block, r_bounds = _blocks(t.owner[t.refund_row], first, size, count)

    def block(b: int) -> None:
        rows = s_rows[s_block[s_bounds[b]:s_bounds[b + 1]]]
        if len(rows):
            _redecide_block(t, rows, c_block[c_bounds[b]:c_bounds[b + 1]], r_block[r_bounds[b]:r_bounds[b + 1]],
                            account, hits, refused, step_of_row)

    if count > 1 and THREADS > 1:  # the blocks write disjoint rows: NumPy works on them side by side
        with ThreadPoolExecutor(min(THREADS, count)) as pool:
            list(pool.map(block, range(count)))
    else:
        for b in range(count):
            block(b)
    allowed = ~t.blocked[t.key] & ~refused
    bits = (s.covered_fen < s.total_fen).view(np.uint8)  # bit i: _FLAGS[i]
    for i, row in enumerate(hits, start=1):
        bits |= row.view(np.uint8) << i
    flags = np.unpackbits(bits[:, None], axis=1, bitorder="little")[:, :len(_FLAGS)].view(bool)
    total = s.total_fen.astype(np.int64)
    cash = np.where(allowed, total - account, total)
    return Outcome(s, account, cash, allowed, flags)


def _redecide_block(t: _Prepared, rows: np.ndarray, credits: np.ndarray, refunds: np.ndarray, account: np.ndarray,
                    hits: np.ndarray, refused: np.ndarray, step_of_row: np.ndarray) -> None:
    """Re-decide the settlements `rows` (in time order) of a block of owners, with the block's credits and refunds
    (indexes in time order): what the account pays, the limits that cut it and the refusals go to the outputs;
    step_of_row is room for each settlement's place in the block's step order."""
    n = len(rows)
    # the events in time order: at the same moment a credit, then a refund, then a settlement
    minor = _merge([t.credit_at[credits], t.credit_owner[credits], np.zeros(len(credits), dtype=np.int8),
                    np.arange(len(credits))],
                   [t.refund_at[refunds], t.owner[t.refund_row[refunds]], np.ones(len(refunds), dtype=np.int8),
                    np.arange(len(refunds))], before=False)
    _, e_owner, e_kind, e_index = _merge([t.at[rows], t.owner[rows], np.full(n, 2, dtype=np.int8), np.arange(n)],
                                         minor, before=True)
    # ... per owner (codes from the block's first), by a stable counting sort
    first = int(e_owner.min())
    per_owner = _stable_order(e_owner - first, int(e_owner.max()) + 1 - first)
    o_owner, o_kind, o_index = e_owner[per_owner], e_kind[per_owner], e_index[per_owner]
    m = len(o_owner)
    starts = np.flatnonzero(np.r_[True, o_owner[1:] != o_owner[:-1]])
    rank = np.arange(m) - np.repeat(starts, np.diff(np.r_[starts, m]))
    steps = int(rank.max()) + 1

    # the settlements per owner in time order: their periods' running totals numbered in one pass
    settled = o_kind == 2
    local, s_owner, s_rank = o_index[settled], o_owner[settled], rank[settled]
    day = t.day[rows[local]]
    owner_day = _runs(s_owner, day)
    owner_year = _runs(s_owner, t.year_of_day[day])
    inst_day = _within_runs(owner_day, t.institution[rows[local]])
    # ... then by step: every array below is in that order
    order, s_bounds = _by_step(s_rank, steps)
    row, p_owner = rows[local[order]], s_owner[order]
    gd, gy, gi = owner_day[order], owner_year[order], inst_day[order]
    p_key = t.key[row]
    # a payment uses only the quotas of the limits in force for it (a limit begun later does not count it)
    in_force = t.limits < NO_LIMIT
    limit_of = [np.ascontiguousarray(t.limits[:, j]) for j in range(len(LIMITS))]
    refuses_of = [np.ascontiguousarray(t.refuses[:, j]) for j in range(len(LIMITS))]
    counts_of = [np.ascontiguousarray(in_force[:, j]) for j in range(len(LIMITS))]
    everywhere = [bool(c.all()) for c in counts_of]
    running = [_LIMIT_INDEX[kind] for kind in _RUNNING if in_force[:, _LIMIT_INDEX[kind]].any()]
    refusing = {j for j in running if t.refuses[:, j].any()}
    # the per-payment cap carries no total: all at once, before the limits that do
    cap = _LIMIT_INDEX["per_transaction"]
    p_hits = np.zeros((len(LIMITS) + 1, n), dtype=bool)
    p_covered = t.covered[row]
    np.greater(p_covered, limit_of[cap][p_key], out=p_hits[cap])
    p_covered = np.minimum(p_covered, limit_of[cap][p_key])
    p_refused = p_hits[cap] & refuses_of[cap][p_key]
    used = {"institution_daily": np.zeros(int(gi.max()) + 1, dtype=np.int64),
            "daily": np.zeros(int(gd.max()) + 1, dtype=np.int64), "yearly": np.zeros(int(gy.max()) + 1, np.int64)}
    used["daily_count"] = np.zeros_like(used["daily"])
    period = {"institution_daily": gi, "daily": gd, "yearly": gy, "daily_count": gd}

    credit_events = o_kind == 0
    c_order, c_bounds = _by_step(rank[credit_events], steps)
    c_index = credits[o_index[credit_events][c_order]]
    c_owner, c_amount = t.credit_owner[c_index], t.credit_amount[c_index]
    refund_events = o_kind == 1
    r_order, r_bounds = _by_step(rank[refund_events], steps)
    r_index = refunds[o_index[refund_events][r_order]]
    if len(r_index):
        step_of_row[row] = np.arange(n)  # where each settlement is in step order
        r_pos = step_of_row[t.refund_row[r_index]]
        r_owner, r_amount = t.owner[t.refund_row[r_index]], t.refund_amount[r_index]
        r_restores = t.refund_restores[r_index]
    balance = t.balance if t.balance is not None else np.zeros(0, dtype=np.int64)
    p_pay = np.zeros(n, dtype=np.int64)
    refunded = np.zeros(n, dtype=np.int64)

    for k in range(steps):
        if c_bounds[k + 1] > c_bounds[k]:
            a, b = c_bounds[k], c_bounds[k + 1]
            balance[c_owner[a:b]] += c_amount[a:b]  # one event per owner in a step
        if r_bounds[k + 1] > r_bounds[k]:
            a, b = r_bounds[k], r_bounds[k + 1]
            pos = r_pos[a:b]
            amount = np.clip(r_amount[a:b], 0, p_pay[pos] - refunded[pos])
            refunded[pos] += amount
            if t.balance is not None:
                balance[r_owner[a:b]] += amount
            back = np.where(r_restores[a:b], amount, 0)
            keys = p_key[pos]
            for j in running:
                kind = LIMITS[j]
                if kind == "daily_count":
                    used[kind][gd[pos]] -= counts_of[j][keys] & (back > 0) & (refunded[pos] == p_pay[pos])
                else:
                    used[kind][period[kind][pos]] -= np.where(counts_of[j][keys], back, 0)
        c, d = s_bounds[k], s_bounds[k + 1]
        if d == c:
            continue
        keys, pay = p_key[c:d], p_covered[c:d]
        refuse = p_refused[c:d]
        for j in running:
            kind, limit, hit = LIMITS[j], limit_of[j][keys], p_hits[j, c:d]
            if kind == "daily_count":
                np.logical_and(used[kind][gd[c:d]] + 1 > limit, pay > 0, out=hit)
                pay = np.where(hit, 0, pay)
            else:
                remaining = np.maximum(0, limit - used[kind][period[kind][c:d]])
                np.greater(pay, remaining, out=hit)
                pay = np.minimum(pay, remaining)
            if j in refusing:
                refuse |= hit & refuses_of[j][keys]
        if t.balance is not None:
            owners = p_owner[c:d]
            held = balance[owners]
            short = p_hits[-1, c:d]
            np.greater(pay, held, out=short)
            pay = np.where(short, np.maximum(0, held), pay)
        pay = np.where(refuse, 0, pay)
        p_pay[c:d] = pay
        if t.balance is not None:
            balance[owners] = held - pay
        for j in running:
            kind = LIMITS[j]
            if kind == "daily_count":
                gain = pay > 0 if everywhere[j] else counts_of[j][keys] & (pay > 0)
            else:
                gain = pay if everywhere[j] else np.where(counts_of[j][keys], pay, 0)
            used[kind][period[kind][c:d]] += gain

    account[row] = p_pay
    refused[row] = p_refused
    hits[:, row] = p_hits


def persons_affected(outcome: Outcome) -> list[str]:
    """The owners whose settlements would be decided otherwise under the proposed policy, sorted."""
    return sorted({str(p) for p in outcome.settlements.owner_id[outcome.changed]})
