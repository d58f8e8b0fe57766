"""The 12333 answer (R25): for a person and an action, allowed or not, why, what is needed, and where to go.

The person's facts (region, scheme, balance, the institution asked about) come from the records;
the policy engine decides; the answer cites the rules and names the agency to contact. Each
answer is recorded in the person's audit trail with the rules behind it. A death or emigration on record,
or an agency freeze, says no where the records do (a death case is answered for the heir, and needs the
death on record). The settle answer counts what the person has used of each limit (today, this year, at that
institution) from the quota accounts a settlement debits, so its maximum is what a payment now would take.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.life_events import LifeEventKind, Standing
from yibao.domain.regions import parents
from yibao.domain.registry import Agency, Institution, Person
from yibao.domain.users import Actor
from yibao.ledger import accounts as acct
from yibao.policy.decision import Decision, Note
from yibao.policy.interface import FACTS, Facts, FamilyGrantFacts, FileFacts, SettleFacts
from yibao.services import access
from yibao.services.context import Context
from yibao.services.crossregion import filings
from yibao.services.ports import UnitOfWork
from yibao.services.registry import enrollments, life_events
from yibao.services.settlement import payments

ACTIONS = {  # the actions a person asks about, with how the answer names them
    "settle": ("在定点医药机构使用个人账户支付", "paying from the personal account at a designated institution"),
    "withdraw": ("支取个人账户余额", "withdrawing the personal account balance"),
    "reimburse": ("申请零星报销", "claiming reimbursement"),
    "file": ("办理异地就医备案", "filing for treatment in another region"),
    "family_grant": ("授权家庭成员共济使用个人账户", "granting a relative use of the account"),
}
DEFAULT_REASON = {"withdraw": "general", "reimburse": "cross_region", "file": "other"}
# What a settlement line is taken to pay for, when the question names an institution but no category.
DEFAULT_CATEGORY = {"pharmacy": "drug", "hospital": "medical_service", "clinic": "medical_service"}


def _invalid(field: str, problem: str) -> errors.RequestInvalid:
    error = errors.RequestInvalid(summary=f"{field}: {problem}")
    error.facts["errors"] = [{"field": field, "problem": problem}]
    return error


def _facts(uow: UnitOfWork, person: Person, action: str, day: dt.date, *, amount_fen: int | None,
           institution_code: str | None, reason: str | None, relation: str | None, category: str | None,
           channel: str | None, by_proxy: bool | None) -> Facts:
    enrollment = enrollments.enrollment_on(uow, person.id, day)
    account = uow.ledger.accounts([acct.personal(person.id)]).get(acct.personal(person.id))
    balance = account.available_fen if account else 0
    region, scheme = person.region, enrollment.scheme if enrollment else None
    reason = reason or DEFAULT_REASON.get(action)
    if action == "settle":
        if not institution_code:
            raise _invalid("institution_code", "needed to say whether and how much the account pays there")
        institution = uow.get(Institution, institution_code)
        if institution is None:
            raise errors.InstitutionNotFound()
        category = category or DEFAULT_CATEGORY[institution.kind]
        if category not in v.Category:
            raise _invalid("category", f"one of {', '.join(v.Category)}")
        return SettleFacts(region=region, scheme=scheme, balance_fen=balance, institution_region=institution.region,
                           institution_kind=institution.kind, institution_cross_region=institution.cross_region,
                           has_filing=filings.covering(uow, person.id, institution.region, day) is not None,
                           items=[(category, amount_fen if amount_fen is not None else balance)],
                           designated=institution.designated_on(day))
    if action in ("withdraw", "reimburse"):
        reasons = v.WithdrawalReason if action == "withdraw" else v.ReimbursementReason
        if reason not in reasons:
            raise _invalid("reason", f"one of {', '.join(reasons)}")
        return FACTS[action](region=region, scheme=scheme, balance_fen=balance, channel=channel, by_proxy=by_proxy,
                             reason=reason, amount_fen=amount_fen)
    if action == "file":
        if reason not in v.FilingReason:
            raise _invalid("reason", f"one of {', '.join(v.FilingReason)}")
        return FileFacts(region=region, reason=reason, type=v.FILING_TYPE_OF[reason], start_date=day)
    if relation is not None and relation not in v.Relation:  # family_grant
        raise _invalid("relation", f"one of {', '.join(v.Relation)}")
    return FamilyGrantFacts(region=region, scheme=scheme, relation=relation)


def _standing_says(decision: Decision, state: Standing, action: str, reason: str | None, day: dt.date) -> None:
    """A refusal the person's records make whatever the policy allows: the death case without a death on record,
    any other use of a deceased or emigrated person's account, a frozen or closed account."""
    death_case = action == "withdraw" and reason == "death"
    opened = death_case or (action == "withdraw" and reason == "emigration")
    error: type[errors.DomainError] | None = None
    if state.closed:
        error = errors.AccountClosed
    elif death_case and state.event_kind != LifeEventKind.DEATH:
        error = errors.PersonNotDeceased
    elif state.in_effect_on(day) and not (opened and (state.event_kind == LifeEventKind.DEATH) == death_case):
        error = errors.PersonDeceased if state.event_kind == LifeEventKind.DEATH else errors.PersonEmigrated
    elif state.frozen and action in ("settle", "withdraw", "reimburse", "family_grant"):
        error = errors.AccountFrozen
    if error is not None:
        decision.allowed, decision.code = False, error.code
        decision.notes.append(Note((error.message_zh, error.message_en)))


