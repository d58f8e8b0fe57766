"""Card use cases: issue, activate, report lost, freeze, unfreeze, replace, PIN checks (R4, R7).

Every transition goes through the card's transition table and writes an audit record. A freeze is the
account's (services.freezes): asked on one card, it stops every card and e-voucher of the holder. A person
whose death or emigration is on record, or whose account is frozen, gets no card activated or replaced and
no card of theirs passes a PIN check.
"""

from __future__ import annotations

import datetime as dt
import secrets

from yibao.domain import errors
from yibao.domain.cards import Card, CardAction, CardStatus, check_new_pin
from yibao.domain.identity import with_luhn_digit
from yibao.domain.regions import pooling_region, within
from yibao.domain.registry import Institution, Person
from yibao.domain.users import Actor
from yibao.policy.loader import NATIONAL
from yibao.services import access, notices
from yibao.services.accounts import freezes
from yibao.services.context import Context
from yibao.services.crossregion import filings
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events


def _new_card_no(region: str) -> str:
    return with_luhn_digit(region + f"{secrets.randbelow(10**9):09d}")


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _card(uow: UnitOfWork, card_no: str, *, for_update: bool = False) -> Card:
    card = uow.get(Card, card_no, for_update=for_update)
    if card is None:
        raise errors.CardNotFound()
    return card


def _transition(ctx: Context, uow: UnitOfWork, actor: Actor, card: Card, action: CardAction, **details) -> None:
    before, after = card.apply(action, ctx.today())
    ctx.audit(uow, actor, f"card.{action.value}", "card", card.card_no,
              from_status=before.value, to_status=after.value, **details)


USABLE_UNTIL_EXPIRY = ("issued", "active", "frozen")  # the states a card leaves for `expired` at its expiry date


def mark_expired(ctx: Context, *, actor: Actor, today: dt.date) -> int:
    """The periodic job: every card past its expiry date is recorded expired, with its audit record (cards are
    also marked when next touched); running it again marks nothing more."""
    with ctx.uow() as uow:
        due = uow.cards.due_to_expire(today, USABLE_UNTIL_EXPIRY)
    marked = 0
    for card_no in due:
        with ctx.uow() as uow:
            card = _card(uow, card_no, for_update=True)
            if card.status != CardStatus.EXPIRED and card.status_on(today) == CardStatus.EXPIRED:
                _transition(ctx, uow, actor, card, CardAction.EXPIRE)
                uow.commit()
                marked += 1
    return marked


def _record_expiry(ctx: Context, card_no: str) -> None:
    """A card past its expiry date is recorded as expired (with its audit record) when next touched."""
    with ctx.uow() as uow:
        card = _card(uow, card_no, for_update=True)
        if card.status != CardStatus.EXPIRED and card.status_on(ctx.today()) == CardStatus.EXPIRED:
            _transition(ctx, uow, Actor.system("clock"), card, CardAction.EXPIRE)
            uow.commit()


def issue_card(ctx: Context, *, actor: Actor, person_id: str, expires_on: dt.date | None = None) -> Card:
    """Issue a new card to a person (status issued, to be activated by the holder)."""
    access.ensure(actor, "card", "issue")
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        if (refusal := life_events.standing(uow, person_id).refusal(ctx.today())) and not isinstance(
                refusal, errors.AccountFrozen):  # a frozen account may get a card; it is activated once lifted
            raise refusal
        card = _new_issued_card(ctx, uow, actor, person, expires_on)
        uow.commit()
        return card


def _new_issued_card(ctx: Context, uow: UnitOfWork, actor: Actor, person: Person,
                     expires_on: dt.date | None) -> Card:
    today = ctx.today()
    expires_on = expires_on or _add_years(today, ctx.settings.card_validity_years)
    if expires_on <= today:
        raise errors.RequestInvalid(summary="expires_on must be after today")
    card = Card(card_no=_new_card_no(person.region), person_id=person.id, status=CardStatus.ISSUED.value,
                issued_on=today, expires_on=expires_on, created_at=ctx.now())
    uow.add(card)
    ctx.audit(uow, actor, "card.issue", "card", card.card_no, person_id=person.id, to_status="issued",
              expires_on=expires_on.isoformat())
    return card


