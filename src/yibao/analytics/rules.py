"""The misuse rules (R26) over the analytics data set, whatever engine runs their queries: each pattern reads its
thresholds and windows from the policy in force on the period's last day, asks its queries by name and turns their
rows into `Detected` findings with their evidence ids.

The queries themselves are each engine's dialect of the same SQL: `rules_duckdb.SQL` (embedded, the default) and
`rules_spark.SQL` (Apache Spark, for many regions at once). A `Query` runs one by name with its arguments and
gives its rows as dicts, so both engines report the same findings from the same data.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from yibao.domain.findings import Detected, Pattern, SubjectKind
from yibao.policy.loader import NATIONAL, PolicySet

Query = Callable[[str, dict], list[dict]]
SEATS = Path(__file__).resolve().parents[1] / "data" / "region_seats.yaml"


@dataclass(frozen=True)
class Params:
    """A pattern's parameters on a day, and the version naming them (the latest effective date among them)."""

    values: dict[str, object]
    version: str

    def __getitem__(self, name: str):
        return self.values[name]


def params_for(policy: PolicySet, pattern: Pattern, day: dt.date, region: str = NATIONAL) -> Params | None:
    """The pattern's parameters in force on a day (a region's own value over the national one); None if unset."""
    prefix = f"misuse.{pattern.value}."
    names = {name for r in (NATIONAL, region) if r in policy.regions
             for name in policy.regions[r].parameters if name.startswith(prefix)}
    values, since = {}, []
    for name in sorted(names):
        found = None
        for r in (region, NATIONAL):
            parameter = policy.parameter(r, name)
            if parameter is not None and (found := parameter.at(day)) is not None:
                break
        if found is None:
            return None
        values[name.removeprefix(prefix)], taken = found
        since.append(taken)
    if not values:
        return None
    return Params(values, f"{prefix.rstrip('.')}@{max(since).isoformat()}")


def _bounded(x: float) -> float:
    return round(max(0.0, min(1.0, x)), 4)


# --- the patterns -----------------------------------------------------------------------------------------------

def split_payments(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """Bursts of payments of one credential at one institution, each within the window of the one before, whose
    account shares sum over the per-payment cap."""
    found = q("split_payments", {"from": start, "to": end, "window": int(p["window"]),
                             "min_payments": int(p["min_payments"])})
    return [Detected(Pattern.SPLIT_PAYMENTS, p.version, _bounded(r["paid"] / r["cap"] - 1), SubjectKind.PERSON,
                     r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"payments": r["n"], "account_paid_fen": int(r["paid"]), "cap_fen": int(r["cap"]),
                      "institution_code": r["institution_code"], "window_minutes": int(p["window"])})
            for r in found]


def limit_hugging(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """A payer paying 90–100 % of the cap on many days running."""
    found = q("limit_hugging", {"from": start, "to": end, "low": float(p["low_rate"]), "min_days": int(p["min_days"])})
    return [Detected(Pattern.LIMIT_HUGGING, p.version, _bounded(r["days"] / (2 * int(p["min_days"]))),
                     SubjectKind.PERSON, r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"days": r["days"], "first_day": r["first_day"].isoformat(), "low_rate": str(p["low_rate"])})
            for r in found]


