"""E-vouchers (医保电子凭证) and linked bank accounts (R5, R6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    APP = "app"
    MINIPROGRAM = "miniprogram"
    WEB = "web"


@dataclass(eq=False)
class EVoucher:
    id: str
    person_id: str
    channel: str
    token_digest: str
    status: str  # active | revoked
    activated_at: dt.datetime
    revoked_at: dt.datetime | None = None

    def revoke(self, at: dt.datetime) -> None:
        self.status = "revoked"
        self.revoked_at = at


@dataclass(eq=False)
class BankAccount:
    """A bank account in the person's own name, linked for payouts; one person holds a number at a time."""

    id: str
    person_id: str
    account_no: str
    bank_name: str
    holder_name: str
    is_primary: bool
    created_at: dt.datetime
    status: str = "linked"  # linked | unlinked
    unlinked_at: dt.datetime | None = None

    @property
    def linked(self) -> bool:
        return self.status == "linked"

    def unlink(self, at: dt.datetime) -> None:
        self.status, self.is_primary, self.unlinked_at = "unlinked", False, at
