"""The one place that wires settings, database, clock and services together."""

from __future__ import annotations

from functools import partial

from sqlalchemy.orm import sessionmaker

from yibao.config import Settings
from yibao.domain.clock import SettableClock, SystemClock
from yibao.jobs import runners
from yibao.services.context import Context
from yibao.services.policy import sets
from yibao.store.db import create_engine
from yibao.store.mapping import start_mappers
from yibao.store.uow import UnitOfWork


def bootstrap(settings: Settings | None = None) -> Context:
    settings = settings or Settings()
    start_mappers()
    engine = create_engine(settings.resolved_database_url)
    clock = SettableClock() if settings.env == "test" else SystemClock()
    ctx = Context(
        settings=settings,
        unit_of_work=partial(UnitOfWork, sessionmaker(engine, expire_on_commit=False)),
        clock=clock,
        engine=engine,
        policy_source=sets.current,
    )
    runners.install(ctx)
    return ctx
