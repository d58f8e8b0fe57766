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
from yibao.policy.interface import RefundFacts, SettleFacts
from yibao.policy.loader import PolicySet, load_files
from yibao.policy.schema import LIMITS

NO_LIMIT = np.iinfo(np.int64).max // 4  # a limit no total reaches
_LIMIT_INDEX = {kind: i for i, kind in enumerate(LIMITS)}
# what kept the account from paying it all, in the order the scalar decision names it
_FLAGS = ("category.not_covered", *(f"limit.{kind}" for kind in LIMITS), "balance.insufficient")


@dataclass
class Settlements:
    """The settlements to re-decide, as column arrays (one element per settlement), and the balances they draw on.

    `covered_fen` is what the categories covered (the total unless a category was not covered); `refunds` the
    refunds of these settlements (the settlement's index, at, amount_fen); `opening_fen` is each owner's balance
    before the period (absent: the balance does not limit), `credits` the account's other movements in the
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
    refunds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # settlement row, at, amount_fen
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
    refuses the payment, and whether the payment is refused outright (e.g. cross-region where no rule allows it)."""
    inverse, limits, refuses, blocked = limit_table(engine, s)
    return limits[inverse], refuses[inverse], blocked[inverse]


def limit_table(engine: Engine, s: Settlements) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """limits_of as a table: each settlement's row in it, then per distinct facts and change day the limits,
    whether reaching each refuses, and whether the payment is refused outright. A recorded settlement went
    through, so a cross-region one is taken as filed (the data set does not say)."""
    inverse, first = _keys(engine, s)
    limits = np.full((len(first), len(LIMITS)), NO_LIMIT, dtype=np.int64)
    refuses = np.zeros((len(first), len(LIMITS)), dtype=bool)
    blocked = np.zeros(len(first), dtype=bool)
    days = _as_decided(engine.policy_set, s.business_date[first].astype("datetime64[D]"))
    days = dict(zip(first.tolist(), days, strict=True))
    for k, row in enumerate(first):
        facts = SettleFacts(region=str(s.owner_region[row]), institution_region=str(s.institution_region[row]),
                            institution_kind=str(s.institution_kind[row]), items=(), has_filing=True,
                            emergency=bool(s.emergency[row]),
                            scheme=(str(s.scheme[row]) or None) if s.scheme is not None else None)
        decision = engine.decide(facts, _day(days[row]))
        if not decision.allowed:
            blocked[k] = True
            continue
        for kind, figures in decision.details.get("limits", {}).items():
            limits[k, _LIMIT_INDEX[kind]] = figures["limit"]
            refuses[k, _LIMIT_INDEX[kind]] = figures["on_reach"] == "refuse"
    return inverse, limits, refuses, blocked


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


def _owners(s: Settlements) -> tuple[np.ndarray, pa.Array]:
    """A dense code per settlement's owner, and the owners' ids by code."""
    encoded = pa.array(s.owner_id.astype(object)).dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def _events(s: Settlements, owner: np.ndarray, owner_names: pa.Array):
    """The settlements, the credits and the refunds as one list of events: (owner code, moment, kind: 0 a credit,
    1 a refund, 2 a settlement; index in its kind's list), with the credits' amounts."""
    n = len(s)
    owners, moments = [owner], [s.at.astype("datetime64[us]")]
    kinds, indexes = [np.full(n, 2, dtype=np.int8)], [np.arange(n)]
    amounts = np.zeros(0, dtype=np.int64)
    if s.opening_fen is not None and s.credits is not None and len(s.credits[0]):
        c_owner, c_at, c_amount = s.credits
        found = pc.index_in(pa.array(c_owner.astype(object), type=owner_names.type), value_set=owner_names)
        known = found.is_valid().to_numpy(zero_copy_only=False)
        position = found.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        amounts = c_amount[known].astype(np.int64)
        owners.append(position[known])
        moments.append(c_at[known].astype("datetime64[us]"))
        kinds.append(np.zeros(len(amounts), dtype=np.int8))
        indexes.append(np.arange(len(amounts)))
    if s.refunds is not None and len(s.refunds[0]):
        r_row, r_at, _ = s.refunds
        owners.append(owner[r_row])
        moments.append(r_at.astype("datetime64[us]"))
        kinds.append(np.ones(len(r_row), dtype=np.int8))
        indexes.append(np.arange(len(r_row)))
    return tuple(np.concatenate(x) for x in (owners, moments, kinds, indexes)), amounts


