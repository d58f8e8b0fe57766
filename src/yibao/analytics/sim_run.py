"""A what-if from end to end: the proposed file put into the policy in force, the region's recorded settlements
re-decided under it, and the persons whose decisions change."""

from __future__ import annotations

import dataclasses
import datetime as dt

from yibao.analytics.sim_source import load_settlements
from yibao.analytics.simulate import Outcome, Settlements, candidate_set, persons_affected, redecide
from yibao.policy.engine import Engine
from yibao.policy.frozen import as_on
from yibao.policy.loader import PolicySet


def what_if(ctx, *, region: str, file_name: str, data: bytes, date_from: dt.date, date_to: dt.date) -> Outcome:
    """The region's settlements of the period re-decided under the policy in force with `data` as `file_name`
    in the region's folder; raises PolicyFileError when the proposed set does not load."""
    proposed = Engine(candidate_set(ctx.policy.policy_set, region, file_name, data))
    return redecide(proposed, load_settlements(ctx, region, date_from, date_to))


def persons_whose_decisions_change(ctx, *, region: str, file_name: str, data: bytes, date_from: dt.date,
                                   date_to: dt.date) -> list[str]:
    """The ids of the persons whose recorded settlements the proposed file would decide otherwise."""
    return persons_affected(what_if(ctx, region=region, file_name=file_name, data=data, date_from=date_from,
                                    date_to=date_to))


def as_of(current: PolicySet, proposed: PolicySet, settlements: Settlements, day: dt.date) -> Outcome:
    """The settlements re-decided under the proposed set as it stands on `day`, against the set in force as it
    will stand that day: the outcome's "recorded" columns are what the rules of that day would decide without
    the proposal, so what differs is the proposal's doing alone, whatever the rules did earlier in the period."""
    base = redecide(Engine(as_on(current, day)), settlements)
    without = dataclasses.replace(settlements, account_paid_fen=base.account_fen, cash_fen=base.cash_fen,
                                  limited_by=base.all_limited_by(), allowed=base.allowed)
    return redecide(Engine(as_on(proposed, day)), without)