def get_card(ctx: Context, *, actor: Actor, card_no: str) -> Card:
    with ctx.uow() as uow:
        card = _card(uow, card_no)
        access.ensure(actor, "card", "read", owners=(card.person_id,))
        return card


def list_cards(ctx: Context, *, actor: Actor, person_id: str) -> list[Card]:
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        return uow.all_by(Card, "created_at", person_id=person_id)


def _act(ctx: Context, actor: Actor, card_no: str, action: CardAction, check, **details) -> Card:
    _record_expiry(ctx, card_no)
    with ctx.uow() as uow:
        card = _card(uow, card_no, for_update=True)
        check(uow, card)
        _transition(ctx, uow, actor, card, action, **details)
        uow.commit()
        return card


def activate(ctx: Context, *, actor: Actor, card_no: str, id_number: str, pin: str) -> Card:
    """The holder activates a card with their ID number and a new PIN."""
    def check(uow: UnitOfWork, card: Card) -> None:
        access.ensure_owner_or_staff(actor, card.person_id)
        life_events.ensure_usable(uow, card.person_id, ctx.today())
        person = uow.get(Person, card.person_id)
        if (id_number or "").strip().upper() != person.id_number:
            raise errors.CardIdentityMismatch()
        card.ensure_can(CardAction.ACTIVATE, ctx.today())
        check_new_pin(pin, birth_date=person.birth_date, id_number=person.id_number)
        card.pin_hash = ctx.hash_secret(pin)
        card.unlock_pin()

    return _act(ctx, actor, card_no, CardAction.ACTIVATE, check)


def report_lost(ctx: Context, *, actor: Actor, card_no: str) -> Card:
    """Report a card lost (挂失): it can no longer be used; replace it for a new one."""
    def check(uow: UnitOfWork, card: Card) -> None:
        access.ensure_owner_or_staff(actor, card.person_id)

    return _act(ctx, actor, card_no, CardAction.REPORT_LOST, check)


def freeze(ctx: Context, *, actor: Actor, card_no: str, reason: str) -> Card:
    """The agency freezes the card holder's account (suspected misuse, investigation): every card and
    e-voucher of theirs is refused until the agency lifts it."""
    access.ensure(actor, "card", "freeze")
    reason = freezes.checked_reason(reason, errors.FreezeReasonMissing)
    _record_expiry(ctx, card_no)
    with ctx.uow() as uow:
        uow.conflict_means(errors.AccountAlreadyFrozen())
        card = _card(uow, card_no, for_update=True)
        freezes.freeze_in(ctx, uow, actor, card.person_id, reason, card_no=card.card_no)
        uow.commit()
        return card


def unfreeze(ctx: Context, *, actor: Actor, card_no: str, reason: str) -> Card:
    """The agency lifts the freeze of the card holder's account, with a reason; its frozen cards are active again."""
    access.ensure(actor, "card", "unfreeze")
    reason = freezes.checked_reason(reason, errors.UnfreezeReasonMissing)
    _record_expiry(ctx, card_no)
    with ctx.uow() as uow:
        card = _card(uow, card_no, for_update=True)
        found = freezes.open_freeze(uow, card.person_id, for_update=True)
        if found is not None:
            freezes.lift_in(ctx, uow, actor, found, reason)
        else:  # no account freeze: the card's own state says why it cannot be unfrozen
            card.frozen_reason = None
            _transition(ctx, uow, actor, card, CardAction.UNFREEZE, reason=reason)
        uow.commit()
        return card


