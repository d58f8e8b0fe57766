"""What every service needs: the unit of work, the clock, password hashing, audit and history."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from yibao.config import Settings
from yibao.domain.audit import AuditRecord, MasterDataVersion
from yibao.domain.clock import Clock, local_date
from yibao.domain.users import Actor
from yibao.policy.engine import Engine as PolicyEngine
from yibao.services.ports import UnitOfWork, UnitOfWorkFactory


@dataclass
class Context:
    settings: Settings
    unit_of_work: UnitOfWorkFactory  # the store's units of work (bootstrap wires the database; tests may wire fakes)
    clock: Clock
    # The database engine, for the adapters' maintenance work (migrations, jobs) and for tests; services never
    # touch it (the import contract keeps them off the store).
    engine: object = None
    # Finds the engine of the newest loaded policy set (services.policies.current, wired by bootstrap).
    policy_source: Callable[[Context, PolicyEngine | None], PolicyEngine] | None = None
    extras: dict = field(default_factory=dict)
    _policy: PolicyEngine | None = field(default=None, repr=False)
    _policy_checked: float = field(default=float("-inf"), repr=False)

    @property
    def policy(self) -> PolicyEngine:
        """The policy engine in force. It is looked up when first asked for and, when it is due, as a unit of
        work opens (never inside one: on SQLite a second connection would wait on the first one's lock)."""
        if self._policy is None:
            self._refresh_policy()
        return self._policy

    @policy.setter
    def policy(self, engine: PolicyEngine) -> None:
        self._policy, self._policy_checked = engine, time.monotonic()

    def _refresh_policy(self) -> None:
        if self.policy_source is not None:
            self.policy = self.policy_source(self, self._policy)

    def uow(self) -> UnitOfWork:
        if time.monotonic() - self._policy_checked >= self.settings.policy_refresh_seconds:
            self._refresh_policy()  # a set loaded by another process is picked up within a few seconds
        return self.unit_of_work()

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

    def audit_record(self, actor: Actor, action: str, entity: str, entity_id: str, **details) -> AuditRecord:
        return AuditRecord(at=self.now(), actor=actor.username, action=action, entity=entity, entity_id=entity_id,
                           details=details)

    def audit(self, uow: UnitOfWork, actor: Actor, action: str, entity: str, entity_id: str, **details) -> None:
        uow.audit(self.audit_record(actor, action, entity, entity_id, **details))

    def version(self, uow: UnitOfWork, actor: Actor, entity: str, entity_id: str, data: dict) -> None:
        uow.record_version(MasterDataVersion(entity=entity, entity_id=entity_id, data=data,
                                             valid_from=self.now(), actor=actor.username))


def digest(token: str) -> str:
    """Opaque credentials are stored only as this digest; a lookup is an indexed equality."""
    return hashlib.sha256(token.encode()).hexdigest()
