"""A what-if from end to end: the proposed file put into the policy in force, the region's recorded settlements
re-decided under it, and the persons whose decisions change."""

from __future__ import annotations

import datetime as dt

from yibao.analytics.sim_source import load_settlements
from yibao.analytics.simulate import Outcome, candidate_set, persons_affected, redecide
from yibao.policy.engine import Engine


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
