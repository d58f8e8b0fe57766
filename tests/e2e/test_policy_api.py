"""Policy through the API and the command line: the 12333 answer for the seed stories, the rules in force,
what changed, and a broken policy tree refused with file, line and key."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from tests.support import API, add_person, assert_problem, bearer, build_world, count, rows, yibao
from yibao.domain.clock import SHANGHAI
from yibao.services.accounts import contributions
from yibao.services.policy import sets
from yibao.services.registry import enrolment, institutions, life_events
from yibao.store.tables import audit_records

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(NOW)
    institutions.load_agencies(ctx, actor=admin)
    return build_world(ctx, admin)


def person_in(ctx, admin, region: str, username: str) -> str:
    person = add_person(ctx, admin, region=region, username=username, card=False)
    enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    return person.id


def explain(client, username: str, **body):
    return client.post(f"{API}/policy/explain", headers=bearer(client, username), json=body)


def test_henan_by_proxy_is_told_in_person_only_with_the_rule_and_where_to_go(ctx, admin, client, world):
    person_id = person_in(ctx, admin, "410000", "henan")
    life_events.record_event(ctx, actor=admin, person_id=person_id, kind="death", date=dt.date(2026, 2, 20))
    r = explain(client, "henan", person_id=person_id, action="withdraw", reason="death", channel="app", by_proxy=True)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["allowed"], answer["code"]) == (False, "application.in_person_required")
    [reason] = answer["reasons"]
    assert (reason["rule_id"], reason["region"], reason["effective_from"]) == ("hn.withdrawal.death", "410000",
                                                                              "2024-01-01")
    assert "不可代办" in reason["reference"]
    assert "不能支取个人账户余额" in answer["answer_zh"] and "须由继承人本人办理，不可代办" in answer["answer_zh"]
    assert "No: withdrawing" in answer["answer_en"] and "The heir must apply in person; no proxy" in answer["answer_en"]
    assert answer["agency"]["name"] == "河南省医疗保障局省直经办机构" and answer["agency"]["name"] in answer["answer_zh"]
    needed = [(q["kind"], q["value"], q["met"]) for q in answer["requirements"]]
    assert ("in_person", "heir", False) in needed and ("document", "heir_proof", None) in needed


def test_dalian_is_told_withdrawal_is_not_allowed_citing_the_article(ctx, admin, client, world):
    person_id = person_in(ctx, admin, "210200", "dalian")
    answer = explain(client, "dalian", person_id=person_id, action="withdraw").json()
    assert (answer["allowed"], answer["code"], answer["max_amount_fen"]) == (False, "withdrawal.not_allowed", 0)
    [reason] = answer["reasons"]
    assert reason["rule_id"] == "dl.withdrawal.base" and "种子文章 000（大连）" in reason["reference"]
    assert reason["message_zh"].startswith("大连市医保个人账户余额一般不能直接提取现金")
    assert reason["message_en"].startswith("In Dalian the personal account balance is in general not paid out")
    assert answer["requirements"] == []


def test_beijing_settle_is_limited_by_the_daily_limit_at_one_institution(ctx, admin, client, world):
    contributions.credit(ctx, actor=admin, person_id=world.person.id, period="2026-02", base_fen=3_500_000,
                         employer_id=world.employer_id)  # 2% → ¥700
    answer = explain(client, "employee", person_id=world.person.id, action="settle",
                     institution_code=world.institution_code, amount_fen=60_000).json()
    assert (answer["allowed"], answer["max_amount_fen"], answer["limited_by"]) == (
        True, 50_000, ["limit.institution_daily"])
    assert "bj.settlement.institution_daily" in [r["rule_id"] for r in answer["reasons"]]
    assert "同一定点医药机构每日个人账户支付上限 ¥500.00" in answer["explanation_zh"]
    assert answer["details"]["cash_fen"] == 10_000
    [record] = [r for r in rows(ctx, audit_records) if r.action == "policy.explain"]
    assert record.actor == "employee" and record.details["allowed"] is True
    assert "bj.settlement.institution_daily" in [c["rule_id"] for c in record.details["rules"]]


def test_settling_elsewhere_without_a_filing_says_file_first_or_claim_later(ctx, admin, client, world):
    institutions.add_institution(ctx, actor=admin, code="H31000000009", name="上海示例医院", kind="hospital",
                                 region="310101", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))
    answer = explain(client, "employee", person_id=world.person.id, action="settle",
                     institution_code="H31000000009", amount_fen=10_000).json()
    assert (answer["allowed"], answer["code"]) == (False, "filing.required")
    assert answer["requirements"][0]["kind"] == "filing" and answer["requirements"][0]["met"] is False
    assert "回参保地申请报销" in answer["answer_zh"]


def test_an_institution_not_designated_that_day_is_refused(ctx, admin, client, world):
    institutions.add_institution(ctx, actor=admin, code="P11000000009", name="未定点药房", kind="pharmacy",
                                 region="110000", designated=False, cross_region=False)
    answer = explain(client, "employee", person_id=world.person.id, action="settle",
                     institution_code="P11000000009", amount_fen=1_000).json()
    assert (answer["allowed"], answer["code"]) == (False, "institution.not_designated")


@pytest.mark.parametrize("body, status, code", [
    ({"action": "cash_out"}, 422, "request.invalid"),
    ({"action": "settle"}, 422, "request.invalid"),  # at which institution?
    ({"action": "settle", "institution_code": "P99999999999"}, 404, "institution.not_found"),
    ({"action": "withdraw", "reason": "bored"}, 422, "request.invalid"),
    ({"action": "withdraw", "amount_fen": -1}, 422, "request.invalid"),
    ({"action": "withdraw", "amount_fen": 1.5}, 422, "request.invalid"),
    ({"action": "withdraw", "amount_fen": "100"}, 422, "request.invalid"),
    ({"action": "file", "reason": "holiday"}, 422, "request.invalid"),
    ({"action": "withdraw", "date": "2026-02-30"}, 422, "request.invalid"),
    ({"action": "withdraw", "channel": "fax"}, 422, "request.invalid"),
    ({"action": "withdraw", "person_id": "psn_0000000000000000"}, 404, "person.not_found"),
])
def test_bad_questions_get_a_problem_and_write_nothing(ctx, client, world, body, status, code):
    before = count(ctx, audit_records)
    r = client.post(f"{API}/policy/explain", headers=bearer(client, "admin-user"),
                    json={"person_id": world.person.id, **body})
    assert_problem(r, status, code)
    assert count(ctx, audit_records) == before


def test_the_rules_in_force_on_a_day_with_versions_and_references(ctx, admin, client, world):
    r = client.get(f"{API}/policies/110000", headers=bearer(client, "employee"), params={"date": "2026-03-02"})
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["policy_region"], view["name_zh"], view["date"]) == ("110000", "北京市", "2026-03-02")
    rules = {x["name"]: x for x in view["rules"]}
    limit = rules["bj.settlement.institution_daily"]
    assert limit["figures"]["limit"] == {"parameter": "settlement.limit.institution_daily", "value": 50000,
                                         "unit": "fen"}
    assert limit["effective_from"] == "2019-01-01" and "种子文章 004" in limit["reference"]
    assert limit["loaded_at"] is None  # nothing loaded yet: the shipped tree is in force
    assert "national.settlement.cross_region.base" in rules  # the national layer over the region
    before = client.get(f"{API}/policies/110000", headers=bearer(client, "employee"), params={"date": "2018-12-31"})
    assert "bj.settlement.institution_daily" not in {x["name"] for x in before.json()["rules"]}
    sets.load(ctx, actor=admin)
    loaded = client.get(f"{API}/policies/110000", headers=bearer(client, "employee")).json()
    assert all(x["loaded_at"] for x in loaded["rules"]) and loaded["policy_set"]["id"]
    shanghai = client.get(f"{API}/policies/310101", headers=bearer(client, "employee")).json()
    assert shanghai["policy_region"] == "000000" and not any(x["region"] != "000000" for x in shanghai["rules"])
    assert_problem(client.get(f"{API}/policies/999999", headers=bearer(client, "employee")), 422, "region.unknown")


def test_what_changed_between_two_days(client, world):
    r = client.get(f"{API}/policies/110000/changes", headers=bearer(client, "employee"),
                   params={"from": "2018-12-31", "to": "2019-01-01"})
    assert r.status_code == 200, r.text
    added = {(c["status"], c["kind"], c["name"]) for c in r.json()}
    assert ("added", "rule", "bj.settlement.institution_daily") in added
    assert ("added", "parameter", "settlement.limit.yearly") in added
    assert all(c["region"] == "110000" for c in r.json())  # the national layer was in force on neither day
    same = client.get(f"{API}/policies/110000/changes", headers=bearer(client, "employee"),
                      params={"from": "2026-01-01", "to": "2026-03-02"})
    assert same.json() == []
    assert_problem(client.get(f"{API}/policies/110000/changes", headers=bearer(client, "employee"),
                              params={"from": "2026-03-02", "to": "2026-01-01"}), 422, "request.invalid")


def test_a_person_reads_the_notice_of_a_change_that_concerns_them(ctx, admin, client, world, tmp_path):
    tree = Path(shutil.copytree(sets.BUNDLED, tmp_path / "policies"))
    sets.load(ctx, actor=admin, root=tree)
    settlement = tree / "110000-beijing/settlement.yaml"
    settlement.write_text(settlement.read_text().replace("      2019-01-01: 1000000\n",
                                                         "      2019-01-01: 1000000\n      2027-01-01: 1200000\n"))
    sets.load(ctx, actor=admin, root=tree)
    r = client.get(f"{API}/persons/{world.person.id}/notices", headers=bearer(client, "employee"))
    assert r.status_code == 200, r.text
    [notice] = [n for n in r.json() if n["kind"] == "policy_change"]  # besides: the bank account linked
    assert "年度累计不超过1万元" in notice["body_zh"] and "¥10,000.00 → ¥12,000.00" in notice["body_zh"]
    assert notice["read_at"] is None


def test_the_command_line_refuses_a_broken_tree_naming_file_line_and_key(env, tmp_path):
    tree = Path(shutil.copytree(sets.BUNDLED, tmp_path / "policies"))
    path = tree / "110000-beijing/settlement.yaml"
    path.write_text(path.read_text().replace("on_reach: partial}", "on_reach: partial, share: 0.5}", 1))
    assert yibao(env, "db", "upgrade").returncode == 0
    refused = yibao(env, "policy", "load", str(tree))
    assert refused.returncode == 1
    assert "nothing was loaded" in refused.stderr
    assert "110000-beijing/settlement.yaml:29: rules.bj.settlement.institution_daily.versions.2019-01-01.share: " \
           "settlement.limit.institution_daily has no field share" in refused.stderr
    checked = yibao(env, "policy", "check", str(tree))
    assert checked.returncode == 1 and "settlement.yaml:29" in checked.stderr
    loaded = yibao(env, "policy", "load")
    assert loaded.returncode == 0 and "loaded pol_" in loaded.stdout, loaded.stderr


def test_the_command_line_explains_in_both_languages(env, database_url, tmp_path):
    assert yibao(env, "db", "upgrade").returncode == 0
    assert yibao(env, "demo", "load").returncode == 0
    from yibao.services.demo import id_number

    henan = id_number("410105", "19860214", "053")
    text = yibao(env, "policy", "explain", "--id-number", henan, "--action", "withdraw")
    assert text.returncode == 0, text.stderr
    assert "不能支取个人账户余额" in text.stdout and "No: withdrawing" in text.stdout
    assert "hn.withdrawal.base" in text.stdout
    as_json = yibao(env, "policy", "explain", "--id-number", henan, "--action", "withdraw", "--reason", "death",
                    "--date", "2026-03-02", "--json")
    answer = json.loads(as_json.stdout)  # she is alive: no death on record, no heirs' withdrawal
    assert (answer["allowed"], answer["code"]) == (False, "application.person_not_deceased")
    assert answer["reasons"][0]["rule_id"] == "hn.withdrawal.death"
    unknown = yibao(env, "policy", "explain", "--id-number", henan, "--action", "teleport")
    assert unknown.returncode == 1 and "request.invalid" in unknown.stderr
    shown = yibao(env, "policy", "show", "110000", "--date", "2026-03-02", "--json")
    assert "bj.settlement.yearly" in {r["name"] for r in json.loads(shown.stdout)["rules"]}
    changed = yibao(env, "policy", "diff", "110000", "--from", "2018-12-31", "--to", "2019-01-01", "--json")
    assert "bj.settlement.daily" in {c["name"] for c in json.loads(changed.stdout)}


def test_policy_load_is_recorded_by_demo_load(env, database_url):
    assert yibao(env, "db", "upgrade").returncode == 0
    first = yibao(env, "demo", "load")
    assert first.returncode == 0 and "1 policy set" in first.stdout, first.stderr
    again = yibao(env, "policy", "load")
    assert again.returncode == 0 and "unchanged" in again.stdout
