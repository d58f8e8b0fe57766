"""Two-phase holds: reserve now, then capture (whole or part) or void; a hold left open expires.

A hold keeps an amount of a guarded account back (available = posted − held) until it is
captured into an entry, voided, or passes its expiry time, whichever comes first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.domain import errors

# A hold with no time limit: the amount on a line sent to the bank stays held until the bank's signed return
# settles it, however long that takes (kept short of the calendar's end, so local times still convert).
UNTIL_SETTLED = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class HoldStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


TRANSITIONS = {
    (HoldStatus.PENDING, "capture"): HoldStatus.CAPTURED,
    (HoldStatus.PENDING, "void"): HoldStatus.VOIDED,
    (HoldStatus.PENDING, "expire"): HoldStatus.EXPIRED,
}


@dataclass(eq=False)
class Hold:
    id: str
    account_id: str
    counter_account_id: str  # where a capture sends the money
    amount_fen: int
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    purpose: str = ""
    captured_fen: int = 0
    entry_id: str | None = None
    closed_at: dt.datetime | None = None

    def is_expired(self, now: dt.datetime) -> bool:
        return self.status == HoldStatus.PENDING and now >= self.expires_at

    def close(self, action: str, now: dt.datetime) -> None:
        new = TRANSITIONS.get((HoldStatus(self.status), action))
        if new is None:
            raise errors.HoldWrongState(hold_id=self.id, status=self.status, action=action)
        self.status = new
        self.closed_at = now

    def ensure_capturable(self, amount_fen: int, now: dt.datetime) -> None:
        if self.status == HoldStatus.EXPIRED or self.is_expired(now):
            raise errors.HoldExpired(hold_id=self.id, expires_at=self.expires_at.isoformat())
        if self.status != HoldStatus.PENDING:
            raise errors.HoldWrongState(hold_id=self.id, status=self.status, action="capture")
        if not 0 < amount_fen <= self.amount_fen:
            raise errors.HoldCaptureTooLarge(hold_id=self.id, amount_fen=amount_fen, held_fen=self.amount_fen)
