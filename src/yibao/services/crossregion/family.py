"""Family grants (家庭共济, R13): the owner authorises a relative to pay from the owner's personal account.

Made by the owner online, a grant is pending and pays nothing until the grantee accepts from their own
session; made by agency staff at the counter, with both persons present, it is in force at once. The policy
decides which relations may be granted, for what, and how many; the relation must agree with the persons'
records (birth dates, sex, the spouse grants already open). Both persons must be verified (an activated
card or an e-voucher). A grant is ended by the owner, the grantee or the agency; a settlement by the grantee
checks it is in force, and the owner is told of every payment made from their account.
"""

from __future__ import annotations

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.credentials import EVoucher
from yibao.domain.filings import FamilyGrant, GrantStatus
from yibao.domain.identity import parse_id_number, same_name
from yibao.domain.ids import new_id
from yibao.domain.in_force import grant_in_force
from yibao.domain.kinship import Kin, OpenGrant, check_relation
from yibao.domain.masking import mask_name
from yibao.domain.money import yuan
from yibao.domain.registry import Institution, Person
from yibao.domain.users import AGENCY_STAFF, Actor
from yibao.policy.interface import FamilyGrantFacts
from yibao.services import access, notices
from yibao.services.context import Context
from yibao.services.credentials.throttle import LookupThrottle
from yibao.services.policy.decisions import citations, enforce
from yibao.services.ports import UnitOfWork
from yibao.services.registry.enrollments import enrollment_on


def in_force(uow: UnitOfWork, owner_id: str, grantee_id: str) -> FamilyGrant | None:
    return grant_in_force(uow.all_by(FamilyGrant, owner_id=owner_id, grantee_id=grantee_id,
                                    status=GrantStatus.ACTIVE), owner_id, grantee_id)


def _verified(uow: UnitOfWork, person_id: str) -> bool:
    """Real-name verified: an activated card (in any state since) or an e-voucher in use."""
    return uow.cards.any_activated(person_id) or uow.one_by(EVoucher, person_id=person_id, status="active") is not None


def _open_grants_of(uow: UnitOfWork, *person_ids: str) -> list[FamilyGrant]:
    """Grants pending or in force that the persons make or receive."""
    return uow.grants.open_of(*person_ids)


def _kin(person: Person) -> Kin:
    return Kin(person.id, person.birth_date, person.sex)


def _check(ctx: Context, uow: UnitOfWork, owner: Person, grantee: Person, relation: str,
           *, pending_to_accept: FamilyGrant | None = None) -> list:
    """The policy's answer for this relation, the relation against the persons' records, and the owner's number
    of grantees; returns the rules that allowed it. Accepting a pending grant checks the same, that grant aside."""
    today = ctx.today()
    enrollment = enrollment_on(uow, owner.id, today)
    decision = enforce(ctx.policy.decide(FamilyGrantFacts(
        region=owner.region, relation=relation, scheme=enrollment.scheme if enrollment else None), today))
    figures = decision.details
    others = [g for g in _open_grants_of(uow, owner.id, grantee.id) if g is not pending_to_accept]
    if "generation_gap_years" in figures:
        found = check_relation(relation, owner=_kin(owner), grantee=_kin(grantee), on=today,
                               generation_gap_years=figures["generation_gap_years"],
                               marriage_age=figures.get("marriage_age", {}),
                               open_grants=[OpenGrant(g.owner_id, g.grantee_id, g.relation) for g in others])
        if found is not None:
            raise errors.GrantRelationImplausible(reason=found.reason, reason_zh=found.reason_zh,
                                                  reason_en=found.reason_en, **found.facts)
    if "max_grantees" in figures:
        granted = sum(1 for g in others if g.owner_id == owner.id)
        if granted >= figures["max_grantees"]:
            raise errors.GrantTooManyGrantees(open_grants=granted, max_grantees=figures["max_grantees"])
    return citations(decision)


def _lock_persons(uow: UnitOfWork, *person_ids: str) -> dict[str, Person | None]:
    """Both persons, locked in a fixed order: concurrent grants for either one are decided one after the other."""
    return {pid: uow.get(Person, pid, for_update=True) for pid in sorted(set(person_ids))}


def _ensure_standing(ctx: Context, uow: UnitOfWork, *person_ids: str) -> None:
    """No grant to or from a person who has died or emigrated, or whose account the agency froze."""
    for person_id in person_ids:
        uow.persons.standing(person_id).ensure_usable(ctx.today())


