"""Decisions, one function per action: the questions each asks the rules, and how the answers combine.

Every action reads its facts (policy.interface: `region`, the person's insured region, and the others
its dataclass lists) by attribute, so a misnamed fact fails where the facts are built. What no rule
allows is not allowed: cashing out an account is the exception a rule must name, never the default.
"""

from __future__ import annotations

import calendar as months
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from yibao.domain import vocabulary as v
from yibao.domain.regions import pooling_region, within
from yibao.policy.decision import Decision, Fen, Label, Note, Requirement
from yibao.policy.interface import (
    ApplicationFacts,
    CancelFilingFacts,
    ContributeFacts,
    DisburseFacts,
    Facts,
    FamilyGrantFacts,
    Filed,
    FileFacts,
    RefundFacts,
    ReimburseFacts,
    SettleFacts,
    WithdrawFacts,
)
from yibao.policy.loader import NATIONAL
from yibao.policy.schema import LIMITS
from yibao.policy.texts import NOTES, TEXTS

if TYPE_CHECKING:
    from yibao.policy.engine import Answer, Engine


def share_of(amount_fen: int, rate: Decimal) -> int:
    """A rate's share of an amount in whole fen, rounded down: the account never pays a fraction too much."""
    return int((Decimal(amount_fen) * rate).to_integral_value(rounding=ROUND_DOWN))


def add_months(day: dt.date, n: int) -> dt.date:
    """The same day n months on, or the month's last day where it has no such day (31 Jan + 1 → 28/29 Feb)."""
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return day.replace(year=year, month=month, day=min(day.day, months.monthrange(year, month)[1]))


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _note(name: str, **args) -> Note:
    return Note(NOTES[name], args)


def _refused(action: str, code: str, engine: Engine, region: str, question: str, day: dt.date,
             answer: Answer | None, text: str, **args) -> Decision:
    reason = answer.reason(text, **args) if answer else engine.no_rule(region, question, day)
    return Decision(action, False, 0, code, reasons=[reason])


# --- contributions ---------------------------------------------------------------------------


def contribute(engine: Engine, facts: ContributeFacts, day: dt.date) -> Decision:
    """scheme, flexible, retired, birth_date, base_fen: the part of a month's contribution credited (划入)."""
    region = engine.policy_region(facts.region)
    asked = {"scheme": facts.scheme, "flexible": bool(facts.flexible),
             "retired": bool(facts.retired), "age": age_on(facts.birth_date, day)}
    answer = engine.answer(region, "contribution.allocation", asked, day)
    if answer is None:
        return Decision("contribute", False, 0, "policy.rule_missing",
                        reasons=[engine.no_rule(region, "contribution.allocation", day)])
    base = facts.base_fen
    if "rate" in answer.values:
        amount, text = share_of(base, answer.values["rate"]), "contribution.allocation.rate"
    else:
        amount, text = int(answer.values["amount"]), "contribution.allocation.amount"
    reason = answer.reason(text, base=Fen(base), amount=Fen(amount))
    return Decision("contribute", True, amount, reasons=[reason],
                    details={"amount_fen": amount, "source": answer.values["source"]})


# --- settlement ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SettlePlan:
    """What the rules say about paying at one kind of institution on one day: the same for every payment
    with the same region, institution place and kind, scheme, payer and filing, so it is worked out once."""

    cross: bool
    cross_answer: Answer | None
    coverage: Answer | None
    grant: Answer | None
    categories: frozenset
    limits: tuple[tuple[str, str, Answer], ...]  # (limit kind, question, answer) of the limits in force


def _settle_plan(engine: Engine, region: str, facts: SettleFacts, day: dt.date) -> _SettlePlan:
    home = region if region != NATIONAL else pooling_region(facts.region)
    cross = not within(home, facts.institution_region)
    scheme, kind, relation = facts.scheme, facts.institution_kind, facts.relation
    cross_answer = None
    if cross:
        cross_answer = engine.answer(region, "settlement.cross_region", {
            "has_filing": bool(facts.has_filing), "emergency": bool(facts.emergency),
            "institution_cross_region": bool(facts.institution_cross_region), "scheme": scheme}, day)
    coverage = engine.answer(region, "settlement.coverage", {"institution_kind": kind, "cross_region": cross}, day)
    categories = frozenset(coverage.values["categories"]) if coverage else frozenset()
    grant = None
    if relation is not None:  # paying from a relative's account: what the grant allows, too
        grant = engine.answer(region, "family.grant", {"relation": relation, "scheme": scheme}, day)
        if grant is not None and grant.values["allowed"]:
            categories &= frozenset(grant.values["categories"])
    asked = {"institution_kind": kind, "cross_region": cross, "scheme": scheme}
    limits = tuple((k, q, a) for k, q in _LIMIT_QUESTIONS if (a := engine.answer(region, q, asked, day)) is not None)
    return _SettlePlan(cross, cross_answer, coverage, grant, categories, limits)


