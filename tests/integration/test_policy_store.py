"""Loading policy sets: all or nothing, recorded with both time axes, noticed by the people a change concerns,
and picked up by every process."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import add_person, count, rows
from yibao.bootstrap import bootstrap
from yibao.domain.clock import SHANGHAI
from yibao.policy.source import PolicyFileError
from yibao.services.policy import sets
from yibao.services.registry import enrolment
from yibao.store.tables import audit_records, notices, policy_sets, policy_versions

BUNDLED = sets.BUNDLED
TODAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the bundled policies to edit."""
    return Path(shutil.copytree(BUNDLED, tmp_path / "policies"))


@pytest.fixture
def people(ctx, admin):
    """Beijing: an employee and a resident; Dalian: an employee."""
    ctx.clock.set(TODAY)
    found = {}
    for key, region, scheme in [("bj_employee", "110000", "employee"), ("bj_resident", "110000", "resident"),
                                ("dl_employee", "210200", "employee")]:
        person = add_person(ctx, admin, region=region, username=key, card=False)
        enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme=scheme, start_date=dt.date(2024, 1, 1),
                         flexible=scheme == "employee")
        found[key] = person.id
    return found


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def notices_by_person(ctx) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in rows(ctx, notices):
        out.setdefault(row.person_id, []).append(row)
    return out


def test_a_load_records_the_files_every_version_and_who_loaded_it(ctx, admin, tree):
    ctx.clock.set(TODAY)
    result = sets.load(ctx, actor=admin, root=tree)
    assert not result.unchanged and result.new_versions > 40
    [stored] = rows(ctx, policy_sets)
    assert (stored.id, stored.loaded_by, stored.digest) == (result.set_id, admin.username, result.digest)
    assert stored.files["110000-beijing/settlement.yaml"] == (tree / "110000-beijing/settlement.yaml").read_text()
    assert count(ctx, policy_versions) == result.new_versions
    assert ctx.policy.set_id == result.set_id
    again = sets.load(ctx, actor=admin, root=tree)
    assert again.unchanged and again.set_id == result.set_id and count(ctx, policy_sets) == 1
    [audit] = [r for r in rows(ctx, audit_records) if r.action == "policy.load"]
    assert audit.entity_id == result.set_id and audit.details["digest"] == result.digest


def test_a_tree_with_a_mistake_loads_nothing_and_the_set_in_force_stays(ctx, admin, tree):
    ctx.clock.set(TODAY)
    first = sets.load(ctx, actor=admin, root=tree)
    edit(tree / "110000-beijing/settlement.yaml", "      2019-01-01: 50000", "      2019-01-01: -50000")
    edit(tree / "210200-dalian/withdrawal.yaml", "    question: withdrawal\n", "    question: withdrawl\n")
    with pytest.raises(PolicyFileError) as caught:
        sets.load(ctx, actor=admin, root=tree)
    named = {(p.file, p.key) for p in caught.value.problems}
    assert ("110000-beijing/settlement.yaml", "parameters.settlement.limit.institution_daily.values.2019-01-01") in named
    assert ("210200-dalian/withdrawal.yaml", "rules.dl.withdrawal.base.question") in named
    assert count(ctx, policy_sets) == 1 and ctx.policy.set_id == first.set_id


def test_a_changed_figure_is_a_new_version_and_the_people_it_concerns_are_told(ctx, admin, tree, people):
    first = sets.load(ctx, actor=admin, root=tree)
    edit(tree / "110000-beijing/settlement.yaml", "      2019-01-01: 50000\n",
         "      2019-01-01: 50000\n      2027-01-01: 60000\n")
    second = sets.load(ctx, actor=admin, root=tree)
    assert second.new_versions == 1  # the figure's new value; the rule naming it is unchanged
    [new] = [r for r in rows(ctx, policy_versions) if r.first_set_id == second.set_id]
    assert (new.region, new.kind, new.name, new.effective_from, new.content) == (
        "110000", "parameter", "settlement.limit.institution_daily", dt.date(2027, 1, 1),
        {"value": 60000, "unit": "fen"})
    assert [c.name for c in second.changes] == ["bj.settlement.institution_daily"]
    told = notices_by_person(ctx)
    assert set(told) == {people["bj_employee"], people["bj_resident"]}  # Dalian's rules did not change
    [notice] = told[people["bj_employee"]]
    assert notice.kind == "policy_change" and "北京市" in notice.title_zh
    assert "自 2027-01-01 起调整「同一定点医药机构每日不超过500元」：¥500.00 → ¥600.00" in notice.body_zh
    assert "From 2027-01-01, changed" in notice.body_en and "¥500.00 → ¥600.00" in notice.body_en
    assert notice.data["set_id"] == second.set_id and first.set_id != second.set_id
    # The rules in force today are those of before; from the new day on, the new figure.
    view = sets.rules_in_force(ctx, region="110000", day=dt.date(2027, 1, 1))
    [rule] = [r for r in view["rules"] if r["name"] == "bj.settlement.institution_daily"]
    assert rule["figures"]["limit"]["value"] == 60000 and rule["effective_from"] == "2027-01-01"
    [param] = [p for p in view["parameters"] if p["name"] == "settlement.limit.institution_daily"]
    assert param["loaded_at"] == second_loaded_at(ctx, second.set_id)


def second_loaded_at(ctx, set_id: str) -> str:
    with ctx.engine.connect() as conn:
        at = conn.execute(sa.select(policy_sets.c.loaded_at).where(policy_sets.c.id == set_id)).scalar_one()
    return at.isoformat()


def test_a_change_to_a_rule_for_one_scheme_tells_only_the_people_in_that_scheme(ctx, admin, tree, people):
    sets.load(ctx, actor=admin, root=tree)
    edit(tree / "000000-national/accounts.yaml", "      2021-04-13: 0.02\n", "      2021-04-13: 0.02\n      2027-01-01: 0.025\n")
    result = sets.load(ctx, actor=admin, root=tree)
    assert [c.name for c in result.changes] == ["national.contribution.employee"]
    told = notices_by_person(ctx)
    assert set(told) == {people["bj_employee"], people["dl_employee"]}  # every region, employees only
    assert "2% → 2.5%" in told[people["dl_employee"]][0].body_zh


def test_a_change_already_past_or_only_in_wording_tells_nobody(ctx, admin, tree, people):
    sets.load(ctx, actor=admin, root=tree)
    edit(tree / "110000-beijing/settlement.yaml", "reference: 种子文章 004（北京）\n", "reference: 种子文章 004（北京市）\n")
    result = sets.load(ctx, actor=admin, root=tree)
    assert not result.unchanged and result.changes == [] and count(ctx, notices) == 0


def test_another_process_picks_up_a_set_loaded_elsewhere(ctx, admin, tree, settings):
    other = bootstrap(settings.model_copy(update={"policy_refresh_seconds": 0}))
    try:
        assert other.policy.set_id is None  # nothing loaded yet: the tree shipped with the code
        result = sets.load(ctx, actor=admin, root=tree)
        with other.uow():
            pass  # a unit of work opens: the due check finds the new set
        assert other.policy.set_id == result.set_id
    finally:
        other.engine.dispose()