def many_institutions(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One credential at many institutions in a day."""
    found = q("many_institutions", {"from": start, "to": end, "min": int(p["min_institutions"])})
    return [Detected(Pattern.MANY_INSTITUTIONS, p.version, _bounded(r["n"] / (2 * int(p["min_institutions"]))),
                     SubjectKind.PERSON, r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"institutions": r["n"], "day": r["business_date"].isoformat()})
            for r in found]


def far_apart(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One credential used in two regions at least `min_distance` apart (between their seats), closer in time than
    the fastest plausible journey: `overhead` minutes at its two ends plus the distance at `speed`."""
    found = q("far_apart", {"from": start, "to": end, "min_km": int(p["min_distance"]), "speed": int(p["speed"]),
                            "overhead": int(p["overhead"])})
    return [Detected(Pattern.FAR_APART, p.version, _bounded(1 - r["minutes"] / r["fastest_minutes"]),
                     SubjectKind.PERSON, r["payer_id"], start, end,
                     {"settlement_ids": [r["prev_id"], r["settlement_id"]]},
                     {"minutes_apart": round(r["minutes"], 1), "km": round(r["km"]),
                      "fastest_minutes": round(r["fastest_minutes"]), "regions": [r["prev_region"], r["region"]]})
            for r in found]


@functools.cache
def region_seats() -> tuple[dict, ...]:
    """The regions' seats (region, name, lat, lon in degrees): reference data read once from the package."""
    text = SEATS.read_text(encoding="utf-8")
    return tuple({"region": str(r["region"]), "name": r["name"], "lat": float(r["lat"]), "lon": float(r["lon"])}
                 for r in yaml.safe_load(text))


def shared_bank_account(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One bank account number linked by several persons, unlinked links included."""
    found = q("shared_bank_account", {"to": end, "min": int(p["min_persons"])})
    return [Detected(Pattern.SHARED_BANK_ACCOUNT, p.version, _bounded(len(r["persons"]) / 4),
                     SubjectKind.BANK_ACCOUNT, r["account_digest"], start, end, {"person_ids": list(r["persons"])},
                     {"persons": len(r["persons"])})
            for r in found]


def duplicate_invoice(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """One invoice claimed twice, or claimed and also settled directly."""
    found = q("duplicate_invoice", {"to": end, "min": int(p["min_claims"])})
    out = []
    for r in found:
        evidence = {"application_ids": list(r["apps"] or []), "settlement_ids": list(r["sets"] or [])}
        out.append(Detected(Pattern.DUPLICATE_INVOICE, p.version, 1.0 if evidence["settlement_ids"] else 0.8,
                            SubjectKind.PERSON, r["person_id"], start, end,
                            {k: v for k, v in evidence.items() if v},
                            {"claims": len(evidence["application_ids"]) + len(evidence["settlement_ids"]),
                             "persons": r["persons"]}))
    return out


def after_death(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """Settlements on or after the recorded death of the payer or of the account's owner."""
    found = q("after_death", {"from": start, "to": end, "grace": int(p["grace_days"])})
    return [Detected(Pattern.AFTER_DEATH, p.version, 1.0, SubjectKind.PERSON, r["person_id"], start, end,
                     {"settlement_ids": list(r["ids"])}, {"died_on": r["died_on"].isoformat()})
            for r in found]


MEASURES = ("refund_share", "account_share", "night_share", "limit_share")


def robust_z(x: float, median: float, mad: float, floor: float) -> float:
    """The robust z-score 0.6745·(x − median) / MAD, the MAD taken as at least `floor` (peers closer than that
    are as alike as shares can be told apart)."""
    return 0.6745 * (x - median) / max(mad, floor)


def institution_outlier(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """Institutions far from their peers (same kind and region) on refunds, account share, night or limit share,
    by the robust z-score with a floor under the MAD."""
    threshold, floor = float(p["z_threshold"]), float(p["mad_floor"])
    found = q("institution_outlier", {"from": start, "to": end, "min_peers": int(p["min_peers"]),
                                      "night_from": int(p["night_from"]), "night_to": int(p["night_to"])})
    flagged = []
    for r in found:
        z = {m: robust_z(float(r[m]), float(r[f"med_{m}"]), float(r[f"mad_{m}"]), floor) for m in MEASURES
             if r[m] is not None and r[f"mad_{m}"] is not None}
        far = {m: round(v, 2) for m, v in z.items() if abs(v) >= threshold}
        if far:
            flagged.append((r, far))
    ids: dict[str, list[str]] = {}
    if flagged:
        for row in q("institution_outlier.ids", {"codes": [r["institution_code"] for r, _ in flagged],
                                                 "from": start, "to": end}):
            ids.setdefault(row["institution_code"], []).append(row["settlement_id"])
    out = []
    for r, far in flagged:
        top = max(abs(z) for z in far.values())
        out.append(Detected(Pattern.INSTITUTION_OUTLIER, p.version, _bounded(top / (2 * threshold)),
                            SubjectKind.INSTITUTION, r["institution_code"], start, end,
                            {"settlement_ids": ids.get(r["institution_code"], [])},
                            {"z": far, "peers": r["peers"], "settlements": r["n"],
                             **{m: round(float(r[m]), 4) for m in far},
                             **{f"median_{m}": round(float(r[f"med_{m}"]), 4) for m in far}}))
    return out


def family_pattern(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """A grantee paying often from an owner's account and far above the owner's own spending, or one person's
    grants rotating among many counterparts in the period."""
    ratio = float(p["ratio"])
    out = [Detected(Pattern.FAMILY_PATTERN, p.version,
                    _bounded(1 - r["own_fen"] / r["paid_fen"]), SubjectKind.PERSON, r["payer_id"], start, end,
                    {"settlement_ids": list(r["ids"])},
                    {"owner_id": r["owner_id"], "grantee_paid_fen": int(r["paid_fen"]),
                     "owner_paid_fen": int(r["own_fen"]), "ratio": str(p["ratio"])})
           for r in q("family_pattern.spending", {"from": start, "to": end, "min_fen": int(p["min_fen"]),
                                                  "ratio": ratio, "min_payments": int(p["min_payments"])})]
    minimum = int(p["min_counterparts"])
    out += [Detected(Pattern.FAMILY_PATTERN, p.version, _bounded(r["n"] / (2 * minimum)), SubjectKind.PERSON,
                     r["person_id"], start, end, {"grant_ids": list(r["ids"])}, {"counterparts": r["n"]})
            for r in q("family_pattern.rotating", {"from": start, "to": end, "min": minimum})]
    return out


def emergency_unclaimed(q: Query, p: Params, start: dt.date, end: dt.date) -> list[Detected]:
    """An emergency the institution stated, with no emergency claim by the person within the window after it (only
    once the window has closed by the period's end)."""
    found = q("emergency_unclaimed", {"from": start, "to": end, "window": int(p["window"])})
    return [Detected(Pattern.EMERGENCY_UNCLAIMED, p.version, _bounded(0.5 + 0.1 * len(r["ids"])), SubjectKind.PERSON,
                     r["payer_id"], start, end, {"settlement_ids": list(r["ids"])},
                     {"emergencies": len(r["ids"]), "window_days": int(p["window"])})
            for r in found]


RULES: dict[Pattern, Callable] = {
    Pattern.SPLIT_PAYMENTS: split_payments,
    Pattern.LIMIT_HUGGING: limit_hugging,
    Pattern.MANY_INSTITUTIONS: many_institutions,
    Pattern.FAR_APART: far_apart,
    Pattern.SHARED_BANK_ACCOUNT: shared_bank_account,
    Pattern.DUPLICATE_INVOICE: duplicate_invoice,
    Pattern.AFTER_DEATH: after_death,
    Pattern.INSTITUTION_OUTLIER: institution_outlier,
    Pattern.FAMILY_PATTERN: family_pattern,
    Pattern.EMERGENCY_UNCLAIMED: emergency_unclaimed,
}


def detect_with(q: Query, policy: PolicySet, start: dt.date, end: dt.date,
                patterns: list[Pattern] | None = None) -> list[Detected]:
    """Run every rule (or the given ones) through an engine's queries, with the policy in force on the last day."""
    found: list[Detected] = []
    for pattern, rule in RULES.items():
        if patterns is not None and pattern not in patterns:
            continue
        params = params_for(policy, pattern, end)
        if params is not None:
            found.extend(rule(q, params, start, end))
    return found
