"""Settlement under policy that changes: a limit lowered or raised within its period counts what was already
used, and a region may say refunds do not give the quota back."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.support import PIN, build_world, fund
from yibao.domain.clock import SHANGHAI
from yibao.services.policy import sets
from yibao.services.settlement import payments as service

MARCH = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
JUNE = dt.datetime(2026, 6, 2, 9, 0, tzinfo=SHANGHAI)
FUNDED = 4 * 50_000  # 2025-10 to 2026-01 on a ¥25,000 base: ¥2,000


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    assert fund(ctx, admin, world.person.id, months=4, employer_id=world.employer_id) == FUNDED
    return world


@pytest.fixture
def tree(tmp_path) -> Path:
    return Path(shutil.copytree(sets.BUNDLED, tmp_path / "policies"))


def pay(ctx, admin, world, amount: int, key: str) -> dict:
    return service.settle(ctx, actor=admin, idempotency_key=key, institution_code=world.institution_code,
                          credential={"type": "card", "card_no": world.person.card_no, "pin": PIN},
                          items=[{"category": "drug", "amount_fen": amount}])


def change(tree: Path, path: str, old: str, new: str) -> None:
    file = tree / path
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("new_limit, paid_in_june, limited", [
    (50_100, 100, ["limit.yearly"]),  # lowered to ¥501 from June: ¥500 used, ¥1 left
    (40_000, 0, ["limit.yearly"]),  # lowered below what was used: nothing left, nothing taken back
    (1_200_000, 50_000, []),  # raised: the rest of the new figure
])
def test_a_yearly_limit_changed_mid_year_counts_what_was_used(ctx, admin, world, tree, new_limit, paid_in_june,
                                                               limited):
    ctx.clock.set(MARCH)
    sets.load(ctx, actor=admin, root=tree)
    assert pay(ctx, admin, world, 50_000, "march")["account_paid_fen"] == 50_000
    change(tree, "110000-beijing/settlement.yaml", "      2019-01-01: 1000000\n",
           f"      2019-01-01: 1000000\n      2026-06-01: {new_limit}\n")
    sets.load(ctx, actor=admin, root=tree)
    ctx.clock.set(JUNE)
    june = pay(ctx, admin, world, 50_000, "june")
    assert (june["account_paid_fen"], june["decision"]["limited_by"]) == (paid_in_june, limited)


def test_a_region_may_say_refunds_do_not_free_the_quota(ctx, admin, world, tree):
    (tree / "110000-beijing/refunds.yaml").write_text("""\
rules:
  bj.settlement.refund:
    question: settlement.refund
    description: {zh: 退费不恢复当日额度（测试用）, en: Refunds do not free the quota (a test's own rule)}
    reference: 测试
    priority: 10
    versions:
      2019-01-01: {restores_quota: false}
""", encoding="utf-8")
    ctx.clock.set(MARCH)
    sets.load(ctx, actor=admin, root=tree)
    sold = pay(ctx, admin, world, 50_000, "a")
    back = service.refund(ctx, actor=admin, settlement_id=sold["settlement_id"], idempotency_key="r")
    assert back["restores_quota"] is False and back["balance_after_fen"] == FUNDED
    again = pay(ctx, admin, world, 10_000, "b")
    assert (again["account_paid_fen"], again["decision"]["limited_by"]) == (0, ["limit.institution_daily"])
