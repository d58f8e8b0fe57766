"""Cross-region treatment filings (异地就医备案, R14): file, cancel, list, and which filing covers a place.

The policy decides whether a type and reason may be filed, how long it is valid and whether a
filing in force may still be changed; a person has one filing in force, a new one replaces it.
"""

from __future__ import annotations

import datetime as dt

from yibao.domain import errors, in_force
from yibao.domain import vocabulary as v
from yibao.domain.filings import Filing, FilingStatus
from yibao.domain.ids import new_id
from yibao.domain.regions import pooling_region, validate_region, within
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.policy.interface import CancelFilingFacts, Filed, FileFacts
from yibao.services import access
from yibao.services.context import Context
from yibao.services.policy.decisions import citations, enforce
from yibao.services.ports import UnitOfWork


def _in_force(uow: UnitOfWork, person_id: str, *, for_update: bool = False) -> Filing | None:
    found = in_force.filing_in_force(uow.all_by(Filing, "created_at", person_id=person_id,
                                                status=FilingStatus.ACTIVE))
    if found and for_update:
        return uow.get(Filing, found.id, for_update=True)
    return found


def covering(uow: UnitOfWork, person_id: str, place: str, day: dt.date) -> Filing | None:
    """The person's filing that direct-settles treatment at `place` on `day`, if any."""
    filing = _in_force(uow, person_id)
    return filing if filing is not None and filing.covers(place, day) else None


def _facts(filing: Filing) -> Filed:
    return Filed(type=filing.type, reason=filing.reason, valid_from=filing.valid_from)


def file(ctx: Context, *, actor: Actor, person_id: str, type: str, reason: str, destination_region: str,
         start_date: dt.date | None = None) -> tuple[Filing, list[dict]]:
    """File for treatment in another region; returns the filing and the rules that allowed it."""
    access.ensure_owner_or_staff(actor, person_id)
    if type not in v.FilingType or reason not in v.FilingReason:
        raise errors.FilingInvalid(reason_zh=f"类型须为 {'、'.join(v.FilingType)}，原因须为 {'、'.join(v.FilingReason)}",
                                   reason_en=f"type is one of {', '.join(v.FilingType)}; reason one of "
                                             f"{', '.join(v.FilingReason)}")
    validate_region(destination_region)
    today, policy = ctx.today(), ctx.policy
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        home = pooling_region(person.region)
        if within(home, destination_region) or within(destination_region, home):
            raise errors.FilingInvalid(reason_zh=f"就医地 {destination_region} 与参保地 {home} 不是异地",
                                       reason_en=f"{destination_region} is not another region than the insured "
                                                 f"region {home}")
        existing = _in_force(uow, person_id, for_update=True)
        decision = enforce(policy.decide(FileFacts(
            region=person.region, type=type, reason=reason, start_date=start_date or today,
            existing=_facts(existing) if existing else None), today))
        now = ctx.now()
        if existing is not None:
            before, after = existing.apply("replace", now)
            ctx.audit(uow, actor, "filing.replace", "filing", existing.id, from_status=before, to_status=after)
            uow.flush()  # the old one leaves the one-in-force index before the new one enters it
        filing = Filing(new_id("fil"), person_id, type, reason, destination_region, decision.details["valid_from"],
                        decision.details["valid_to"], FilingStatus.ACTIVE, decision.reasons[0].rule_id, now)
        uow.add(filing)
        ctx.audit(uow, actor, "filing.create", "filing", filing.id, person_id=person_id, type=type, reason=reason,
                  destination_region=destination_region, valid_from=filing.valid_from.isoformat(),
                  valid_to=filing.valid_to.isoformat() if filing.valid_to else None, rules=citations(decision))
        uow.commit()
        return filing, citations(decision)


def terms(ctx: Context, *, actor: Actor, person_id: str, start_date: dt.date | None = None) -> list[dict]:
    """What a filing of each reason would give the person if filed today (a read: nothing is filed or recorded):
    its type, whether it is allowed (the filing in force it would replace counted), from when and until when it
    is valid, from when it may be changed or cancelled, and the rules that say so."""
    today, policy = ctx.today(), ctx.policy
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        existing = _in_force(uow, person_id)
    found = []
    for reason in v.FilingReason:
        type = v.FILING_TYPE_OF[reason]
        decision = policy.decide(FileFacts(region=person.region, type=type, reason=reason,
                                           start_date=start_date or today,
                                           existing=_facts(existing) if existing else None), today)
        shown = decision.as_dict()
        found.append({"reason": reason, "type": type, "allowed": decision.allowed,
                      "valid_from": decision.details.get("valid_from"), "valid_to": decision.details.get("valid_to"),
                      "changeable_from": decision.details.get("changeable_from"),
                      "explanation_zh": shown["explanation_zh"], "explanation_en": shown["explanation_en"],
                      "rules": shown["reasons"]})
    return found


def cancel(ctx: Context, *, actor: Actor, filing_id: str) -> Filing:
    """Cancel a filing in force, where its rule allows a change (a long-term one not within its first months)."""
    today, policy = ctx.today(), ctx.policy
    with ctx.uow() as uow:
        filing = uow.get(Filing, filing_id, for_update=True)
        if filing is None:
            raise errors.FilingNotFound()
        access.ensure_owner_or_staff(actor, filing.person_id)
        person = uow.get(Person, filing.person_id)
        if filing.status == FilingStatus.ACTIVE:
            enforce(policy.decide(CancelFilingFacts(region=person.region, type=filing.type, reason=filing.reason,
                                                    valid_from=filing.valid_from), today))
        before, after = filing.apply("cancel", ctx.now())
        ctx.audit(uow, actor, "filing.cancel", "filing", filing.id, from_status=before, to_status=after)
        uow.commit()
        return filing


def list_filings(ctx: Context, *, actor: Actor, person_id: str) -> list[Filing]:
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        return list(reversed(uow.all_by(Filing, "created_at", person_id=person_id)))
