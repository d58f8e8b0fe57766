"""What publishing a policy set would change for the people of a region: the recorded settlements of the past
year re-decided twice, under the rules that will be in force on the effective day without the publication and
with it (both sets frozen on that day), so what differs is the publication's doing alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from yibao.analytics.sim_run import as_of
from yibao.analytics.sim_source import load_settlements
from yibao.analytics.simulate import persons_affected
from yibao.policy.loader import PolicySet

YEAR_BACK = 365


@dataclass(frozen=True)
class Effect:
    """A region's past year under the proposal: the payments and persons whose decision would change, and what
    the accounts would have paid (fen) without and with it."""

    region: str
    date_from: dt.date
    date_to: dt.date
    settlements: int
    changed: int
    persons: tuple[str, ...]
    account_without_fen: int
    account_with_fen: int

    @property
    def account_change_fen(self) -> int:
        return self.account_with_fen - self.account_without_fen


def effects(ctx, proposed: PolicySet, regions: list[str], effective: dt.date) -> dict[str, Effect]:
    """Per region: the settlements of the year before today re-decided as of `effective`, without and with the
    proposed set."""
    date_to = ctx.today() - dt.timedelta(days=1)
    date_from = date_to - dt.timedelta(days=YEAR_BACK - 1)
    found = {}
    for region in regions:
        outcome = as_of(ctx.policy.policy_set, proposed, load_settlements(ctx, region, date_from, date_to),
                        effective)
        changed, without = outcome.changed, outcome.settlements
        found[region] = Effect(region, date_from, date_to, len(without), int(np.count_nonzero(changed)),
                               tuple(persons_affected(outcome)), int(without.account_paid_fen.sum()),
                               int(outcome.account_fen.sum()))
    return found
