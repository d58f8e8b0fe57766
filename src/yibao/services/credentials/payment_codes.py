"""Payment codes (付款码): the one-minute, one-use code an e-voucher shows as its QR, and the only form in which an
e-voucher pays. The long-lived e-voucher token is the app's credential to ask for codes; it pays nothing itself.

A code is 20 random digits (about 66 bits), kept only as its digest, valid 60 seconds from the server's clock and
used once: the payment that uses it marks it inside its own unit of work, so a payment that fails leaves it
usable and two payments with one code cannot both commit.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.clock import local_date
from yibao.domain.credentials import Channel, EVoucher
from yibao.domain.users import Actor, Role
from yibao.services import access
from yibao.services.context import Context, digest
from yibao.services.credentials.throttle import RequestThrottle
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events

VALID_SECONDS = 60
DIGITS = 20


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: dt.datetime


def _throttles(ctx: Context) -> tuple[RequestThrottle, RequestThrottle]:
    window, s = ctx.settings.payment_codes_window_seconds, ctx.settings
    return (ctx.extras.setdefault("payment_codes_per_address", RequestThrottle(
                per_key=s.payment_codes_per_address, window_seconds=window)),
            ctx.extras.setdefault("payment_codes_per_evoucher", RequestThrottle(
                per_key=s.payment_codes_per_evoucher, window_seconds=window)))


def _new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def issue(ctx: Context, *, token: str, address: str | None = None) -> IssuedCode:
    """A new payment code for the holder of an active e-voucher who may pay (not dead, emigrated or frozen)."""
    _hit_address(ctx, address)
    with ctx.uow() as uow:
        found = uow.one_by(EVoucher, token_digest=digest(token or ""), status="active")
        if found is None:
            raise errors.EVoucherInvalid()
        holder = Actor(username=f"evoucher:{found.id}", role=Role.PERSON, person_id=found.person_id)
        return _issue_for(ctx, uow, found, holder, address)


def issue_for_owner(ctx: Context, *, actor: Actor, address: str | None = None) -> IssuedCode:
    """A new payment code for the signed-in person's own active e-voucher (the web page's QR, where the session
    stands for the app's token): the person only, never staff for them; the same throttles and audit as `issue`.
    Of several active e-vouchers the web channel's is used, else the latest activated."""
    access.ensure(actor, "evoucher", "show_code", owners=(actor.person_id,))
    _hit_address(ctx, address)
    with ctx.uow() as uow:
        active = uow.all_by(EVoucher, "activated_at", person_id=actor.person_id, status="active")
        if not active:
            raise errors.EVoucherInvalid()
        found = next((v for v in active if v.channel == Channel.WEB), active[-1])
        access.ensure(actor, "evoucher", "show_code", owners=(found.person_id,))
        return _issue_for(ctx, uow, found, actor, address)


def _hit_address(ctx: Context, address: str | None) -> None:
    per_address, _ = _throttles(ctx)
    if (wait := per_address.hit(f"address:{(address or 'unknown')[:64]}")) is not None:
        raise errors.PaymentCodesThrottled(retry_after_seconds=wait)


def _issue_for(ctx: Context, uow: UnitOfWork, found: EVoucher, holder: Actor, address: str | None) -> IssuedCode:
    """Store and audit a new code of this e-voucher, inside the caller's unit of work (committed here)."""
    _, per_voucher = _throttles(ctx)
    if (wait := per_voucher.hit(f"evoucher:{found.id}")) is not None:
        raise errors.PaymentCodesThrottled(retry_after_seconds=wait)
    uow.conflict_means(errors.ConcurrentChange())
    voucher = uow.get(EVoucher, found.id, for_update=True)  # one code after another on its audit chain
    if voucher.status != "active":
        raise errors.EVoucherInvalid()
    now = ctx.now()
    life_events.ensure_usable(uow, voucher.person_id, local_date(now))
    code, expires_at = _new_code(), now + dt.timedelta(seconds=VALID_SECONDS)
    uow.payment_codes.add(code_digest=digest(code), evoucher_id=voucher.id, person_id=voucher.person_id,
                          issued_at=now, expires_at=expires_at)
    ctx.audit(uow, holder, "evoucher.payment_code", "evoucher", voucher.id, expires_at=expires_at.isoformat(),
              address=(address or "unknown")[:64])
    uow.commit()
    return IssuedCode(code, expires_at)


def refusal(uow: UnitOfWork, *, code: str, now: dt.datetime) -> errors.DomainError:
    """Why a code pays nothing now: unknown, used, expired, or its e-voucher revoked since it was shown."""
    state = uow.payment_codes.state(digest(code))
    if state is None:
        return errors.PaymentCodeInvalid()
    if state.used_at is not None:
        return errors.PaymentCodeUsed()
    if state.expires_at <= now:
        return errors.PaymentCodeExpired()
    return errors.EVoucherInvalid()


def holder(uow: UnitOfWork, *, code: str, now: dt.datetime) -> str:
    """The person whose e-voucher shows this code, while it is unused and valid (it is not used by this)."""
    person_id = uow.payment_codes.holder(digest(code), now)
    if person_id is None:
        raise refusal(uow, code=code, now=now)
    return person_id


def use(uow: UnitOfWork, *, code: str, now: dt.datetime, used_for: str) -> None:
    """Mark the code used by a payment in that payment's unit of work; a concurrent payment that marked it first
    (committed) leaves nothing to mark here, and this payment is refused."""
    if not uow.payment_codes.mark_used(digest(code), now=now, used_for=used_for):
        raise refusal(uow, code=code, now=now)
