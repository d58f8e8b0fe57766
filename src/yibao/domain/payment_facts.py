"""What a payment finds before it decides: the facts of payer, owner and institution, the idempotency claim it
may make in the same read, and what is known of a payment code. Values only; the store reads them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain.filings import Filing
from yibao.domain.life_events import Standing
from yibao.domain.registry import Institution


@dataclass(frozen=True)
class SettlementFacts:
    """What a payment's decision depends on, read before any lock."""

    payer_id: str | None  # None: no unused, unexpired payment code of an active e-voucher
    owner_id: str | None  # None: no such person
    owner_region: str | None
    scheme: str | None  # the owner's enrolment in force that day
    relation: str | None  # the owner's active grant to the payer
    institution: Institution | None
    filing: Filing | None  # the account owner's filing in force, whatever it covers
    payer_standing: Standing = Standing()
    owner_standing: Standing = Standing()
    claimed: bool | None = None  # the read claimed the idempotency key (None: it was not asked to)


@dataclass(frozen=True)
class Claim:
    """An idempotency key to claim for a request: its scope, the key, the request's hash and the time."""

    scope: str
    key: str
    request_hash: str
    at: dt.datetime


@dataclass(frozen=True)
class PaymentCodeState:
    """What is known of a payment code: when it was used (if it was), when it expires, its e-voucher's status."""

    used_at: dt.datetime | None
    expires_at: dt.datetime
    evoucher_status: str
