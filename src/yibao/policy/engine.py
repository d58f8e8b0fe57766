"""The policy engine: which rule answers a question for a person's region on a day, and the decisions built on it.

The insured region's rules and the national layer compete for each question; of those in force
whose conditions hold, the highest priority answers (the loader has refused ties). Answers are
cached by region, question, day and the facts the candidate rules test, so a decision costs a
few dictionary lookups. The engine is pure: no I/O, no clock; the caller names the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.regions import region_name
from yibao.policy import actions
from yibao.policy.decision import Decision, Fen, Label, Reason
from yibao.policy.interface import Allocation, BaseBounds, Citation, ContributeFacts, Facts
from yibao.policy.loader import NATIONAL, PolicySet
from yibao.policy.schema import QUESTIONS, Rule
from yibao.policy.texts import TEXTS

_CACHE_LIMIT = 200_000
_MISS = object()


@dataclass(frozen=True, slots=True)
class Answer:
    """The rule that answers, its figures in force on the day, and since when this combination holds."""

    rule: Rule
    values: Mapping[str, object]
    units: Mapping[str, str]  # of the fields that name a parameter
    effective_from: dt.date
    reference: str
    message: tuple[str, str] | None

    def reason(self, default: str, **args) -> Reason:
        """This answer as a reason, its message filled from its figures and the given facts."""
        return Reason(self.message or TEXTS[default], args, self.rule.id, self.rule.region, self.effective_from,
                      self.reference, self.values)

    def citation(self) -> Citation:
        return Citation(self.rule.id, self.rule.region, self.effective_from, self.reference)


class Engine:
    def __init__(self, policy_set: PolicySet, *, set_id: str | None = None,
                 loaded_at: dt.datetime | None = None) -> None:
        self.policy_set = policy_set
        self.set_id, self.loaded_at = set_id, loaded_at  # the stored load it came from (None: the bundled tree)
        self.calendar = policy_set.calendar()
        self._candidates: dict[tuple[str, str], tuple[tuple[Rule, ...], tuple[str, ...]]] = {}
        self._answers: dict[tuple, Answer | None] = {}
        self._memo: dict[tuple, object] = {}
        self._regions: dict[str, str] = {}

    # --- which rule answers ----------------------------------------------------------------

    def policy_region(self, region: str) -> str:
        """The policy folder that governs a person insured in `region` (the national layer if none does)."""
        found = self._regions.get(region)
        if found is None:
            found = self._regions[region] = self.policy_set.region_of(region) or NATIONAL
        return found

    def memo(self, key: tuple, build: Callable[[], object]):
        """A value worked out once from the rules for the given key (which must name everything it depends
        on, the day included): the rules do not change while an engine lives."""
        found = self._memo.get(key, _MISS)
        if found is _MISS:
            if len(self._memo) >= _CACHE_LIMIT:
                self._memo.clear()
            found = self._memo[key] = build()
        return found

    def _rules_for(self, region: str, question: str) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
        key = (region, question)
        found = self._candidates.get(key)
        if found is None:
            layers = [self.policy_set.regions.get(region), self.policy_set.regions.get(NATIONAL)]
            rules = {r.id + "@" + r.region: r for layer in layers if layer for r in layer.rules.values()
                     if r.question == question}
            ordered = tuple(sorted(rules.values(), key=lambda r: -r.priority))
            facts = tuple(sorted({c.fact for r in ordered for c in r.conditions}))
            found = self._candidates[key] = (ordered, facts)
        return found

    def answer(self, region: str, question: str, facts: Mapping, day: dt.date) -> Answer | None:
        """The answer of the highest-priority rule in force on `day` whose conditions hold, or None."""
        rules, tested = self._rules_for(region, question)
        key = (region, question, day, *[facts.get(f) for f in tested])
        found = self._answers.get(key, _MISS)
        if found is not _MISS:
            return found
        found = None
        for rule in rules:
            version = rule.version_at(day)
            if version is None or not rule.applies(facts):
                continue
            values, units = dict(version.literals), {}
            since, references = version.effective_from, [rule.reference]
            for name, parameter in version.params:
                value, taken = parameter.at(day)  # the loader made sure it is in force while the version is
                values[name] = Fen(value) if parameter.unit == "fen" else value
                units[name] = parameter.unit
                since = max(since, taken)
                _cite(references, parameter.reference)
            found = Answer(rule, values, units, since, "；".join(references), version.message or rule.message)
            break
        if len(self._answers) >= _CACHE_LIMIT:
            self._answers.clear()
        self._answers[key] = found
        return found

    def no_rule(self, region: str, question: str, day: dt.date) -> Reason:
        """The reason given when no rule answers (the safe default applies: nothing is allowed)."""
        q = QUESTIONS[question]
        policy = self.policy_set.regions.get(region)
        name = Label((policy.name_zh, policy.name_en)) if policy else Label((region_name(region) or region,) * 2)
        return Reason(TEXTS["no_rule"], {"region": name, "date": day, "question_zh": q.zh, "question_en": q.en},
                      "none", region, day, "")

    # --- decisions -------------------------------------------------------------------------

    def decide(self, facts: Facts, at: dt.date) -> Decision:
        """Decide an action for the facts of one person on a day; the class of the facts names the action
        (policy.interface lists each action's facts)."""
        decide = actions.ACTIONS.get(type(facts))
        if decide is None:
            raise ValueError(f"not the facts of an action: {type(facts).__name__}; one of "
                             f"{', '.join(c.__name__ for c in actions.ACTIONS)}")
        return decide(self, facts, at)

    # --- the allocation interface contributions use ---------------------------------------------

    def personal_account_allocation(self, *, region: str, scheme: str, flexible: bool, birth_date: dt.date,
                                    period: dt.date, base_fen: int, retired: bool = False) -> Allocation:
        # A monthly file credits many people of one age on one base: they share one decision and its explanation.
        key = ("allocation", region, scheme, bool(flexible), bool(retired), actions.age_on(birth_date, period),
               period, base_fen)
        return self.memo(key, lambda: self._allocation(region, scheme, flexible, retired, birth_date, period,
                                                       base_fen))

    def _allocation(self, region: str, scheme: str, flexible: bool, retired: bool, birth_date: dt.date,
                    period: dt.date, base_fen: int) -> Allocation:
        decision = self.decide(ContributeFacts(region=region, scheme=scheme, flexible=flexible, retired=retired,
                                               birth_date=birth_date, base_fen=base_fen), period)
        if decision.code == "policy.rule_missing":
            raise errors.PolicyRuleMissing(region=region, date=period.isoformat(),
                                           rule="contribution.allocation")
        reason = decision.reasons[0]
        return Allocation(decision.details["amount_fen"], Citation(reason.rule_id, reason.region,
                          reason.effective_from, reason.reference), reason.message_zh, reason.message_en)


    def contribution_base_bounds(self, *, region: str, scheme: str, flexible: bool,
                                 period: dt.date) -> BaseBounds | None:
        """The floor and ceiling of the monthly base in force for the period's first day (None: no rule bounds
        this scheme's base, as where a flat amount is paid)."""
        return self.memo(("base_bounds", region, scheme, bool(flexible), period),
                         lambda: self._base_bounds(region, scheme, flexible, period))

    def _base_bounds(self, region: str, scheme: str, flexible: bool, period: dt.date) -> BaseBounds | None:
        answer = self.answer(self.policy_region(region), "contribution.base_bounds",
                             {"scheme": scheme, "flexible": bool(flexible)}, period)
        if answer is None:
            return None
        return BaseBounds(int(answer.values["floor"]), int(answer.values["ceiling"]), answer.citation())


def four_eyes_from_fen(engine: Engine, *, region: str, kind: str, day: dt.date) -> int | None:
    """The payout amount from which the batch maker is not the case's approver and the bank's return is recorded
    by someone other than the batch maker; None where no rule asks for it."""
    answer = engine.answer(engine.policy_region(region), "disbursement.four_eyes", {"kind": kind}, day)
    return int(answer.values["from"]) if answer is not None else None


def _cite(references: list[str], reference: str) -> None:
    """Add a reference unless it says no more than one already there; a fuller one replaces a shorter."""
    for i, known in enumerate(references):
        if reference.startswith(known):
            references[i] = reference
            return
        if known.startswith(reference):
            return
    references.append(reference)
