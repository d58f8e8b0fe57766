"""What is in force in a region on a day, and what changed: between two days, or between two loaded sets.

A rule in force is shown with the figures of its parameters on that day, so a changed figure
shows as a changed rule. Every item is plain data (JSON-ready), so it can be stored, hashed,
listed by the API and compared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from yibao.policy.loader import NATIONAL, PolicySet
from yibao.policy.parameters import Parameter
from yibao.policy.schema import Condition, Rule, Version


def plain(value):
    """A value as JSON has it: rates as exact decimal strings, lists for tuples, ISO dates."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple | list | frozenset):
        return [plain(x) for x in (sorted(value) if isinstance(value, frozenset) else value)]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(x) for k, x in value.items()}
    return value


def content_hash(content: dict) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _when(conditions: tuple[Condition, ...]) -> dict:
    out = {}
    for c in conditions:
        if c.values is not None:
            out[c.fact] = plain(c.values) if len(c.values) != 1 else plain(next(iter(c.values)))
        else:
            out[c.fact] = {k: x for k, x in (("min", c.low), ("max", c.high)) if x is not None}
    return out


def rule_version_content(rule: Rule, version: Version | None) -> dict:
    """A version as written: its fields, the parameters it names, the question and conditions it answers."""
    if version is None:
        return {"retired": True}
    return {"question": rule.question, "priority": rule.priority, "when": _when(rule.conditions),
            "values": plain(dict(version.literals)), "parameters": {f: p.name for f, p in version.params}}


@dataclass(frozen=True)
class Item:
    kind: str  # rule | parameter
    region: str
    name: str
    effective_from: dt.date  # since when this holds: the version's date, or a later date of a figure it uses
    version_from: dt.date  # the date of the version in force (its key in the store)
    description_zh: str
    description_en: str
    reference: str
    content: dict

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.region, self.name

    def as_dict(self) -> dict:
        return {"kind": self.kind, "region": self.region, "name": self.name,
                "effective_from": self.effective_from.isoformat(), "version_from": self.version_from.isoformat(),
                "description_zh": self.description_zh,
                "description_en": self.description_en, "reference": self.reference, **self.content}


def _rule_item(rule: Rule, day: dt.date) -> Item | None:
    version = rule.version_at(day)
    if version is None:
        return None
    content = rule_version_content(rule, version)
    since = version.effective_from
    figures = {}
    for field, parameter in version.params:
        value, taken = parameter.at(day)
        figures[field] = {"parameter": parameter.name, "value": plain(value), "unit": parameter.unit}
        since = max(since, taken)
    content["figures"] = figures
    return Item("rule", rule.region, rule.id, since, version.effective_from, rule.description_zh, rule.description_en,
                rule.reference, content)


def _parameter_item(region: str, parameter: Parameter, day: dt.date) -> Item | None:
    found = parameter.at(day)
    if found is None:
        return None
    value, since = found
    return Item("parameter", region, parameter.name, since, since, parameter.description_zh,
                parameter.description_en, parameter.reference, {"value": plain(value), "unit": parameter.unit})


def layers(policy_set: PolicySet, region: str) -> list[str]:
    """The policy regions that govern a place: its own folder (if any) and the national layer."""
    own = policy_set.region_of(region)
    return [r for r in (own, NATIONAL) if r is not None and r in policy_set.regions]


def in_force(policy_set: PolicySet, region: str, day: dt.date) -> dict[tuple, Item]:
    """Every rule and parameter in force for a place on a day, keyed by (kind, region, name)."""
    items: dict[tuple, Item] = {}
    for code in layers(policy_set, region):
        policy = policy_set.regions[code]
        for rule in policy.rules.values():
            item = _rule_item(rule, day)
            if item is not None:
                items[item.key] = item
        for parameter in policy.parameters.values():
            item = _parameter_item(code, parameter, day)
            if item is not None:
                items[item.key] = item
    return items


@dataclass(frozen=True)
class Change:
    status: str  # added | removed | changed
    kind: str
    region: str
    name: str
    before: Item | None
    after: Item | None
    on: dt.date | None = None  # the first day it differs (between loaded sets)

    def as_dict(self) -> dict:
        return {"status": self.status, "kind": self.kind, "region": self.region, "name": self.name,
                "on": self.on.isoformat() if self.on else None,
                "before": self.before.as_dict() if self.before else None,
                "after": self.after.as_dict() if self.after else None}


def compare(before: dict[tuple, Item], after: dict[tuple, Item], on: dt.date | None = None) -> list[Change]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None and a.content == b.content:
            continue
        status = "added" if a is None else "removed" if b is None else "changed"
        changes.append(Change(status, *key, a, b, on))
    return changes


def between_days(policy_set: PolicySet, region: str, day_from: dt.date, day_to: dt.date) -> list[Change]:
    """What differs for a place between two days (the effective-date axis)."""
    return compare(in_force(policy_set, region, day_from), in_force(policy_set, region, day_to))


def _boundaries(policy_set: PolicySet, regions: list[str], since: dt.date) -> set[dt.date]:
    days = {since}
    for code in regions:
        policy = policy_set.regions.get(code)
        if policy is None:
            continue
        days.update(d for r in policy.rules.values() for d in r.dates if d > since)
        days.update(d for p in policy.parameters.values() for d in p.dates if d > since)
    return days


def between_sets(old: PolicySet, new: PolicySet, region: str, since: dt.date) -> list[Change]:
    """What a newly loaded set changes for a place from `since` on (the published axis): each change
    once, on the first day it differs."""
    regions = sorted(set(layers(old, region)) | set(layers(new, region)))
    first: dict[tuple, Change] = {}
    for day in sorted(_boundaries(old, regions, since) | _boundaries(new, regions, since)):
        for change in compare(in_force(old, region, day), in_force(new, region, day), on=day):
            first.setdefault((change.kind, change.region, change.name), change)
    return [first[k] for k in sorted(first)]


def versions(policy_set: PolicySet):
    """Every version in a set as (region, kind, name, effective_from, content): what the store records."""
    for code, policy in sorted(policy_set.regions.items()):
        for rule in policy.rules.values():
            for day, version in zip(rule.dates, rule.versions, strict=True):
                yield code, "rule", rule.id, day, rule_version_content(rule, version)
        for parameter in policy.parameters.values():
            for day, value in zip(parameter.dates, parameter.values, strict=True):
                yield code, "parameter", parameter.name, day, (
                    {"retired": True} if value is None else {"value": plain(value), "unit": parameter.unit})
