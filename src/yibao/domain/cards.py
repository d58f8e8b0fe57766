"""The card (医保卡) lifecycle as one transition table, and the PIN rules (R4, R7)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from yibao.domain import errors

PIN_MAX_TRIES = 5


class CardStatus(StrEnum):
    ISSUED = "issued"
    ACTIVE = "active"
    LOST = "lost"
    FROZEN = "frozen"
    EXPIRED = "expired"
    REPLACED = "replaced"


class CardAction(StrEnum):
    ACTIVATE = "activate"
    REPORT_LOST = "report_lost"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    REPLACE = "replace"
    EXPIRE = "expire"
    USE = "use"  # paying or checking the PIN: allowed only when active; no state change


S, A = CardStatus, CardAction

TRANSITIONS: dict[tuple[CardStatus, CardAction], CardStatus] = {
    (S.ISSUED, A.ACTIVATE): S.ACTIVE,
    (S.ISSUED, A.REPORT_LOST): S.LOST,
    (S.ACTIVE, A.REPORT_LOST): S.LOST,
    (S.FROZEN, A.REPORT_LOST): S.LOST,
    (S.ACTIVE, A.FREEZE): S.FROZEN,
    (S.FROZEN, A.UNFREEZE): S.ACTIVE,
    (S.ISSUED, A.REPLACE): S.REPLACED,
    (S.ACTIVE, A.REPLACE): S.REPLACED,
    (S.LOST, A.REPLACE): S.REPLACED,
    (S.EXPIRED, A.REPLACE): S.REPLACED,
    (S.ISSUED, A.EXPIRE): S.EXPIRED,
    (S.ACTIVE, A.EXPIRE): S.EXPIRED,
    (S.FROZEN, A.EXPIRE): S.EXPIRED,
    (S.ACTIVE, A.USE): S.ACTIVE,
}

STATUS_ZH = {
    S.ISSUED: "待激活",
    S.ACTIVE: "正常",
    S.LOST: "已挂失",
    S.FROZEN: "已冻结",
    S.EXPIRED: "已过期",
    S.REPLACED: "已补换作废",
}

ACTION_ZH = {
    A.ACTIVATE: "激活",
    A.REPORT_LOST: "挂失",
    A.FREEZE: "冻结",
    A.UNFREEZE: "解冻",
    A.REPLACE: "补换",
    A.EXPIRE: "到期",
    A.USE: "使用",
}

_STATE_ERRORS: dict[CardStatus, type[errors.CardWrongState]] = {
    S.LOST: errors.CardLost,
    S.FROZEN: errors.CardFrozen,
    S.EXPIRED: errors.CardExpired,
    S.REPLACED: errors.CardReplaced,
    S.ISSUED: errors.CardNotActive,
}


@dataclass(eq=False)
class Card:
    card_no: str
    person_id: str
    status: str
    issued_on: dt.date
    expires_on: dt.date
    created_at: dt.datetime
    pin_hash: str | None = None
    pin_failures: int = 0
    pin_locked: bool = False
    replaced_by: str | None = None
    frozen_reason: str | None = None

    def is_past_expiry(self, today: dt.date) -> bool:
        return today > self.expires_on

    def status_on(self, today: dt.date) -> CardStatus:
        """The status a person sees today: past its expiry date a usable card is expired."""
        status = CardStatus(self.status)
        if self.is_past_expiry(today) and (status, A.EXPIRE) in TRANSITIONS:
            return S.EXPIRED
        return status

    def ensure_can(self, action: CardAction, today: dt.date) -> tuple[CardStatus, CardStatus]:
        """The (from, to) statuses the action would make, or the error of the current state.

        Expiry records what status_on already shows, so it moves from the recorded status.
        """
        current = CardStatus(self.status) if action is A.EXPIRE else self.status_on(today)
        target = TRANSITIONS.get((current, action))
        if action is A.EXPIRE and not self.is_past_expiry(today):
            target = None
        if target is None:
            error = _STATE_ERRORS.get(current, errors.CardWrongState)
            raise error(
                status=current.value,
                status_zh=STATUS_ZH[current],
                action=action.value.replace("_", " "),
                action_zh=ACTION_ZH[action],
                expires_on=self.expires_on.isoformat(),
            )
        return current, target

    def apply(self, action: CardAction, today: dt.date) -> tuple[CardStatus, CardStatus]:
        """Move the card by the transition table; returns (from, to) or raises the state's error."""
        current, target = self.ensure_can(action, today)
        self.status = target.value
        return current, target

    # --- PIN -----------------------------------------------------------------

    def record_pin_failure(self) -> int:
        """Count a wrong PIN; locks PIN use at the limit. Returns the tries left."""
        self.pin_failures += 1
        if self.pin_failures >= PIN_MAX_TRIES:
            self.pin_locked = True
        return max(PIN_MAX_TRIES - self.pin_failures, 0)

    def record_pin_success(self) -> None:
        self.pin_failures = 0

    def unlock_pin(self) -> None:
        self.pin_failures = 0
        self.pin_locked = False


def check_new_pin(pin: str, *, birth_date: dt.date, id_number: str) -> str:
    """A new PIN: six digits, not trivially guessable (repeats, runs, birth date, ID tail)."""
    if not (isinstance(pin, str) and len(pin) == 6 and pin.isascii() and pin.isdigit()):
        raise errors.PinFormatInvalid()
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in pairwise(digits)}
    if len(set(pin)) == 1:
        why = ("六位相同数字", "all six digits the same")
    elif steps in ({1}, {-1}):
        why = ("连续数字", "a run of consecutive digits")
    elif pin in {
        birth_date.strftime("%y%m%d"),
        birth_date.strftime("%d%m%y"),
        birth_date.strftime("%m%d%y"),
        birth_date.strftime("%Y%m"),
    }:
        why = ("出生日期", "the birth date")
    elif pin == id_number[-6:] or pin == id_number[-7:-1]:
        why = ("身份证号码末位", "the end of the ID number")
    else:
        return pin
    raise errors.PinTooSimple(why_zh=why[0], why_en=why[1])