def _agency(uow: UnitOfWork, region: str) -> Agency | None:
    return next((a for a in (uow.get(Agency, code) for code in parents(region)) if a is not None), None)


def _answer_text(decision: Decision, action: str, agency: Agency | None, lang: str) -> str:
    """The answer a hotline operator would give, in one paragraph."""
    i = 0 if lang == "zh" else 1
    what = ACTIONS[action][i]
    verdict = (f"可以{what}。" if decision.allowed else f"不能{what}。") if lang == "zh" else \
        (f"Yes: {what} is possible. " if decision.allowed else f"No: {what} is not possible. ")
    parts = [verdict + decision.explanation(lang) + ("。" if lang == "zh" else ".")]
    needs = [r.as_dict()[f"message_{lang}"] for r in decision.requirements if r.met is not True]
    if needs:
        parts.append(("需要：" if lang == "zh" else "What is needed: ") + ("；" if lang == "zh" else "; ").join(needs)
                     + ("。" if lang == "zh" else "."))
    if agency is not None:
        parts.append(f"咨询与办理：{agency.name}，{agency.address}，电话 {agency.phone}（{agency.hours}）。" if lang == "zh"
                     else f"Where to ask: {agency.name}, {agency.address}, phone {agency.phone} ({agency.hours}).")
    return "".join(parts) if lang == "zh" else " ".join(parts)


def explain(ctx: Context, *, actor: Actor, person_id: str, action: str, amount_fen: int | None = None,
            institution_code: str | None = None, reason: str | None = None, day: dt.date | None = None,
            relation: str | None = None, category: str | None = None, channel: str | None = None,
            by_proxy: bool | None = None) -> dict:
    """Whether a person may do something, why, what is needed and where to go, citing the rules."""
    if action not in ACTIONS:
        raise _invalid("action", f"one of {', '.join(ACTIONS)}")
    if amount_fen is not None and (type(amount_fen) is not int or amount_fen < 0):
        raise _invalid("amount_fen", "a whole number of fen, not negative")
    if channel is not None and channel not in v.Channel:
        raise _invalid("channel", f"one of {', '.join(v.Channel)}")
    day = day or ctx.today()
    policy = ctx.policy
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        facts = _facts(uow, person, action, day, amount_fen=amount_fen, institution_code=institution_code,
                       reason=reason, relation=relation, category=category, channel=channel, by_proxy=by_proxy)
        if action == "settle":  # what a payment now would find used: today's, this year's, at that institution
            plan = policy.decide(facts, day)
            facts = replace(facts, used=payments.used_now(uow, owner_id=person_id, institution_code=institution_code,
                                                            plan=plan, today=day))
        decision = policy.decide(facts, day)
        _standing_says(decision, life_events.standing(uow, person_id), action, getattr(facts, "reason", None), day)
        agency = _agency(uow, person.region)
        ctx.audit(uow, actor, "policy.explain", "person", person_id, asked=action, date=day.isoformat(),
                  allowed=decision.allowed, code=decision.code,
                  rules=[r.citation() for r in decision.reasons])
        uow.commit()
    answer = decision.as_dict()
    answer.update(
        person_id=person_id, date=day.isoformat(), question_zh=ACTIONS[action][0], question_en=ACTIONS[action][1],
        answer_zh=_answer_text(decision, action, agency, "zh"), answer_en=_answer_text(decision, action, agency, "en"),
        agency=None if agency is None else {"region": agency.region, "name": agency.name, "address": agency.address,
                                            "phone": agency.phone, "hours": agency.hours, "website": agency.website},
        policy_set={"id": policy.set_id, "digest": policy.policy_set.digest})
    return answer