_LIMIT_QUESTIONS = tuple((kind, f"settlement.limit.{kind}") for kind in LIMITS)


def settle(engine: Engine, facts: SettleFacts, day: dt.date) -> Decision:
    """designated (false when the institution is not designated that day), institution_region, institution_kind,
    institution_cross_region, has_filing, emergency, scheme, items
    [(category, amount_fen)], balance_fen, used {institution_daily, daily, yearly: fen; daily_count: n},
    and relation when a family member pays from the owner's account (the owner's facts otherwise).
    claim: true when a reimbursement claim's invoice is put to the decision (what a settlement at its issuer on
    its day would have paid): the gates of direct settlement (designation, cross-region permission) do not
    apply, since a claim is the way for what could not be settled directly; categories and limits do.

    The account pays what categories, limits and the balance allow; cash pays the rest, unless a
    limit's rule says to refuse instead (then nothing goes through)."""
    region = engine.policy_region(facts.region)
    items = facts.items
    total = sum(amount for _, amount in items)
    claim = bool(facts.claim)
    if facts.designated is False and not claim:
        return Decision("settle", False, 0, "institution.not_designated", notes=[_note("not_designated", date=day)],
                        details={"total_fen": total})
    key = ("settle", facts.region, facts.institution_region, facts.institution_kind, facts.scheme,
           facts.relation, bool(facts.has_filing), bool(facts.emergency),
           bool(facts.institution_cross_region), day)
    plan = engine.memo(key, lambda: _settle_plan(engine, region, facts, day))
    decision = Decision("settle", True, 0, details={"total_fen": total, "cross_region": plan.cross, "limits": {}})
    reasons = decision.reasons

    if plan.cross and not claim:
        answer = plan.cross_answer
        if answer is None or not answer.values["allowed"]:
            filed = bool(facts.has_filing)
            code = "settlement.cross_region_not_allowed" if filed else "filing.required"
            refused = _refused("settle", code, engine, region, "settlement.cross_region", day, answer,
                               "settlement.cross_region")
            refused.requirements.append(Requirement("filing", met=filed))
            refused.details = decision.details
            return refused
        reasons.append(answer.reason("settlement.cross_region"))
        # an emergency stated counts as filed only where the rule that allowed the payment asks for one
        decision.details["emergency_counted"] = any(c.fact == "emergency" and True in (c.values or ())
                                                    for c in answer.rule.conditions)

    relation, grant, coverage, categories = facts.relation, plan.grant, plan.coverage, plan.categories
    if relation is not None:
        if grant is None or not grant.values["allowed"]:
            return _refused("settle", "family.relation_not_allowed", engine, region, "family.grant", day, grant,
                            "family.grant.refused", relation=relation)
        reasons.append(grant.reason("family.grant", relation=relation))
    covered = sum(amount for category, amount in items if category in categories)
    if coverage is None:
        reasons.append(engine.no_rule(region, "settlement.coverage", day))
    else:
        uncovered = tuple(dict.fromkeys(c for c, _ in items if c not in categories)) if covered < total else ()
        text = "settlement.coverage.partial" if uncovered else "settlement.coverage"
        reasons.append(coverage.reason(text, institution_kind=facts.institution_kind, categories=tuple(
            c for c in coverage.values["categories"] if c in categories), uncovered=uncovered))
    if covered < total:
        decision.limited_by.append("category.not_covered")

    pay, refuse = covered, None
    used = facts.used or {}
    for limit_kind, question, answer in plan.limits:
        limit = answer.values["limit"]
        spent = used.get(limit_kind, 0) if limit_kind != "per_transaction" else 0
        if limit_kind == "daily_count":
            reached = spent + 1 > limit
            remaining = 0 if reached else pay
        else:
            remaining = max(0, limit - spent)
            reached = pay > remaining
        decision.details["limits"][limit_kind] = {"limit": int(limit), "used": spent, "rule_id": answer.rule.id,
                                                   "on_reach": answer.values["on_reach"],
                                                   "since": answer.effective_from}
        reasons.append(answer.reason(question, used=Fen(spent) if limit_kind != "daily_count" else spent,
                                     remaining=Fen(remaining)))
        if reached and pay > 0:
            pay = min(pay, remaining)
            decision.limited_by.append(f"limit.{limit_kind}")
            if answer.values["on_reach"] == "refuse" and refuse is None:
                refuse = f"limit.{limit_kind}"

    balance = facts.balance_fen
    if balance is not None and pay > balance:
        pay = max(0, balance)
        decision.limited_by.append("balance.insufficient")
        decision.notes.append(_note("balance.insufficient", balance=Fen(balance)))
    if refuse is not None:
        decision.allowed, decision.code, decision.max_amount_fen = False, refuse, 0
        decision.notes.append(Note(TEXTS["settlement.limit.refused"]))
        return decision
    decision.max_amount_fen = pay
    decision.details["cash_fen"] = total - pay
    return decision