def replace(ctx: Context, *, actor: Actor, card_no: str) -> Card:
    """Replace a card (补办): the old card is void for ever, a new one is issued."""
    _record_expiry(ctx, card_no)
    with ctx.uow() as uow:
        old = _card(uow, card_no, for_update=True)
        access.ensure_owner_or_staff(actor, old.person_id)
        life_events.ensure_usable(uow, old.person_id, ctx.today())  # a frozen account is not replaced out of
        person = uow.get(Person, old.person_id)
        _transition(ctx, uow, actor, old, CardAction.REPLACE)
        new = _new_issued_card(ctx, uow, actor, person, None)
        old.replaced_by = new.card_no
        uow.commit()
        return new


def unlock_pin(ctx: Context, *, actor: Actor, card_no: str, id_number: str) -> Card:
    """The agency lifts a PIN lock after too many wrong tries, the holder's ID document checked at the counter;
    at most the policy's number of unlocks per card within its period."""
    access.ensure(actor, "card", "unlock_pin")
    with ctx.uow() as uow:
        card = _card(uow, card_no, for_update=True)
        holder = uow.get(Person, card.person_id)
        if (id_number or "").strip().upper() != holder.id_number:
            raise errors.CardIdentityMismatch()
        limit = ctx.policy.answer(ctx.policy.policy_region(holder.region), "card.pin_unlock", {}, ctx.today())
        unlocks = None
        if limit is not None:
            period, most = limit.values["period"], limit.values["max_unlocks"]
            unlocks = _unlocks_since(uow, card.card_no, ctx.now() - dt.timedelta(days=period))
            if unlocks >= most:
                raise errors.PinUnlockLimitReached(unlocks=unlocks, max_unlocks=most, period_days=period)
        card.unlock_pin()
        ctx.audit(uow, actor, "card.unlock_pin", "card", card.card_no, holder_checked="id_number",
                  unlock_number=None if unlocks is None else unlocks + 1)
        uow.commit()
        return card


def _unlocks_since(uow: UnitOfWork, card_no: str, since: dt.datetime) -> int:
    return uow.cards.unlocks_since(card_no, since)


def verify_pin(ctx: Context, *, actor: Actor, card_no: str, pin: str) -> Card:
    """Check a card and its PIN: the holder themselves, a self-service terminal or agency staff with the holder in
    front of them (institutions check a PIN only inside a settlement). Wrong PINs count towards the lock, and the
    holder is told when it locks."""
    if not access.allows(actor, "card", "verify_pin"):
        with ctx.uow() as uow:
            access.ensure(actor, "card", "verify_pin", owners=(_card(uow, card_no).person_id,))
    return _check_pin(ctx, actor, card_no, pin)


def check_pin_at_payment(ctx: Context, *, actor: Actor, card_no: str, pin: str, clears_tries: bool = True) -> Card:
    """The PIN check inside a settlement or its preview (after ensure_pin_checked_here); wrong PINs count as
    anywhere. A preview (`clears_tries=False`) writes nothing when the PIN is right: only a payment clears the
    count of earlier wrong tries."""
    access.ensure(actor, "card", "check_pin_at_payment")
    return _check_pin(ctx, actor, card_no, pin, clears_tries=clears_tries)


def _home(ctx: Context, region: str) -> str:
    """The region a person's account pays in without a filing: their region's policy area, else the pooling
    region (the same the settlement decision takes)."""
    area = ctx.policy.policy_region(region)
    return area if area != NATIONAL else pooling_region(region)


def ensure_pin_checked_here(ctx: Context, *, card_no: str, institution_code: str, owner_id: str | None,
                            emergency: bool) -> None:
    """Refuse, before any PIN is looked at, a payment at an institution outside the card holder's and the
    account owner's home region that no filing of theirs covers (no guess counted, no lock). A stated emergency
    (急诊抢救) goes on to the PIN where the policy counts it as filed there; stated emergencies are reviewed."""
    today, policy = ctx.today(), ctx.policy
    with ctx.uow() as uow:
        card, institution = _card(uow, card_no), uow.get(Institution, institution_code)
        if institution is None:
            raise errors.InstitutionNotFound()
        for person_id in dict.fromkeys(p for p in (card.person_id, owner_id) if p):
            person = uow.get(Person, person_id)
            if person is None:
                continue
            if within(_home(ctx, person.region), institution.region) or filings.covering(
                    uow, person.id, institution.region, today) is not None:
                return
            if emergency and (counted := policy.answer(
                    policy.policy_region(person.region), "settlement.cross_region",
                    {"has_filing": False, "emergency": True, "institution_cross_region": institution.cross_region},
                    today)) is not None and counted.values.get("allowed"):
                return
    raise errors.PinRegionNotCovered()


