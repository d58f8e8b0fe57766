"""Policy what-if: the recorded settlements of a region re-decided under a proposed policy file, vectorised.

The figures of each settlement's limits come from the policy engine once per distinct (insured region, institution
region and kind, scheme, emergency, day): the same rules the scalar decision reads. The running totals (per
institution per day, per day, per year, the day's count of payments and the balance) are carried per person in
time order, all persons at once: step k re-decides the k-th event of every person with NumPy, so the loop runs
over the longest person's history, never over settlements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yibao.policy.engine import Engine
from yibao.policy.interface import SettleFacts
from yibao.policy.loader import PolicySet, load_files
from yibao.policy.schema import LIMITS

NO_LIMIT = np.iinfo(np.int64).max // 4  # a limit no total reaches
_LIMIT_INDEX = {kind: i for i, kind in enumerate(LIMITS)}
# what kept the account from paying it all, in the order the scalar decision names it
_FLAGS = ("category.not_covered", *(f"limit.{kind}" for kind in LIMITS), "balance.insufficient")


@dataclass
class Settlements:
    """The settlements to re-decide, as column arrays (one element per settlement), and the balances they draw on.

    `covered_fen` is what the categories covered (the total unless a category was not covered); `opening_fen` is
    each owner's balance before the period (absent: the balance does not limit), `credits` the credits in the
    period as (owner_id, at, amount_fen) arrays."""

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
    opening_fen: Mapping[str, int] | None = None
    credits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

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

    @property
    def changed(self) -> np.ndarray:
        """Which settlements are decided otherwise than recorded (amounts or refusal)."""
        s = self.settlements
        return (self.account_fen != s.account_paid_fen) | ~self.allowed


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


def _keys(engine: Engine, s: Settlements) -> tuple[np.ndarray, np.ndarray]:
    """Each settlement's key of the facts its limits depend on, and the distinct keys' first rows."""
    scheme = s.scheme if s.scheme is not None else np.full(len(s), "", dtype=object)
    key = _group(s.owner_region, s.institution_region, s.institution_kind, scheme, s.emergency.astype(bool),
                 _as_decided(engine.policy_set, s.business_date.astype("datetime64[D]")))
    _, first = np.unique(key, return_index=True)
    return key, first


def limits_of(engine: Engine, s: Settlements) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per settlement: the limits in force (one column per LIMITS kind; NO_LIMIT where none), whether reaching each
    refuses the payment, and whether the payment is refused outright (e.g. cross-region without a filing)."""
    inverse, first = _keys(engine, s)
    limits = np.full((len(first), len(LIMITS)), NO_LIMIT, dtype=np.int64)
    refuses = np.zeros((len(first), len(LIMITS)), dtype=bool)
    blocked = np.zeros(len(first), dtype=bool)
    days = _as_decided(engine.policy_set, s.business_date[first].astype("datetime64[D]"))
    days = dict(zip(first.tolist(), days, strict=True))
    for k, row in enumerate(first):
        facts = SettleFacts(region=str(s.owner_region[row]), institution_region=str(s.institution_region[row]),
                            institution_kind=str(s.institution_kind[row]), items=(), has_filing=False,
                            emergency=bool(s.emergency[row]),
                            scheme=(str(s.scheme[row]) or None) if s.scheme is not None else None)
        decision = engine.decide(facts, _day(days[row]))
        if not decision.allowed:
            blocked[k] = True
            continue
        for kind, figures in decision.details.get("limits", {}).items():
            limits[k, _LIMIT_INDEX[kind]] = figures["limit"]
            refuses[k, _LIMIT_INDEX[kind]] = figures["on_reach"] == "refuse"
    return limits[inverse], refuses[inverse], blocked[inverse]


def _day(value: np.datetime64) -> dt.date:
    return dt.date.fromisoformat(str(value.astype("datetime64[D]")))


# --- the re-decision -----------------------------------------------------------------------------------


def _codes(column: np.ndarray) -> tuple[np.ndarray, int]:
    """A dense integer code per distinct value of a column (hashed for strings), and how many there are."""
    if column.dtype.kind in "OUS":
        encoded = pa.array(column.astype(object) if column.dtype.kind != "O" else column).dictionary_encode()
        return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(encoded.dictionary)
    values, inverse = np.unique(column, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), len(values)


def _group(*columns: np.ndarray) -> np.ndarray:
    """A dense id per distinct combination of the columns."""
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    combined, _ = _codes(columns[0])
    for column in columns[1:]:
        codes, size = _codes(column)
        combined = combined * size + codes
        combined = np.unique(combined, return_inverse=True)[1].reshape(-1)  # dense again: no overflow
    return combined