def refund(engine: Engine, facts: RefundFacts, day: dt.date) -> Decision:
    """institution_kind: whether a refund frees the quota of the original period (yes unless a rule says no)."""
    region = engine.policy_region(facts.region)
    answer = engine.answer(region, "settlement.refund", {"institution_kind": facts.institution_kind}, day)
    restores = answer.values["restores_quota"] if answer else True
    return Decision("refund", True, details={"restores_quota": restores},
                    reasons=[answer.reason("settlement.refund")] if answer else [])


# --- family grants ---------------------------------------------------------------------------


def family_grant(engine: Engine, facts: FamilyGrantFacts, day: dt.date) -> Decision:
    """relation, scheme (the owner's): whether the owner may grant this relative use of the account, for what, and
    the figures the relation is checked against (years between generations, marriageable ages, how many)."""
    region = engine.policy_region(facts.region)
    relation = facts.relation
    answer = engine.answer(region, "family.grant", {"relation": relation, "scheme": facts.scheme}, day)
    if answer is None or not answer.values["allowed"]:
        return _refused("family_grant", "family.relation_not_allowed", engine, region, "family.grant", day, answer,
                        "family.grant.refused", relation=relation)
    reasons, details = [answer.reason("family.grant", relation=relation)], {"categories": answer.values["categories"]}
    checks = engine.answer(region, "family.relations", {"scheme": facts.scheme}, day)
    if checks is not None:  # the figures the persons' data is checked against (domain.kinship compares)
        values = checks.values
        reasons.append(checks.reason("family.relations"))
        details |= {"generation_gap_years": values["generation_gap"], "max_grantees": values["max_grantees"],
                    "marriage_age": {sex: values[f"marriage_age_{sex}"] for sex in ("male", "female")
                                     if values.get(f"marriage_age_{sex}") is not None}}
    return Decision("family_grant", True, reasons=reasons, details=details)


# --- applications: withdrawal and reimbursement ----------------------------------------------


