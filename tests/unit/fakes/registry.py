"""The registry's, credentials' and family grants' repositories in memory, over the fake unit of work."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from yibao.domain.audit import AuditRecord
from yibao.domain.cards import Card, CardStatus
from yibao.domain.credentials import BankAccount
from yibao.domain.filings import OPEN_GRANT, FamilyGrant
from yibao.domain.life_events import AccountFreeze, LifeEvent, Standing
from yibao.domain.registry import OPEN_ENROLLMENT, Enrollment
from yibao.domain.settlement import Settlement
from yibao.domain.users import Actor, AuthToken, Role, User

from .rows import PendingRows


class FakePersons:
    def __init__(self, uow) -> None:
        self.uow = uow

    def standing(self, person_id: str) -> Standing:
        event = self.uow.one_by(LifeEvent, person_id=person_id)
        frozen = any(f.lifted_at is None for f in self.uow.all_by(AccountFreeze, person_id=person_id))
        return Standing(event_kind=event.kind if event else None, event_date=event.event_date if event else None,
                        frozen=frozen, closed=event is not None and event.account_closed_at is not None)

    def employs(self, employer_id: str, person_id: str) -> bool:
        return any(e.employer_id == employer_id and e.status in OPEN_ENROLLMENT
                   for e in self.uow.all_by(Enrollment, person_id=person_id))

    def settlements_since(self, person_id: str, day: dt.date) -> list[Settlement]:
        return sorted((s for s in self.uow.all_by(Settlement) if person_id in (s.payer_id, s.owner_id)
                       and s.business_date >= day), key=lambda s: s.at)


class FakeNotices:
    """The inbox: every message, whoever sends it (a step, a payout, a policy change), is written here."""

    def __init__(self, uow) -> None:
        self._rows, self._numbers = PendingRows(uow), uow.store.numbers

    def kept(self) -> list[dict]:
        """Every message, as the unit of work sees them."""
        return self._rows.kept("notices")

    def add_all(self, notices: list[dict]) -> None:
        self._rows.add("notices", [{"id": next(self._numbers), **n, "read_at": None} for n in notices])

    def find(self, notice_id: int, *, person_id: str | None = None) -> dict | None:
        return next((dict(n) for n in self.kept() if n["id"] == notice_id
                     and person_id in (None, n["person_id"])), None)

    def mark_read(self, notice_id: int, at: dt.datetime) -> None:
        for n in self.kept():
            if n["id"] == notice_id:
                n["read_at"] = at


class FakeCards:
    def __init__(self, uow) -> None:
        self.uow = uow

    def due_to_expire(self, today: dt.date, statuses: Iterable[str]) -> list[str]:
        return sorted(c.card_no for c in self.uow.all_by(Card) if c.expires_on < today and c.status in statuses)

    def unlocks_since(self, card_no: str, since: dt.datetime) -> int:
        return sum(1 for a in self.uow.all_by(AuditRecord, entity="card", entity_id=card_no, action="card.unlock_pin")
                   if a.at > since)

    def with_holder_standing(self, card_no: str) -> tuple[Card, Standing] | None:
        card = self.uow.get(Card, card_no)
        return None if card is None else (card, self.uow.persons.standing(card.person_id))

    def any_activated(self, person_id: str) -> bool:
        return any(c.status != CardStatus.ISSUED for c in self.uow.all_by(Card, person_id=person_id))


def _remove(uow, obj, key) -> None:
    uow.store.rows[type(obj)].pop(key, None)
    if obj in uow._added:
        uow._added.remove(obj)


class FakeUsers:
    def __init__(self, uow) -> None:
        self.uow = uow

    def remove(self, user: User) -> None:
        _remove(self.uow, user, user.id)


class FakeTokens:
    def __init__(self, uow) -> None:
        self.uow = uow

    def bearer(self, digest: str) -> tuple[dt.datetime, bool, Actor] | None:
        token = self.uow.get(AuthToken, digest)
        user = token and self.uow.get(User, token.user_id)
        if user is None:
            return None
        return token.expires_at, user.active, Actor(username=user.username, role=Role(user.role), user_id=user.id,
                                                    person_id=user.person_id, employer_id=user.employer_id,
                                                    institution_code=user.institution_code)

    def remove(self, token: AuthToken) -> None:
        _remove(self.uow, token, token.digest)

    def end_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        ended = [t for t in self.uow.all_by(AuthToken, user_id=user_id) if t.digest != keep]
        for token in ended:
            self.remove(token)
        return len(ended)


class FakeBankAccounts:
    def __init__(self, uow) -> None:
        self.uow = uow

    def linked_elsewhere(self, account_no: str, person_id: str) -> list[BankAccount]:
        return [a for a in self.uow.all_by(BankAccount, account_no=account_no, status="linked")
                if a.person_id != person_id]


class FakeGrants:
    def __init__(self, uow) -> None:
        self.uow = uow

    def open_of(self, *person_ids: str) -> list[FamilyGrant]:
        return [g for g in self.uow.all_by(FamilyGrant) if g.status in OPEN_GRANT
                and (g.owner_id in person_ids or g.grantee_id in person_ids)]

    def open_between(self, owner_id: str, grantee_id: str) -> bool:
        return any(g.status in OPEN_GRANT for g in self.uow.all_by(FamilyGrant, owner_id=owner_id,
                                                                     grantee_id=grantee_id))

    def of_person(self, person_id: str) -> list[FamilyGrant]:
        mine = [g for g in self.uow.all_by(FamilyGrant) if person_id in (g.owner_id, g.grantee_id)]
        return sorted(mine, key=lambda g: g.created_at, reverse=True)

    def lock(self, grant: FamilyGrant) -> None:
        """Nothing runs beside a fake unit of work."""


def put_on(uow) -> None:
    """The repositories of the registry, credentials and family grants, on a fake unit of work."""
    uow.persons, uow.notices, uow.cards = FakePersons(uow), FakeNotices(uow), FakeCards(uow)
    uow.users, uow.tokens, uow.bank_accounts = FakeUsers(uow), FakeTokens(uow), FakeBankAccounts(uow)
    uow.grants = FakeGrants(uow)
