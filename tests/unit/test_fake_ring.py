"""The fake unit of work keeps what a use case commits and nothing it does not."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.fakes import FakeStore, fake_context
from yibao.domain import errors
from yibao.domain.filings import Filing, FilingStatus
from yibao.policy.interface import RefundFacts


def _filing(id_: str, person: str) -> Filing:
    return Filing(id_, person, "long_term", "retired_resettled", "310000", dt.date(2026, 3, 1), None,
                  FilingStatus.ACTIVE, "file.rule", dt.datetime(2026, 3, 1, tzinfo=dt.UTC))


def test_what_is_committed_is_kept_and_what_is_not_is_gone():
    store = FakeStore()
    with store.unit_of_work() as uow:
        uow.add(_filing("fil_1", "p1"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.add(_filing("fil_2", "p1"))  # never committed
    with store.unit_of_work() as uow:
        assert [f.id for f in uow.all_by(Filing, "created_at", person_id="p1")] == ["fil_1"]
        assert uow.get(Filing, "fil_2") is None


def test_a_second_entity_under_a_kept_key_is_the_conflict_the_use_case_named():
    store = FakeStore()
    with store.unit_of_work() as uow:
        uow.add(_filing("fil_1", "p1"))
        uow.commit()
    with pytest.raises(errors.ConcurrentChange), store.unit_of_work() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        uow.add(_filing("fil_1", "p2"))
        uow.commit()


def test_the_fake_context_runs_on_the_bundled_policies():
    ctx = fake_context()
    assert ctx.today() == dt.date(2026, 3, 2)
    assert ctx.policy.decide(RefundFacts(region="110000", institution_kind="pharmacy"), ctx.today()).allowed