def _application(engine: Engine, action: str, question: str, refused_code: str, facts: ApplicationFacts,
                 day: dt.date) -> tuple[Decision, Answer | None]:
    """What withdrawals and reimbursements share: the rule for the reason, then who, where, what and when."""
    region = engine.policy_region(facts.region)
    reason = facts.reason or "general"
    answer = engine.answer(region, question, {"reason": reason, "scheme": facts.scheme}, day)
    if answer is None or not answer.values["allowed"]:
        return _refused(action, refused_code, engine, region, question, day, answer, f"{question}.refused",
                        reason=_reason_label(question, reason)), None
    values = answer.values
    decision = Decision(action, True, reasons=[answer.reason(question, reason=_reason_label(question, reason))])
    by_proxy, channel, given = facts.by_proxy, facts.channel, facts.documents
    requirements = decision.requirements
    in_person = "heir" if reason == "death" else None  # a death case: the heir in person, not the deceased
    if values["in_person"]:
        requirements.append(Requirement("in_person", in_person, met=None if by_proxy is None else not by_proxy))
    if values["channels"]:
        requirements.append(Requirement("channel", values["channels"],
                                        met=None if channel is None else channel in values["channels"]))
    provided = set(given) if given is not None else None
    for document in values["documents"]:
        requirements.append(Requirement("document", document, met=None if provided is None else document in provided))
    event = facts.event_date
    if "window" in values:
        window, unit = values["window"], answer.units["window"]
        if event is None:  # the deadline depends on a day not known yet: say how long there is
            requirements.append(Requirement("within", (window, unit)))
        else:
            deadline = _after(event, window, unit)
            decision.details["deadline"] = deadline
            requirements.append(Requirement("window", deadline, met=day <= deadline))

    if values["in_person"] and by_proxy:
        _deny(decision, "application.in_person_required", _note("in_person.heir" if in_person else "in_person"))
    elif channel is not None and values["channels"] and channel not in values["channels"]:
        _deny(decision, "application.channel_not_allowed",
              _note("channel", channel=channel, channels=values["channels"]))
    elif missing := decision.missing_documents:
        _deny(decision, "application.documents_missing", _note("documents_missing", missing=tuple(missing)))
    elif "deadline" in decision.details and day > decision.details["deadline"]:
        _deny(decision, "application.window_closed", _note("window_closed", deadline=decision.details["deadline"]))
    return decision, answer


def _deny(decision: Decision, code: str, note: Note) -> None:
    decision.allowed, decision.code = False, code
    decision.notes.append(note)


@functools.cache
def _reason_label(question: str, reason: str) -> Label:
    return Label.of(v.WithdrawalReason if question == "withdrawal" else v.ReimbursementReason, reason)


def _after(start: dt.date, count: int, unit: str) -> dt.date:
    return add_months(start, count) if unit == "months" else start + dt.timedelta(days=count)


def _check_amount(decision: Decision, amount: int | None, maximum: int) -> None:
    decision.max_amount_fen = maximum
    if decision.allowed and amount is not None and amount > maximum:
        _deny(decision, "application.amount_exceeds", _note("amount_exceeds", amount=Fen(amount), max=Fen(maximum)))


def withdraw(engine: Engine, facts: WithdrawFacts, day: dt.date) -> Decision:
    """reason (general, death, emigration, transfer_out), scheme, balance_fen, amount_fen?, channel?, by_proxy?,
    documents? (the types provided; None when not known), event_date? (the death, the emigration …)."""
    decision, answer = _application(engine, "withdraw", "withdrawal", "withdrawal.not_allowed", facts, day)
    if answer is None:
        return decision
    balance = max(0, facts.balance_fen or 0)
    maximum = min(balance, answer.values["max"]) if "max" in answer.values else balance
    fee = int(answer.values.get("fee", 0))
    decision.details["fee_fen"] = fee
    amount = facts.amount_fen
    _check_amount(decision, amount, maximum)
    if fee:
        decision.notes.append(_note("fee", fee=Fen(fee), net=Fen(max(0, (amount or maximum) - fee))))
    return decision


def reimburse(engine: Engine, facts: ReimburseFacts, day: dt.date) -> Decision:
    """reason (cross_region, emergency, other), scheme, amount_fen (the invoices' total), balance_fen, channel?,
    by_proxy?, documents?, event_date? (the day of treatment): the share the account pays, within its balance."""
    decision, answer = _application(engine, "reimburse", "reimbursement", "reimbursement.not_allowed", facts, day)
    if answer is None:
        return decision
    amount = facts.amount_fen or 0
    payable = share_of(amount, answer.values["share"])
    if "max" in answer.values:
        payable = min(payable, answer.values["max"])
    payable = min(payable, max(0, facts.balance_fen or 0))
    decision.details["approved_fen"] = payable
    decision.max_amount_fen = payable
    return decision


# --- cross-region filing ---------------------------------------------------------------------


