"""Card queries in SQL: cards due to expire, PIN unlocks counted from the audit trail, a card read with its
holder's standing in one statement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.cards import Card, CardStatus
from yibao.domain.life_events import Standing
from yibao.store import standing
from yibao.store.tables import audit_records
from yibao.store.tables import cards as cards_table


class SqlCards:
    """`services.credentials.ports.CardRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def due_to_expire(self, today: dt.date, statuses: Iterable[str]) -> list[str]:
        """The numbers of the cards in one of these states whose expiry date is before `today`, in order."""
        c = cards_table.c
        return list(self._session.scalars(sa.select(c.card_no).where(c.expires_on < today,
                                                                     c.status.in_(list(statuses)))
                                          .order_by(c.card_no)))

    def unlocks_since(self, card_no: str, since: dt.datetime) -> int:
        """How many times the card's PIN was unlocked after `since` (its audit records say)."""
        a = audit_records.c
        return self._session.scalar(sa.select(sa.func.count()).select_from(audit_records).where(
            a.entity == "card", a.entity_id == card_no, a.action == "card.unlock_pin", a.at > since)) or 0

    def with_holder_standing(self, card_no: str) -> tuple[Card, Standing] | None:
        """The card, locked, and its holder's standing, read by one statement."""
        row = self._session.execute(sa.select(Card, *standing.columns(cards_table.c.person_id, ""))
                                    .where(cards_table.c.card_no == card_no)
                                    .with_for_update(of=cards_table)).first()
        return None if row is None else (row[0], standing.of_row(row, ""))

    def any_activated(self, person_id: str) -> bool:
        """Whether the person holds a card that was activated (in any state since)."""
        return self._session.scalar(sa.select(sa.literal(1)).where(
            Card.person_id == person_id, Card.status != CardStatus.ISSUED).limit(1)) is not None