def grant(ctx: Context, *, actor: Actor, owner_id: str, grantee_id: str, relation: str) -> tuple[FamilyGrant, list]:
    """Authorise a relative: pending until they accept (the owner online), in force at once (staff at the
    counter, both present); returns the grant and the rules that allowed it."""
    access.ensure_owner_or_staff(actor, owner_id)
    at_counter = actor.role in AGENCY_STAFF
    if owner_id == grantee_id:
        raise errors.GrantInvalid(reason_zh="不能授权给本人", reason_en="an owner cannot grant themselves")
    with ctx.uow() as uow:
        uow.conflict_means(errors.GrantDuplicate())
        persons = _lock_persons(uow, owner_id, grantee_id)
        owner, grantee = persons[owner_id], persons[grantee_id]
        if owner is None or grantee is None:
            raise errors.PersonNotFound()
        _ensure_standing(ctx, uow, owner_id, grantee_id)
        unverified = [p.id for p in (owner, grantee) if not _verified(uow, p.id)]
        if unverified:
            raise errors.GrantInvalid(reason_zh="双方须已完成实名认证（激活医保卡或医保电子凭证）",
                                      reason_en="both persons must be verified (an activated card or an e-voucher)",
                                      unverified=unverified)
        if uow.grants.open_between(owner_id, grantee_id):
            raise errors.GrantDuplicate()
        rules = _check(ctx, uow, owner, grantee, relation)
        now = ctx.now()
        status = GrantStatus.ACTIVE if at_counter else GrantStatus.PENDING
        found = FamilyGrant(new_id("fgr"), owner_id, grantee_id, relation, status.value, rules[0]["rule_id"], now,
                            accepted_at=now if at_counter else None)
        uow.add(found)
        ctx.audit(uow, actor, "family_grant.create", "family_grant", found.id, owner_id=owner_id,
                  grantee_id=grantee_id, relation=relation, status=found.status, at_counter=at_counter, rules=rules)
        if not at_counter:
            label = v.label(v.Relation, relation)
            notices.tell(ctx, uow, [grantee_id], kind="family_grant.invite",
                         title=("家庭共济授权待您确认", "A family grant awaits your consent"),
                         body=(f"一位家庭成员授权您（{label[0]}）使用其职工医保个人账户，确认后生效。",
                               f"A relative has granted you (as their {label[1]}) use of their personal account; "
                               "it takes effect once you accept."),
                         data={"grant_id": found.id, "owner_id": owner_id, "relation": relation})
        uow.commit()
        return found, rules


def accept(ctx: Context, *, actor: Actor, grant_id: str) -> tuple[FamilyGrant, list]:
    """The grantee, from their own session, consents: the grant comes into force (accepting again changes
    nothing); returns the grant and the rules that allow it today."""
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        found = uow.get(FamilyGrant, grant_id)
        if found is None:
            raise errors.GrantNotFound()
        access.ensure(actor, "grant", "accept", owners=(found.grantee_id,))  # not the owner, not staff for them
        persons = _lock_persons(uow, found.owner_id, found.grantee_id)
        _ensure_standing(ctx, uow, found.owner_id, found.grantee_id)
        uow.grants.lock(found)
        if found.status == GrantStatus.ACTIVE:
            return found, []
        if found.status != GrantStatus.PENDING:
            raise errors.GrantWrongState(status=found.status, action="accept")
        rules = _check(ctx, uow, persons[found.owner_id], persons[found.grantee_id], found.relation,
                       pending_to_accept=found)
        before, after = found.apply("accept", ctx.now())
        found.rule_id = rules[0]["rule_id"]
        ctx.audit(uow, actor, "family_grant.accept", "family_grant", found.id, from_status=before, to_status=after,
                  rules=rules)
        uow.commit()
        return found, rules


def _end(ctx: Context, *, actor: Actor, grant_id: str, asked: str | None) -> FamilyGrant:
    with ctx.uow() as uow:
        found = uow.get(FamilyGrant, grant_id, for_update=True)
        if found is None:
            raise errors.GrantNotFound()
        is_grantee = access.is_owner(actor, found.grantee_id)
        if asked == "decline":
            access.ensure(actor, "grant", "decline", owners=(found.grantee_id,))
        else:
            access.ensure(actor, "grant", "end", owners=(found.owner_id, found.grantee_id))
        if asked is not None:
            action = asked
        elif found.status == GrantStatus.PENDING:  # withdrawn before it was answered, or turned down
            action = "decline" if is_grantee else "cancel"
        else:
            action = "revoke"
        before, after = found.apply(action, ctx.now())
        ctx.audit(uow, actor, f"family_grant.{action}", "family_grant", found.id, from_status=before,
                  to_status=after)
        uow.commit()
        return found


def revoke(ctx: Context, *, actor: Actor, grant_id: str) -> FamilyGrant:
    """End a grant: by the owner, the grantee, or agency staff (a pending one is cancelled, or declined by the
    grantee)."""
    return _end(ctx, actor=actor, grant_id=grant_id, asked=None)


def decline(ctx: Context, *, actor: Actor, grant_id: str) -> FamilyGrant:
    """The grantee turns down a pending grant."""
    return _end(ctx, actor=actor, grant_id=grant_id, asked="decline")