def file(engine: Engine, facts: FileFacts, day: dt.date) -> Decision:
    """type (long_term, temporary), reason, start_date? (today if not given), existing? {type, reason, valid_from}
    (a filing in force that this one would replace): whether it may be filed, and its validity."""
    region = engine.policy_region(facts.region)
    kind, reason = facts.type, facts.reason
    answer = engine.answer(region, "filing", {"type": kind, "reason": reason}, day)
    if answer is None or not answer.values["allowed"]:
        return _refused("file", "filing.not_allowed", engine, region, "filing", day, answer, "filing.refused",
                        type=kind, reason=_filing_reason(reason))
    values = answer.values
    existing = facts.existing
    if existing:
        locked = _locked_until(engine, region, existing, day)
        if locked is not None and day < locked[0]:  # the filing in force may not change yet: its rule says so
            return Decision("file", False, code="filing.locked", reasons=[locked[2]], notes=[locked[1]],
                            details={"changeable_from": locked[0]})
    decision = Decision("file", True, reasons=[answer.reason("filing", type=kind, reason=_filing_reason(reason))])
    if values["channels"]:
        decision.requirements.append(Requirement("channel", values["channels"]))
    for document in values["documents"]:
        decision.requirements.append(Requirement("document", document))
    start = facts.start_date or day
    if start < day and not values["retroactive"]:
        _deny(decision, "filing.start_in_past", _note("start_in_past", start_date=start))
        return decision
    valid_to = _valid_to(answer, start)
    decision.details.update(valid_from=start, valid_to=valid_to)
    if "locked" in values:
        decision.details["changeable_from"] = add_months(start, values["locked"])
    decision.notes.append(_note("valid_to", valid_from=start, valid_to=valid_to) if valid_to
                          else _note("until_cancelled"))
    return decision


def cancel_filing(engine: Engine, facts: CancelFilingFacts, day: dt.date) -> Decision:
    """type, reason, valid_from of the filing: whether it may be changed or cancelled today."""
    region = engine.policy_region(facts.region)
    locked = _locked_until(engine, region, facts, day)
    if locked is not None and day < locked[0]:
        return Decision("cancel_filing", False, code="filing.locked", reasons=[locked[2]], notes=[locked[1]],
                        details={"changeable_from": locked[0]})
    return Decision("cancel_filing", True, reasons=[locked[2]] if locked else [])


def _locked_until(engine: Engine, region: str, filing: Filed | CancelFilingFacts, day: dt.date):
    """(the first day it may change, the note, the reason) for a filing whose rule locks it for some months."""
    answer = engine.answer(region, "filing", {"type": filing.type, "reason": filing.reason}, day)
    if answer is None or "locked" not in answer.values:
        return None
    since = filing.valid_from
    unlocked = add_months(since, answer.values["locked"])
    note = _note("locked", valid_from=since, locked=answer.values["locked"], unlocked=unlocked)
    return unlocked, note, answer.reason("filing", type=filing.type, reason=_filing_reason(filing.reason))


def _valid_to(answer: Answer, start: dt.date) -> dt.date | None:
    """The last day of validity: the day before the same date `validity` later, or that month's last day
    where it has no such date (from 31 August, six months end on the last day of February)."""
    if "validity" not in answer.values:
        return None  # valid until cancelled
    validity, unit = answer.values["validity"], answer.units["validity"]
    if unit == "days":
        return start + dt.timedelta(days=validity - 1)
    end = add_months(start, validity)
    return end if end.day < start.day else end - dt.timedelta(days=1)


@functools.cache
def _filing_reason(reason: str | None) -> Label:
    return Label.of(v.FilingReason, reason)


# --- disbursement ----------------------------------------------------------------------------


def disburse(engine: Engine, facts: DisburseFacts, day: dt.date) -> Decision:
    """channel, bank: how many working days a payout takes, and the day it is expected to arrive."""
    region = engine.policy_region(facts.region)
    answer = engine.answer(region, "disbursement", {"channel": facts.channel, "bank": facts.bank}, day)
    if answer is None:
        return Decision("disburse", False, code="policy.rule_missing",
                        reasons=[engine.no_rule(region, "disbursement", day)])
    days = answer.values["working_days"]
    arrival = engine.calendar.add_working_days(day, days)
    return Decision("disburse", True, reasons=[answer.reason("disbursement", expected_arrival=arrival)],
                    details={"working_days": days, "expected_arrival_date": arrival})


ACTIONS: dict[type[Facts], Callable[[Engine, Facts, dt.date], Decision]] = {
    ContributeFacts: contribute, SettleFacts: settle, RefundFacts: refund, FamilyGrantFacts: family_grant,
    WithdrawFacts: withdraw, ReimburseFacts: reimburse, FileFacts: file, CancelFilingFacts: cancel_filing,
    DisburseFacts: disburse,
}
"""Each action's decision, by the class of its facts."""
