"""The fast service ring: a unit of work with in-memory repositories, behind the same ports as the store.

A service run on `fake_context()` does what it does on the database, without one. Entities live in a
dict per class keyed as their table is; what a unit of work adds is kept only when it commits (changes to
objects already kept are not rolled back: the integration suites hold the database's all-or-nothing).
Each area's repositories are in a module of their own beside this one and are put on every unit of work
by `FakeUnitOfWork._repositories`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from tests.unit.fakes.disbursement import FakeAppointments, FakeDisbursements
from tests.unit.fakes.policy import FakePolicies, FakeVouchers
from tests.unit.fakes.settlement import FakePaymentCodes, FakeSettlements
from yibao.config import Settings
from yibao.domain.applications import ApplicationStep, CashVoucher
from yibao.domain.audit import AuditRecord, MasterDataVersion
from yibao.domain.cards import Card
from yibao.domain.clock import SettableClock
from yibao.domain.registry import Agency, Institution
from yibao.domain.users import AuthToken
from yibao.policy.engine import Engine
from yibao.policy.loader import load_tree
from yibao.services.context import Context

from . import applications, registry
from .audit import FakeAuditTrail
from .contributions import FakeContributions
from .findings import FakeFindings
from .ledger import FakeKeys, FakeLedger, FakeReversals

BUNDLED = Path(__file__).resolve().parents[3] / "policies"
KEYS: dict[type, str] = {Card: "card_no", Institution: "code", Agency: "region", AuthToken: "digest", CashVoucher: "code"}
COUNTED = (AuditRecord, MasterDataVersion, ApplicationStep)  # their tables number them


class FakeStore:
    """What the database holds, between units of work."""

    def __init__(self) -> None:
        self.rows: dict[type, dict] = defaultdict(dict)
        self.tables: dict[str, list] = defaultdict(list)  # rows the repositories keep that are no entity
        self.numbers = itertools.count(1)

    def unit_of_work(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def all(self, cls: type) -> list:
        return list(self.rows[cls].values())


def key_of(obj) -> object:
    return getattr(obj, KEYS.get(type(obj), "id"))


class FakeUnitOfWork:
    dialect = "memory"

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self._added: list = []
        self._conflict: Exception | None = None
        self._before_commit: list[Callable[[], None]] = []

    def __enter__(self) -> FakeUnitOfWork:
        self._repositories()
        return self

    def _repositories(self) -> None:
        """The in-memory repositories of each area (one line an area)."""
        registry.put_on(self)
        self.contributions = FakeContributions(self)
        self.disbursements = FakeDisbursements(self)
        self.appointments = FakeAppointments(self)
        self.ledger, self.keys, self.reversals = FakeLedger(self), FakeKeys(self), FakeReversals(self)
        self.applications, self.invoices, self.cash_vouchers = applications.repositories(self)
        self.settlements = FakeSettlements(self)
        self.payment_codes = FakePaymentCodes(self)
        self.policies = FakePolicies(self)
        self.vouchers = FakeVouchers(self)
        self.audit_trail = FakeAuditTrail(self)
        self.findings = FakeFindings(self)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._added.clear()

    def conflict_means(self, error: Exception) -> None:
        self._conflict = error

    def before_commit(self, hook: Callable[[], None]) -> None:
        self._before_commit.append(hook)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """What the block adds is dropped if it raises; what it changed in place stays (no row images here)."""
        kept = list(self._added)
        try:
            yield
        except BaseException:
            self._added[:] = kept
            raise

    def commit(self) -> None:
        for hook in self._before_commit:
            hook()
        self.flush()
        for obj in self._added:
            self.store.rows[type(obj)][key_of(obj)] = obj
        self._added.clear()

    def rollback(self) -> None:
        self._added.clear()

    # --- entities by key ------------------------------------------------------------------------

    def _pending(self, cls: type) -> dict:
        return {key_of(o): o for o in self._added if type(o) is cls}

    def get(self, cls, key, *, for_update: bool = False):
        return self._pending(cls).get(key) or self.store.rows[cls].get(key)

    def add(self, obj) -> None:
        if isinstance(obj, COUNTED) and getattr(obj, "id", None) is None:
            obj.id = next(self.store.numbers)
        if obj not in self._added:
            self._added.append(obj)

    def flush(self) -> None:
        """Unique keys hold at flush as in the database: a second entity under a kept key is a conflict."""
        for obj in self._added:
            kept = self.store.rows[type(obj)].get(key_of(obj))
            if kept is not None and kept is not obj:
                raise self._conflict or KeyError(key_of(obj))

    def _every(self, cls: type) -> list:
        return [*self.store.rows[cls].values(), *(o for o in self._added if type(o) is cls
                                                 and key_of(o) not in self.store.rows[cls])]

    def all_by(self, cls, *order_by: str, **where) -> list:
        found = [o for o in self._every(cls) if all(_equal(getattr(o, k), x) for k, x in where.items())]
        return sorted(found, key=lambda o: tuple(getattr(o, name) for name in order_by)) if order_by else found

    def one_by(self, cls, **where):
        return next(iter(self.all_by(cls, **where)), None)

    # --- audit and history ----------------------------------------------------------------------

    def audit(self, record: AuditRecord) -> None:
        self.add(record)

    def record_version(self, version: MasterDataVersion) -> None:
        for old in self.all_by(MasterDataVersion, entity=version.entity, entity_id=version.entity_id,
                               valid_to=None):
            old.valid_to = version.valid_from
        self.add(version)


def _equal(value, wanted) -> bool:
    return value == wanted or str(value) == str(wanted)  # a status is a StrEnum in one place, a str in another


@cache
def bundled_policy() -> Engine:
    return Engine(load_tree(BUNDLED))


def fake_context(*, now: dt.datetime | None = None, store: FakeStore | None = None) -> Context:
    """A context whose units of work are in memory, on the bundled policies, at `now` (Shanghai time)."""
    store = store or FakeStore()
    ctx = Context(settings=Settings(env="test", argon2_profile="light"), unit_of_work=store.unit_of_work,
                  clock=SettableClock(now or dt.datetime(2026, 3, 2, 10, 0)))
    ctx.policy = bundled_policy()
    ctx.extras["store"] = store
    return ctx
