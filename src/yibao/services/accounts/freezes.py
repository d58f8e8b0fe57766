"""Account freezes (账户冻结): the agency freezes a person's account, and every card (old and new) and every
e-voucher of theirs is refused `account.frozen` until the agency lifts it with a reason.

The holder's own steps (report lost, replace, activate) cannot lift it: replacing and activating are refused
while the freeze holds. The person's active cards show as frozen and become active again when it is lifted.
"""

from __future__ import annotations

from yibao.domain import errors
from yibao.domain.cards import Card, CardAction, CardStatus
from yibao.domain.ids import new_id
from yibao.domain.life_events import AccountFreeze
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork

MAX_REASON = 200


def checked_reason(reason: str | None, missing: type[errors.DomainError]) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise missing()
    if len(reason) > MAX_REASON:
        raise errors.RequestInvalid(summary=f"reason: at most {MAX_REASON} characters")
    return reason


def open_freeze(uow: UnitOfWork, person_id: str, *, for_update: bool = False) -> AccountFreeze | None:
    """The freeze in force on the person's account, if any."""
    found = uow.one_by(AccountFreeze, person_id=person_id, lifted_at=None)
    if found is not None and for_update:
        return uow.get(AccountFreeze, found.id, for_update=True)
    return found


def _move_cards(ctx: Context, uow: UnitOfWork, actor: Actor, person_id: str, action: CardAction,
                status: CardStatus, **details) -> list[str]:
    moved = []
    for card in uow.all_by(Card, "created_at", person_id=person_id):
        if card.status_on(ctx.today()) == status:
            before, after = card.apply(action, ctx.today())
            card.frozen_reason = details["reason"] if action == CardAction.FREEZE else None
            ctx.audit(uow, actor, f"card.{action.value}", "card", card.card_no, from_status=before.value,
                      to_status=after.value, **details)
            moved.append(card.card_no)
    return moved


def freeze_in(ctx: Context, uow: UnitOfWork, actor: Actor, person_id: str, reason: str,
              card_no: str | None = None) -> AccountFreeze:
    """Inside the caller's unit of work: freeze the account, and show each active card as frozen."""
    if open_freeze(uow, person_id) is not None:
        raise errors.AccountAlreadyFrozen()
    found = AccountFreeze(new_id("frz"), person_id, reason, ctx.now(), actor.username, card_no)
    uow.add(found)
    uow.flush()  # the one-open-freeze index refuses a concurrent second freeze here
    cards = _move_cards(ctx, uow, actor, person_id, CardAction.FREEZE, CardStatus.ACTIVE, reason=reason,
                        freeze_id=found.id)
    ctx.audit(uow, actor, "account.freeze", "person", person_id, freeze_id=found.id, reason=reason, card_no=card_no,
              cards=cards)
    return found


def lift_in(ctx: Context, uow: UnitOfWork, actor: Actor, found: AccountFreeze, reason: str) -> AccountFreeze:
    """Inside the caller's unit of work: lift the freeze; the cards it froze are active again."""
    found.lift(at=ctx.now(), by=actor.username, reason=reason)
    cards = _move_cards(ctx, uow, actor, found.person_id, CardAction.UNFREEZE, CardStatus.FROZEN, reason=reason,
                        freeze_id=found.id)
    ctx.audit(uow, actor, "account.unfreeze", "person", found.person_id, freeze_id=found.id, reason=reason,
              cards=cards)
    return found


def _person(uow: UnitOfWork, person_id: str) -> Person:
    person = uow.get(Person, person_id)
    if person is None:
        raise errors.PersonNotFound()
    return person


def freeze_person(ctx: Context, *, actor: Actor, person_id: str, reason: str) -> AccountFreeze:
    """The agency freezes a person's account (suspected misuse, investigation), with a reason."""
    access.ensure(actor, "freeze", "create")
    reason = checked_reason(reason, errors.FreezeReasonMissing)
    with ctx.uow() as uow:
        uow.conflict_means(errors.AccountAlreadyFrozen())
        _person(uow, person_id)
        found = freeze_in(ctx, uow, actor, person_id, reason)
        uow.commit()
        return found


def unfreeze_person(ctx: Context, *, actor: Actor, person_id: str, reason: str) -> AccountFreeze:
    """The agency lifts the freeze of a person's account, with a reason."""
    access.ensure(actor, "freeze", "lift")
    reason = checked_reason(reason, errors.UnfreezeReasonMissing)
    with ctx.uow() as uow:
        _person(uow, person_id)
        found = open_freeze(uow, person_id, for_update=True)
        if found is None:
            raise errors.AccountNotFrozen()
        lift_in(ctx, uow, actor, found, reason)
        uow.commit()
        return found


def list_freezes(ctx: Context, *, actor: Actor, person_id: str) -> list[AccountFreeze]:
    """Every freeze of the person's account, newest first (agency staff and auditors)."""
    access.ensure(actor, "freeze", "read")
    with ctx.uow() as uow:
        _person(uow, person_id)
        return list(reversed(uow.all_by(AccountFreeze, "frozen_at", person_id=person_id)))
