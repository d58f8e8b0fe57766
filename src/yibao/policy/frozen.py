"""A policy set as it stands on one day, made timeless: every rule and parameter keeps only the version in force on
that day, in force from the beginning. A what-if asks "had the rules of day D applied to these payments": the
set frozen on D decides every earlier day as D's rules would."""

from __future__ import annotations

import dataclasses
import datetime as dt

from yibao.policy.loader import PolicySet, RegionPolicy
from yibao.policy.parameters import Parameter
from yibao.policy.schema import Rule

EPOCH = dt.date(1900, 1, 1)  # before any payment: the one version is in force from here on


def _parameter(parameter: Parameter, day: dt.date) -> Parameter:
    found = parameter.at(day)
    return dataclasses.replace(parameter, dates=(EPOCH,), values=(found[0] if found else None,))


def _rule(rule: Rule, day: dt.date) -> Rule:
    version = rule.version_at(day)
    if version is not None:
        version = dataclasses.replace(version, effective_from=EPOCH,
                                      params=tuple((name, _parameter(p, day)) for name, p in version.params))
    return dataclasses.replace(rule, dates=(EPOCH,), versions=(version,))


def _region(region: RegionPolicy, day: dt.date) -> RegionPolicy:
    return dataclasses.replace(region, parameters={n: _parameter(p, day) for n, p in region.parameters.items()},
                               rules={n: _rule(r, day) for n, r in region.rules.items()})


def as_on(policy_set: PolicySet, day: dt.date) -> PolicySet:
    """The set with each rule and parameter as in force on `day`, from EPOCH on (its digest names the day)."""
    return dataclasses.replace(policy_set, regions={c: _region(r, day) for c, r in policy_set.regions.items()},
                               digest=f"{policy_set.digest}@{day.isoformat()}")
