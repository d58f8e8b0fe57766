"""What the credential services ask of the store beyond entities by key: cards due to expire, PIN unlocks,
a card with its holder's standing, bearer tokens and the sessions they open, and bank accounts linked
elsewhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from yibao.domain.cards import Card
from yibao.domain.credentials import BankAccount
from yibao.domain.life_events import Standing
from yibao.domain.users import Actor, AuthToken, User


class CardRepository(Protocol):
    def due_to_expire(self, today: dt.date, statuses: Iterable[str]) -> list[str]:
        """The numbers of the cards in one of these states whose expiry date is before `today`, in order."""

    def unlocks_since(self, card_no: str, since: dt.datetime) -> int:
        """How many times the card's PIN was unlocked after `since` (its audit records say)."""

    def with_holder_standing(self, card_no: str) -> tuple[Card, Standing] | None:
        """The card, locked, and its holder's standing, read by one statement (None: no such card)."""

    def any_activated(self, person_id: str) -> bool:
        """Whether the person holds a card that was activated (in any state since)."""


class UserRepository(Protocol):
    def remove(self, user: User) -> None:
        """Delete the login (its tokens must be gone first)."""


class TokenRepository(Protocol):
    def bearer(self, digest: str) -> tuple[dt.datetime, bool, Actor] | None:
        """The token's expiry, whether its user is active, and the actor it stands for, in one round trip
        outside any transaction (every API request asks)."""

    def remove(self, token: AuthToken) -> None:
        """Delete one token (the session it opened ends)."""

    def end_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete the user's tokens, but the one with the digest `keep`; returns how many were deleted."""


class BankAccountRepository(Protocol):
    def linked_elsewhere(self, account_no: str, person_id: str) -> list[BankAccount]:
        """The links of this account number that other persons hold."""