def refunds_restore(engine: Engine, s: Settlements) -> np.ndarray:
    """Per refund: whether it gives its settlement's quota back (the rule in force on the refund's day)."""
    if s.refunds is None or not len(s.refunds[0]):
        return np.zeros(0, dtype=bool)
    rows, at, _ = s.refunds
    days = _as_decided(engine.policy_set, (at.astype("datetime64[us]") + np.timedelta64(8, "h"))
                       .astype("datetime64[D]"))  # the refund's day in China
    key = _group(s.owner_region[rows], s.institution_kind[rows], days)
    _, first = np.unique(key, return_index=True)
    answers = np.array([engine.decide(RefundFacts(region=str(s.owner_region[rows[i]]),
                                                  institution_kind=str(s.institution_kind[rows[i]])),
                                      _day(days[i])).details["restores_quota"] for i in first], dtype=bool)
    return answers[key]


def _runs(*columns: np.ndarray) -> np.ndarray:
    """Along rows already grouped, a dense id that moves on whenever any column's value changes."""
    change = np.zeros(len(columns[0]), dtype=bool)
    if len(change):
        change[0] = True
        for column in columns:
            change[1:] |= column[1:] != column[:-1]
    return np.cumsum(change) - 1


def redecide(engine: Engine, s: Settlements) -> Outcome:
    """Re-decide every settlement under the engine's rules, in time order per owner, vectorised across owners:
    step k decides the k-th event of every owner at once, each step a contiguous slice of prepared columns."""
    n = len(s)
    key_of, limits, refuses, blocked_by_key = limit_table(engine, s)
    blocked = blocked_by_key[key_of]
    owner, owner_names = _owners(s)
    balance = np.full(len(owner_names), NO_LIMIT, dtype=np.int64)
    if s.opening_fen is not None:
        balance = np.array([int(s.opening_fen.get(p, 0)) for p in owner_names.to_pylist()], dtype=np.int64)
    (e_owner, e_at, e_kind, e_index), credit_amounts = _events(s, owner, owner_names)
    # per owner in time order; at the same moment a credit, then a refund, then a settlement
    order = np.lexsort((e_index, e_kind, e_at, e_owner))
    o_owner, o_kind, o_index = e_owner[order], e_kind[order], e_index[order]
    m = len(order)
    starts = np.flatnonzero(np.r_[True, o_owner[1:] != o_owner[:-1]]) if m else np.zeros(0, dtype=np.int64)
    rank = np.arange(m) - np.repeat(starts, np.diff(np.r_[starts, m]))

    # the periods' running totals, numbered along the owner-time order of the settlements
    settled = o_kind == 2
    rows = o_index[settled]
    day = s.business_date.astype("datetime64[D]")[rows]
    owner_day = np.empty(n, dtype=np.int64)
    owner_year = np.empty(n, dtype=np.int64)
    inst_day = np.empty(n, dtype=np.int64)
    owner_day[rows] = _runs(o_owner[settled], day)
    owner_year[rows] = _runs(o_owner[settled], day.astype("datetime64[Y]"))
    inst_codes, n_inst = _codes(s.institution_code)
    inst_day[rows] = np.unique(owner_day[rows] * n_inst + inst_codes[rows], return_inverse=True)[1].reshape(-1)
    used_inst = np.zeros(int(inst_day.max()) + 1 if n else 0, dtype=np.int64)
    used_day = np.zeros(int(owner_day.max()) + 1 if n else 0, dtype=np.int64)
    count_day = np.zeros_like(used_day)
    used_year = np.zeros(int(owner_year.max()) + 1 if n else 0, dtype=np.int64)
    # a payment uses only the quotas of the limits in force for it (a limit begun later does not count it)
    in_force = limits < NO_LIMIT
    counts = {kind: in_force[:, _LIMIT_INDEX[kind]][key_of] for kind in ("institution_daily", "daily", "yearly",
                                                                          "daily_count")}

    # the step order: by rank, then credits, refunds and settlements of the step, owners ascending
    key = rank * 3 + o_kind
    step_order = np.argsort(key, kind="stable")
    bounds = np.searchsorted(key[step_order], np.arange(3 * (int(rank.max()) + 1 if m else 0) + 1))
    p_kind, p_index, p_owner = o_kind[step_order], o_index[step_order], o_owner[step_order]
    p_amount = np.zeros(m, dtype=np.int64)
    credit, refund = p_kind == 0, p_kind == 1
    p_amount[credit] = credit_amounts[p_index[credit]]
    restores = refunds_restore(engine, s)
    p_restores = np.zeros(m, dtype=bool)
    if refund.any():
        p_amount[refund] = s.refunds[2][p_index[refund]]
        p_restores[refund] = restores[p_index[refund]]
        p_index = p_index.copy()
        p_index[refund] = s.refunds[0][p_index[refund]]  # a refund's settlement
    r = np.where(credit, 0, p_index)
    p_key = key_of[r]
    p_covered = np.where(blocked_by_key[p_key], 0, s.covered_fen.astype(np.int64)[r])
    p_limits = [limits[:, j].copy()[p_key] for j in range(len(LIMITS))]
    p_refuses = [refuses[:, j].copy()[p_key] for j in range(len(LIMITS))]
    p_inst, p_day, p_year = inst_day[r], owner_day[r], owner_year[r]
    p_counts = [counts[kind][r] for kind in ("institution_daily", "daily", "yearly", "daily_count")]
    p_pay = np.zeros(m, dtype=np.int64)
    p_flags = np.zeros((len(LIMITS) + 1, m), dtype=bool)
    p_refused = np.zeros(m, dtype=bool)
    paid = np.zeros(n, dtype=np.int64)  # what each settlement's account paid, as decided so far
    refunded = np.zeros(n, dtype=np.int64)
    no_spent = np.zeros(0, dtype=np.int64)
    daily_count = _LIMIT_INDEX["daily_count"]

    for k in range(len(bounds) // 3):
        a, b, c, d = bounds[3 * k], bounds[3 * k + 1], bounds[3 * k + 2], bounds[3 * k + 3]
        if b > a:
            balance[p_owner[a:b]] += p_amount[a:b]  # one event per owner in a step
        if c > b:
            _refund(b, c, p_index, p_owner, p_amount, p_restores, p_inst, p_day, p_year, p_counts, paid, refunded,
                    balance, used_inst, used_day, used_year, count_day)
        if d == c:
            continue
        owners, gi, gd, gy = p_owner[c:d], p_inst[c:d], p_day[c:d], p_year[c:d]
        pay = p_covered[c:d]
        spent = (no_spent, used_inst[gi], used_day[gd], used_year[gy], count_day[gd])
        refuse = np.zeros(d - c, dtype=bool)
        for j in range(len(LIMITS)):
            lim = p_limits[j][c:d]
            if j == daily_count:
                hit = (spent[j] + 1 > lim) & (pay > 0)
                pay = np.where(hit, 0, pay)
            else:
                remaining = np.maximum(0, lim - spent[j]) if len(spent[j]) else lim
                hit = pay > remaining
                pay = np.where(hit, remaining, pay)
            p_flags[j, c:d] = hit
            refuse |= hit & p_refuses[j][c:d]
        held = balance[owners]
        short = pay > held
        pay = np.where(short, np.maximum(0, held), pay)
        p_flags[-1, c:d] = short
        pay = np.where(refuse, 0, pay)
        p_refused[c:d] = refuse
        p_pay[c:d] = pay
        paid[p_index[c:d]] = pay
        balance[owners] = held - pay
        used_inst[gi] += np.where(p_counts[0][c:d], pay, 0)
        used_day[gd] += np.where(p_counts[1][c:d], pay, 0)
        used_year[gy] += np.where(p_counts[2][c:d], pay, 0)
        count_day[gd] += p_counts[3][c:d] & (pay > 0)

    account = np.zeros(n, dtype=np.int64)
    flags = np.zeros((n, len(_FLAGS)), dtype=bool)
    allowed = ~blocked
    s_pos = p_kind == 2
    target = p_index[s_pos]
    account[target] = p_pay[s_pos]
    allowed[target] &= ~p_refused[s_pos]
    flags[target, 1:] = p_flags[:, s_pos].T
    flags[:, 0] = s.covered_fen < s.total_fen
    total = s.total_fen.astype(np.int64)
    cash = np.where(allowed, total - account, total)
    return Outcome(s, account, cash, allowed, flags)


def _refund(b, c, p_index, p_owner, p_amount, p_restores, p_inst, p_day, p_year, p_counts, paid, refunded,
            balance, used_inst, used_day, used_year, count_day) -> None:
    """The refunds of one step: what the account paid comes back (never more than it paid under the policy
    simulated), and the quota of the settlement's periods with it where the rule says so."""
    rows = p_index[b:c]
    amount = np.clip(p_amount[b:c], 0, paid[rows] - refunded[rows])
    refunded[rows] += amount
    balance[p_owner[b:c]] += amount
    back = np.where(p_restores[b:c], amount, 0)
    used_inst[p_inst[b:c]] -= np.where(p_counts[0][b:c], back, 0)
    used_day[p_day[b:c]] -= np.where(p_counts[1][b:c], back, 0)
    used_year[p_year[b:c]] -= np.where(p_counts[2][b:c], back, 0)
    count_day[p_day[b:c]] -= p_counts[3][b:c] & (back > 0) & (refunded[rows] == paid[rows])


def persons_affected(outcome: Outcome) -> list[str]:
    """The owners whose settlements would be decided otherwise under the proposed policy, sorted."""
    return sorted({str(p) for p in outcome.settlements.owner_id[outcome.changed]})
