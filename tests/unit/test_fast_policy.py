"""The policy area on the fast ring: typed facts, loading policy sets and the notices a change sends, the rules in
force, and vouchers, run by the real services on an in-memory unit of work."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.policy_cases.conftest import CaseFileError, _facts_of
from tests.unit.fakes import BUNDLED, FakeStore, fake_context
from yibao.domain import errors
from yibao.domain.registry import Enrollment, Person
from yibao.domain.users import Actor, Role
from yibao.policy.interface import FACTS, Filed, FileFacts, SettleFacts, WithdrawFacts
from yibao.services import vouchers
from yibao.services.policy import sets

ADMIN = Actor.system("admin")
DAY = dt.date(2026, 3, 2)


def _pay(**facts) -> SettleFacts:
    return SettleFacts(region="110000", institution_region="110000", institution_kind="pharmacy",
                       scheme="employee", balance_fen=500_000, **facts)


# --- typed facts ----------------------------------------------------------------------------


def test_a_missing_fact_fails_where_the_facts_are_built_and_a_misspelt_one_too():
    with pytest.raises(TypeError, match="items"):
        SettleFacts(region="110000", institution_region="110000", institution_kind="pharmacy")
    with pytest.raises(TypeError, match="has_filling"):
        _pay(items=[("drug", 100)], has_filling=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        _pay(items=[]).used = {"daily": 1}


def test_the_class_of_the_facts_names_the_action():
    engine = fake_context().policy
    decision = engine.decide(_pay(items=[("drug", 20_000)]), DAY)
    assert (decision.action, decision.allowed, decision.max_amount_fen) == ("settle", True, 20_000)
    withdrawal = engine.decide(WithdrawFacts(region="110000", reason="general", scheme="employee",
                                             balance_fen=300_000), DAY)
    assert withdrawal.action == "withdraw"
    with pytest.raises(ValueError, match="not the facts of an action"):
        engine.decide({"region": "110000"}, DAY)
    assert set(FACTS) == {"contribute", "settle", "refund", "family_grant", "withdraw", "reimburse", "file",
                          "cancel_filing", "disburse"}


def test_what_is_used_of_the_limits_is_a_fact_replaced_not_mutated():
    engine = fake_context().policy
    plan = _pay(items=[("drug", 20_000)])
    spent = dataclasses.replace(plan, used={"institution_daily": 40_000, "daily": 40_000})
    decision = engine.decide(spent, DAY)
    assert decision.max_amount_fen == 10_000 and "limit.institution_daily" in decision.limited_by
    assert engine.decide(plan, DAY).max_amount_fen == 20_000


def test_a_filing_in_force_is_read_by_attribute():
    engine = fake_context().policy
    existing = Filed(type="long_term", reason="long_term_resident", valid_from=dt.date(2026, 1, 15))
    decision = engine.decide(FileFacts(region="110000", type="temporary", reason="referral", existing=existing), DAY)
    assert (decision.allowed, decision.code) == (False, "filing.locked")


def test_a_case_file_with_an_unknown_fact_is_an_error_naming_the_case():
    case = {"name": "付款", "region": "110000", "action": "settle",
            "facts": {"institution_region": "110000", "institution_kind": "pharmacy", "items": [["drug", 1]],
                      "balanse_fen": 1}}
    with pytest.raises(CaseFileError, match="settlement.yaml:7: 付款: .*balanse_fen"):
        _facts_of("settlement.yaml", 7, case)
    del case["facts"]["balanse_fen"]
    assert _facts_of("settlement.yaml", 7, case).items == [("drug", 1)]
    with pytest.raises(CaseFileError, match="unknown action"):
        _facts_of("settlement.yaml", 7, {**case, "action": "pay"})


# --- policy sets ----------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path) -> Path:
    return Path(shutil.copytree(BUNDLED, tmp_path / "policies"))


def _people(store: FakeStore) -> dict[str, str]:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    found = {}
    for n, (key, region, scheme) in enumerate([("bj_employee", "110000", "employee"),
                                               ("bj_resident", "110000", "resident"),
                                               ("dl_employee", "210200", "employee")]):
        person = Person(f"per_{key}", f"11010119900101{n:04d}", key, "13800000000", region, dt.date(1990, 1, 1),
                        "male", at)
        store.rows[Person][person.id] = person
        enrollment = Enrollment(f"enr_{key}", person.id, scheme, None, False, dt.date(2024, 1, 1), "active", at)
        store.rows[Enrollment][enrollment.id] = enrollment
        found[key] = person.id
    return found


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_load_is_recorded_once_and_becomes_the_engine_in_force(tree):
    ctx = fake_context(now=dt.datetime(2026, 11, 23, 10, 0))
    result = sets.load(ctx, actor=ADMIN, root=tree)
    assert not result.unchanged and result.new_versions > 40 and ctx.policy.set_id == result.set_id
    assert sets.current(ctx, None).set_id == result.set_id  # read back from the store, as another process would
    again = sets.load(ctx, actor=ADMIN, root=tree)
    assert again.unchanged and again.set_id == result.set_id
    assert len(ctx.extras["store"].tables["policy_sets"]) == 1


def test_a_changed_figure_tells_the_people_of_its_region_and_only_them(tree):
    ctx = fake_context(now=dt.datetime(2026, 11, 23, 10, 0))
    people = _people(ctx.extras["store"])
    sets.load(ctx, actor=ADMIN, root=tree)
    _edit(tree / "110000-beijing/settlement.yaml", "      2019-01-01: 50000\n",
          "      2019-01-01: 50000\n      2027-01-01: 60000\n")
    second = sets.load(ctx, actor=ADMIN, root=tree)
    assert second.new_versions == 1 and second.notices == 2
    [notice] = sets.notices_of(ctx, actor=ADMIN, person_id=people["bj_employee"])
    assert notice["kind"] == "policy_change" and "¥500.00 → ¥600.00" in notice["body_zh"]
    assert sets.notices_of(ctx, actor=ADMIN, person_id=people["dl_employee"]) == []
    view = sets.rules_in_force(ctx, region="110000", day=dt.date(2027, 1, 1))
    [param] = [p for p in view["parameters"] if p["name"] == "settlement.limit.institution_daily"]
    [loaded_at] = [r["loaded_at"] for r in ctx.extras["store"].tables["policy_sets"] if r["id"] == second.set_id]
    assert param["loaded_at"] == loaded_at.isoformat()


def test_a_change_for_one_scheme_tells_only_that_schemes_people(tree):
    ctx = fake_context(now=dt.datetime(2026, 11, 23, 10, 0))
    people = _people(ctx.extras["store"])
    sets.load(ctx, actor=ADMIN, root=tree)
    _edit(tree / "000000-national/accounts.yaml", "      2021-04-13: 0.02\n",
          "      2021-04-13: 0.02\n      2027-01-01: 0.025\n")
    assert sets.load(ctx, actor=ADMIN, root=tree).notices == 2
    told = {p for p in people.values() if sets.notices_of(ctx, actor=ADMIN, person_id=p)}
    assert told == {people["bj_employee"], people["dl_employee"]}


def test_someone_elses_inbox_is_closed():
    ctx = fake_context()
    people = _people(ctx.extras["store"])
    stranger = Actor("someone", Role.PERSON, person_id=people["dl_employee"])
    with pytest.raises(errors.AccessForbidden):
        sets.notices_of(ctx, actor=stranger, person_id=people["bj_employee"])


# --- vouchers -------------------------------------------------------------------------------


def test_a_voucher_code_confirms_what_it_states_with_the_holder_masked():
    ctx = fake_context()
    people = _people(ctx.extras["store"])
    code = vouchers.new_code()
    with ctx.uow() as uow:
        vouchers.record(ctx, uow, ADMIN, code=code, kind="statement", person_id=people["bj_employee"],
                        subject={"balance_fen": 1}, document=b"%PDF")
        uow.commit()
    check = vouchers.confirm(ctx, code=vouchers.display(code).lower())
    assert (check.kind, check.subject, check.holder_name) == ("statement", {"balance_fen": 1}, "b**********")
    with pytest.raises(errors.VoucherNotFound):
        vouchers.confirm(ctx, code="2222-2222-2222-2222")
    with ctx.uow() as uow:  # a voucher recorded in a unit of work that does not commit is not kept
        vouchers.record(ctx, uow, ADMIN, code="3" * 16, kind="statement", person_id=people["bj_employee"],
                        subject={}, document=b"")
    with pytest.raises(errors.VoucherNotFound):
        vouchers.confirm(ctx, code="3" * 16)
