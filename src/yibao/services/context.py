"""What every service needs: the unit of work, the clock, password hashing, audit and history."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from yibao.config import Settings
from yibao.domain.audit import AuditRecord, MasterDataVersion
from yibao.domain.clock import Clock, local_date
from yibao.domain.users import Actor
from yibao.policy.interface import AllocationRules
from yibao.store.uow import UnitOfWork


@dataclass
class Context:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    # The policy engine ([3] policy/); until a policy set is loaded, rules it would give are missing.
    policy: AllocationRules | None = None
    extras: dict = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return local_date(self.clock.now())

    @cached_property
    def hasher(self) -> PasswordHasher:
        if self.settings.argon2_profile == "light":
            return PasswordHasher.from_parameters(profiles.CHEAPEST)
        return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)

    def hash_secret(self, secret: str) -> str:
        return self.hasher.hash(secret)

    def verify_secret(self, hashed: str | None, secret: str) -> bool:
        if not hashed:
            return False
        try:
            return self.hasher.verify(hashed, secret)
        except (VerificationError, InvalidHashError):
            return False

    def audit(self, uow: UnitOfWork, actor: Actor, action: str, entity: str, entity_id: str, **details) -> None:
        uow.audit(AuditRecord(at=self.now(), actor=actor.username, action=action,
                              entity=entity, entity_id=entity_id, details=details))

    def version(self, uow: UnitOfWork, actor: Actor, entity: str, entity_id: str, data: dict) -> None:
        uow.record_version(MasterDataVersion(entity=entity, entity_id=entity_id, data=data,
                                             valid_from=self.now(), actor=actor.username))


def digest(token: str) -> str:
    """Opaque credentials are stored only as this digest; a lookup is an indexed equality."""
    return hashlib.sha256(token.encode()).hexdigest()
