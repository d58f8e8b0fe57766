"""Where and how a case is brought (办理渠道): its channel, whether the person is there in person and whether
someone acts for them come from the session that brings it, never from the request body.

- a `person` session is `online`, or the channel of an active e-voucher of theirs (app, mini-program) when the
  request names that channel; never in person; by proxy when the applicant is someone else;
- a `terminal` session (a self-service machine at an agency site) is `terminal`, in person: the person at the
  machine proves themselves with their card and PIN, and that person is the applicant;
- agency staff (`counter`, `reviewer`, `admin`) act at the `counter` with the person in front of them; staff
  say `by_proxy` when a proxy (代办人) stands there for someone absent.

A body may still name `channel`, `in_person` and `by_proxy` (older clients do); a value that contradicts the
session is refused, a value left out is the session's.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.credentials import EVoucher
from yibao.domain.users import AGENCY_STAFF, Actor, Role
from yibao.services.context import Context
from yibao.services.credentials import cards
from yibao.services.ports import UnitOfWork

ONLINE, TERMINAL, COUNTER = "online", "terminal", "counter"
EVOUCHER_CHANNELS = ("app", "miniprogram")  # an e-voucher bound to one of these is its own channel


@dataclass(frozen=True)
class Presence:
    """How the case is brought: the channel, the person there in person, someone acting for them."""

    channel: str
    in_person: bool
    by_proxy: bool


def terminal_holder(ctx: Context, *, actor: Actor, credential: dict | None) -> str:
    """The person at a self-service terminal: the holder of the card whose PIN they typed (wrong PINs count
    towards the card's lock). A terminal with nobody proven in front of it acts for no one."""
    if not credential or credential.get("type", "card") != "card" or not credential.get("card_no"):
        raise errors.AccessForbidden()
    card = cards.verify_pin(ctx, actor=actor, card_no=credential["card_no"], pin=credential.get("pin") or "")
    return card.person_id


def _has_evoucher(uow: UnitOfWork, person_id: str | None, channel: str) -> bool:
    return person_id is not None and uow.one_by(EVoucher, person_id=person_id, channel=channel,
                                                status="active") is not None


def of_session(uow: UnitOfWork, actor: Actor, *, applicant_id: str, channel: str | None = None,
               in_person: bool | None = None, by_proxy: bool | None = None) -> Presence:
    """The session's channel, in-person and by-proxy facts; a body value that contradicts them is refused."""
    if actor.role == Role.TERMINAL:
        found = Presence(TERMINAL, in_person=True, by_proxy=False)
    elif actor.role in AGENCY_STAFF:
        proxy = by_proxy if by_proxy is not None else in_person is False
        found = Presence(COUNTER, in_person=not proxy, by_proxy=proxy)
    else:
        own = channel if channel in EVOUCHER_CHANNELS and _has_evoucher(uow, actor.person_id, channel) else ONLINE
        found = Presence(own, in_person=False, by_proxy=actor.person_id != applicant_id)
    for field, asked in (("channel", channel), ("in_person", in_person), ("by_proxy", by_proxy)):
        expected = getattr(found, field)
        if asked is not None and asked != expected:
            raise errors.ChannelMismatch(field=field, expected=str(expected).lower())
    return found