def end_open_grants(ctx: Context, uow: UnitOfWork, *, actor: Actor, person_id: str, reason: str) -> list[str]:
    """End every grant to and from a person, in the caller's unit of work (a life event): those in force are
    revoked, those awaiting consent cancelled. Returns the ids ended; ending again finds none."""
    ended = []
    for found in _open_grants_of(uow, person_id):
        action = "cancel" if found.status == GrantStatus.PENDING else "revoke"
        before, after = found.apply(action, ctx.now())
        ctx.audit(uow, actor, f"family_grant.{action}", "family_grant", found.id, from_status=before,
                  to_status=after, reason=reason)
        ended.append(found.id)
    return ended


def tell_owner_of_payment(ctx: Context, uow: UnitOfWork, *, owner_id: str, payer_id: str, relation: str | None,
                          settlement_id: str, institution_name: str, paid_fen: int) -> None:
    """The owner's notice of a payment a grantee made from the owner's account, in the settlement's unit of
    work (no names: the relation says who)."""
    label = v.label(v.Relation, relation or "")
    notices.tell(ctx, uow, [owner_id], kind="family_grant.payment",
                 title=("家庭成员使用了您的个人账户", "A relative paid from your personal account"),
                 body=(f"您授权的{label[0]}在{institution_name}结算，个人账户支付 {yuan(paid_fen)}。",
                       f"Your {label[1]} paid at {institution_name}; {yuan(paid_fen)} came from your personal "
                       "account."),
                 data={"settlement_id": settlement_id, "payer_id": payer_id, "relation": relation,
                       "account_paid_fen": paid_fen})


def list_grants(ctx: Context, *, actor: Actor, person_id: str) -> list[FamilyGrant]:
    """The grants a person has made and those made to them, newest first."""
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        return uow.grants.of_person(person_id)


def _grantee_throttle(ctx: Context) -> LookupThrottle:
    return ctx.extras.setdefault("grantee_lookup_throttle", LookupThrottle(ctx.settings))


def grant_to_named(ctx: Context, *, actor: Actor, owner_id: str, id_number: str, name: str,
                   relation: str) -> tuple[FamilyGrant, list]:
    """Authorise a relative named by their ID number and name, as the owner knows them (never by a record id):
    a number unknown and a name that does not match answer alike, and such misses are throttled per user."""
    access.ensure_owner_or_staff(actor, owner_id)
    number = parse_id_number(id_number, today=ctx.today()).number
    throttle, user_key = _grantee_throttle(ctx), actor.username.casefold()
    if (wait := throttle.reserve(user_key=user_key)) is not None:
        raise errors.PersonLookupThrottled(retry_after_seconds=wait)
    with ctx.uow() as uow:
        grantee = uow.one_by(Person, id_number=number)
    if grantee is None or not same_name(grantee.name, name):
        raise errors.PersonNotFound()
    throttle.found(user_key=user_key)
    return grant(ctx, actor=actor, owner_id=owner_id, grantee_id=grantee.id, relation=relation)


def grants_seen_by(ctx: Context, *, actor: Actor, person_id: str) -> list[dict]:
    """The person's grants, newest first, each with whether the person made it or received it and the other
    person's name masked (the grant, `made`, `other_name`, and what the person may do: accept, decline, end)."""
    found = list_grants(ctx, actor=actor, person_id=person_id)
    with ctx.uow() as uow:
        names = {p: uow.get(Person, p).name for g in found for p in (g.owner_id, g.grantee_id)}
    shown = []
    for g in found:
        made = g.owner_id == person_id
        pending, active = g.status == GrantStatus.PENDING, g.status == GrantStatus.ACTIVE
        shown.append({"grant": g, "made": made, "other_name": mask_name(names[g.grantee_id if made else g.owner_id]),
                      "may_accept": pending and not made, "may_decline": pending and not made,
                      "may_end": active or (pending and made)})
    return shown


def paid_by_grantees(ctx: Context, *, actor: Actor, owner_id: str) -> list[dict]:
    """What relatives paid from the owner's account, newest first: day, institution, relation, amounts (no
    names or ID numbers: the relation of the grant says who)."""
    with ctx.uow() as uow:
        if uow.get(Person, owner_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, owner_id)
        paid = [s for s in uow.settlements.of_person(owner_id) if s.owner_id == owner_id and s.payer_id != owner_id]
        relations = {g.grantee_id: g.relation for g in uow.grants.of_person(owner_id) if g.owner_id == owner_id}
        institutions = {s.institution_code: uow.get(Institution, s.institution_code) for s in paid}
        return [{"settlement_id": s.id, "business_date": s.business_date, "at": s.at,
                 "institution_name": institutions[s.institution_code].name if institutions[s.institution_code]
                 else s.institution_code, "relation": relations.get(s.payer_id), "account_paid_fen": s.account_paid_fen,
                 "refunded_fen": s.refunded_fen, "status": s.status} for s in paid]
