"""Family grants (家庭共济, R13): the owner authorises a relative to pay from the owner's personal account.

The policy decides which relations may be granted and what they may pay for; both persons must
be verified (an activated card or an e-voucher); a grant is revocable by the owner, the grantee
or the agency, and a settlement by the grantee checks it is in force.
"""

from __future__ import annotations

import sqlalchemy as sa

from yibao.domain import errors
from yibao.domain.cards import Card, CardStatus
from yibao.domain.credentials import EVoucher
from yibao.domain.filings import FamilyGrant, GrantStatus
from yibao.domain.ids import new_id
from yibao.domain.registry import Person
from yibao.domain.users import AGENCY_STAFF, READ_ALL, Actor
from yibao.services import access, enrolment
from yibao.services.context import Context
from yibao.services.decisions import citations, enforce
from yibao.store.uow import UnitOfWork


def in_force(uow: UnitOfWork, owner_id: str, grantee_id: str) -> FamilyGrant | None:
    return uow.one_by(FamilyGrant, owner_id=owner_id, grantee_id=grantee_id, status=GrantStatus.ACTIVE)


def _verified(uow: UnitOfWork, person_id: str) -> bool:
    """Real-name verified: an activated card (in any state since) or an e-voucher in use."""
    card = uow.session.scalar(sa.select(sa.literal(1)).where(
        Card.person_id == person_id, Card.status != CardStatus.ISSUED).limit(1))
    return card is not None or uow.one_by(EVoucher, person_id=person_id, status="active") is not None


def grant(ctx: Context, *, actor: Actor, owner_id: str, grantee_id: str, relation: str) -> tuple[FamilyGrant, list]:
    """Authorise a relative; returns the grant and the rules that allowed it."""
    access.ensure_owner_or_staff(actor, owner_id)
    if owner_id == grantee_id:
        raise errors.GrantInvalid(reason_zh="不能授权给本人", reason_en="an owner cannot grant themselves")
    today, policy = ctx.today(), ctx.policy
    with ctx.uow() as uow:
        uow.conflict_means(errors.GrantDuplicate())
        owner, grantee = uow.get(Person, owner_id), uow.get(Person, grantee_id)
        if owner is None or grantee is None:
            raise errors.PersonNotFound()
        unverified = [p.id for p in (owner, grantee) if not _verified(uow, p.id)]
        if unverified:
            raise errors.GrantInvalid(reason_zh="双方须已完成实名认证（激活医保卡或医保电子凭证）",
                                      reason_en="both persons must be verified (an activated card or an e-voucher)",
                                      unverified=unverified)
        if in_force(uow, owner_id, grantee_id) is not None:
            raise errors.GrantDuplicate()
        enrollment = enrolment.enrollment_on(uow, owner_id, today)
        decision = enforce(policy.decide("family_grant", {
            "region": owner.region, "relation": relation, "scheme": enrollment.scheme if enrollment else None}, today))
        found = FamilyGrant(new_id("fgr"), owner_id, grantee_id, relation, GrantStatus.ACTIVE,
                            decision.reasons[0].rule_id, ctx.now())
        uow.add(found)
        ctx.audit(uow, actor, "family_grant.create", "family_grant", found.id, owner_id=owner_id,
                  grantee_id=grantee_id, relation=relation, rules=citations(decision))
        uow.commit()
        return found, citations(decision)


def revoke(ctx: Context, *, actor: Actor, grant_id: str) -> FamilyGrant:
    """End a grant: by the owner, the grantee, or agency staff."""
    with ctx.uow() as uow:
        found = uow.get(FamilyGrant, grant_id, for_update=True)
        if found is None:
            raise errors.GrantNotFound()
        if not (actor.role in AGENCY_STAFF or access.is_owner(actor, found.owner_id)
                or access.is_owner(actor, found.grantee_id)):
            raise errors.AccessForbidden()
        before, after = found.apply("revoke", ctx.now())
        ctx.audit(uow, actor, "family_grant.revoke", "family_grant", found.id, from_status=before, to_status=after)
        uow.commit()
        return found


def list_grants(ctx: Context, *, actor: Actor, person_id: str) -> list[FamilyGrant]:
    """The grants a person has made and those made to them, newest first."""
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        if not (actor.role in READ_ALL or access.is_owner(actor, person_id)):
            raise errors.AccessForbidden()
        rows = uow.session.scalars(sa.select(FamilyGrant).where(
            sa.or_(FamilyGrant.owner_id == person_id, FamilyGrant.grantee_id == person_id))
            .order_by(FamilyGrant.created_at.desc())).all()
        return list(rows)