def redecide(engine: Engine, s: Settlements) -> Outcome:
    """Re-decide every settlement under the engine's rules, in time order per owner, vectorised across owners."""
    n = len(s)
    limits, refuses, blocked = limits_of(engine, s)
    encoded = pa.array(s.owner_id.astype(object)).dictionary_encode()
    owner = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    owner_names = encoded.dictionary
    n_owners = len(owner_names)
    day = s.business_date.astype("datetime64[D]")
    year = day.astype("datetime64[Y]")
    inst_day = _group(owner, _codes(s.institution_code)[0], day)
    owner_day = _group(owner, day)
    owner_year = _group(owner, year)
    used_inst = np.zeros(int(inst_day.max()) + 1 if n else 0, dtype=np.int64)
    used_day = np.zeros(int(owner_day.max()) + 1 if n else 0, dtype=np.int64)
    count_day = np.zeros_like(used_day)
    used_year = np.zeros(int(owner_year.max()) + 1 if n else 0, dtype=np.int64)

    # the balance: opening balances per owner, credits as events in the same per-owner time order
    limited_balance = s.opening_fen is not None
    balance = np.full(n_owners, NO_LIMIT, dtype=np.int64)
    if limited_balance:
        balance = np.array([int(s.opening_fen.get(p, 0)) for p in owner_names.to_pylist()], dtype=np.int64)
    events_owner, events_at, events_row = owner, s.at.astype("datetime64[us]"), np.arange(n)
    credit_amount = np.zeros(0, dtype=np.int64)
    if limited_balance and s.credits is not None and len(s.credits[0]):
        c_owner, c_at, c_amount = s.credits
        found = pc.index_in(pa.array(c_owner.astype(object), type=owner_names.type), value_set=owner_names)
        known = found.is_valid().to_numpy(zero_copy_only=False)
        position = found.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        credit_amount = c_amount[known].astype(np.int64)
        events_owner = np.concatenate([owner, position[known]])
        events_at = np.concatenate([events_at, c_at[known].astype("datetime64[us]")])
        events_row = np.concatenate([events_row, -1 - np.arange(len(credit_amount))])  # negative: a credit
    # credits before a settlement at the same instant count for it
    order = np.lexsort((np.abs(events_row), events_row >= 0, events_at, events_owner))
    ordered_owner = events_owner[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ordered_owner)) + 1] if len(order) else np.zeros(0, dtype=np.int64)
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))

    covered = s.covered_fen.astype(np.int64)
    total = s.total_fen.astype(np.int64)
    account = np.zeros(n, dtype=np.int64)
    allowed = ~blocked
    flags = np.zeros((n, len(_FLAGS)), dtype=bool)
    flags[:, 0] = covered < total
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2 if len(rank) else 1))
    for k in range(len(bounds) - 1):
        step = order[by_rank[bounds[k]:bounds[k + 1]]]
        rows = events_row[step]
        credit = rows < 0
        if credit.any():
            np.add.at(balance, events_owner[step[credit]], credit_amount[-1 - rows[credit]])
            rows = rows[~credit]
        rows = rows[~blocked[rows]]
        if not len(rows):
            continue
        pay = covered[rows].copy()
        spent = np.stack([np.zeros(len(rows), dtype=np.int64), used_inst[inst_day[rows]], used_day[owner_day[rows]],
                          used_year[owner_year[rows]], count_day[owner_day[rows]]], axis=1)
        lim = limits[rows]
        refuse = np.zeros(len(rows), dtype=bool)
        for j, kind in enumerate(LIMITS):
            if kind == "daily_count":
                reached = spent[:, j] + 1 > lim[:, j]
                remaining = np.where(reached, 0, pay)
            else:
                remaining = np.maximum(0, lim[:, j] - spent[:, j])
                reached = pay > remaining
            hit = reached & (pay > 0)
            pay = np.where(hit, np.minimum(pay, remaining), pay)
            flags[rows, 1 + j] = hit
            refuse |= hit & refuses[rows, j]
        owners = owner[rows]
        short = pay > balance[owners]
        pay = np.where(short, np.maximum(0, balance[owners]), pay)
        flags[rows, -1] = short
        pay = np.where(refuse, 0, pay)
        allowed[rows] = ~refuse
        account[rows] = pay
        balance[owners] -= pay
        used_inst[inst_day[rows]] += pay
        used_day[owner_day[rows]] += pay
        used_year[owner_year[rows]] += pay
        count_day[owner_day[rows]] += pay > 0
    cash = np.where(allowed, total - account, total)
    return Outcome(s, account, cash, allowed, flags)


def persons_affected(outcome: Outcome) -> list[str]:
    """The owners whose settlements would be decided otherwise under the proposed policy, sorted."""
    return sorted({str(p) for p in outcome.settlements.owner_id[outcome.changed]})