def prove_holder(ctx: Context, *, actor: Actor, card_no: str, pin: str, holder_id: str) -> Card | None:
    """The person in front of an institution's or the agency's counter proves they are `holder_id` with card and
    PIN (a cash redemption); wrong PINs count towards the lock as at a payment. Another person's card is None,
    its PIN never looked at: no guess counted at a stranger's card, no lock."""
    access.ensure(actor, "card", "prove_holder")
    with ctx.uow() as uow:
        if _card(uow, card_no).person_id != holder_id:
            return None
    return _check_pin(ctx, actor, card_no, pin)


def _check_pin(ctx: Context, actor: Actor, card_no: str, pin: str, *, clears_tries: bool = True) -> Card:
    _record_expiry(ctx, card_no)
    with ctx.uow() as uow:
        card, holder = _card_and_standing(uow, card_no)
        holder.ensure_usable(ctx.today())
        card.apply(CardAction.USE, ctx.today())
        if card.pin_locked:
            raise errors.PinLocked()
        if ctx.verify_secret(card.pin_hash, pin or ""):
            if card.pin_failures and clears_tries:
                card.record_pin_success()
                uow.commit()
            return card
        tries_left = card.record_pin_failure()
        ctx.audit(uow, actor, "card.pin_wrong", "card", card.card_no, failures=card.pin_failures,
                  locked=card.pin_locked)
        if card.pin_locked:
            _tell_pin_locked(ctx, uow, card)
        uow.commit()
        if card.pin_locked:
            raise errors.PinLocked()
        raise errors.PinWrong(tries_left=tries_left)


def _card_and_standing(uow: UnitOfWork, card_no: str):
    """The card (locked) and its holder's standing, read by one statement."""
    found = uow.cards.with_holder_standing(card_no)
    if found is None:
        raise errors.CardNotFound()
    return found


def _tell_pin_locked(ctx: Context, uow: UnitOfWork, card: Card) -> None:
    tail = card.card_no[-4:]
    notices.tell(ctx, uow, [card.person_id], kind="card", title=("医保卡密码已锁定", "Card PIN locked"),
                 body=(f"尾号 {tail} 的医保卡密码连续输错，已锁定；如非本人操作，请尽快到经办机构窗口核实并解锁。",
                       f"The PIN of your card ending {tail} was typed wrong too many times and is now locked; if "
                       "it was not you, go to the agency counter soon to check and unlock it."),
                 data={"card_tail": tail, "event": "pin_locked"})


def change_pin(ctx: Context, *, actor: Actor, card_no: str, old_pin: str, new_pin: str) -> Card:
    """The holder changes their card's PIN: the old PIN is needed (a wrong one counts towards the lock)."""
    with ctx.uow() as uow:
        card = _card(uow, card_no)
        access.ensure(actor, "card", "change_pin", owners=(card.person_id,))
        person = uow.get(Person, card.person_id)
    check_new_pin(new_pin, birth_date=person.birth_date, id_number=person.id_number)
    _check_pin(ctx, actor, card_no, old_pin)  # its own unit of work: a wrong old PIN counts
    with ctx.uow() as uow:
        card = _card(uow, card_no, for_update=True)
        card.pin_hash = ctx.hash_secret(new_pin)
        ctx.audit(uow, actor, "card.change_pin", "card", card.card_no)
        uow.commit()
        return card
