"""An emergency stated at settlement (急诊抢救): outside the insured region it counts as filed where the policy says
so (医保发〔2022〕22号, national.settlement.cross_region.emergency); it is recorded on the settlement and in its audit
record, listed for reviewers and auditors, and it is part of what a retry with the same key must repeat."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import API, PIN, assert_problem, bearer, build_world, count, fund, pay_code
from yibao.domain.clock import SHANGHAI
from yibao.services.credentials import auth, evouchers
from yibao.services.crossregion import filings
from yibao.services.policy import sets
from yibao.services.registry import institutions
from yibao.store.tables import audit_records, idempotency_keys, ledger_entries, settlements

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
SHANGHAI_HOSPITAL = "H31000000001"  # networked for cross-region direct settlement
SHANGHAI_CLINIC = "C31000000001"  # not networked
EMERGENCY_RULE = "national.settlement.cross_region.emergency"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    fund(ctx, admin, world.person.id, months=25, employer_id=world.employer_id)  # ¥12,500 in the account
    for code, kind, networked in ((SHANGHAI_HOSPITAL, "hospital", True), (SHANGHAI_CLINIC, "clinic", False)):
        institutions.add_institution(ctx, actor=admin, code=code, name=f"上海{kind}", kind=kind, region="310104",
                                     designated=True, cross_region=networked, designated_from=dt.date(2024, 1, 1))
        auth.add_user(ctx, actor=admin, username=f"user-{code}", password="correct-horse-9", role="institution",
                      institution_code=code)
    ctx.clock.set(MORNING)
    return world


def pay(client, world, *, at: str = SHANGHAI_HOSPITAL, key: str, emergency: bool | None = None,
        amount: int = 30_000, category: str = "medical_service", credential: dict | None = None):
    body = {"idempotency_key": key, "institution_code": at,
            "credential": credential or {"type": "card", "card_no": world.person.card_no, "pin": PIN},
            "items": [{"category": category, "amount_fen": amount}]}
    if emergency is not None:
        body["emergency"] = emergency
    user = "institution-user" if at == world.institution_code else f"user-{at}"
    return client.post(f"{API}/settlements", headers=bearer(client, user), json=body)


def e_voucher_code(ctx, admin, client, world) -> dict:
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                             id_number=world.person.id_number, name=world.person.name, channel="app")
    return pay_code(client, token)


def rules_of(body: dict) -> list[str]:
    return [r["rule_id"] for r in body["decision"]["rules"]]


def written(ctx) -> tuple[int, int, int, int]:
    return tuple(count(ctx, t) for t in (settlements, ledger_entries, idempotency_keys, audit_records))


def settlement_audit(ctx, settlement_id: str) -> dict:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(audit_records.c.details).where(
            audit_records.c.entity == "settlement", audit_records.c.entity_id == settlement_id,
            audit_records.c.action == "settlement.create")).scalar_one()


def listed(client, username: str = "reviewer-user"):
    return client.get(f"{API}/emergency-settlements", headers=bearer(client, username),
                      params={"from": "2026-03-01", "to": "2026-03-31"})


def test_without_an_emergency_an_unfiled_cross_region_payment_is_refused_and_writes_nothing(ctx, admin, client,
                                                                                          world):
    shown = e_voucher_code(ctx, admin, client, world)
    before = written(ctx)
    refused = assert_problem(pay(client, world, key="plain", credential=shown), 422, "filing.required")
    assert refused["rules"][0]["rule_id"] == "national.settlement.cross_region.base"
    refused = assert_problem(pay(client, world, key="plain-false", emergency=False, credential=shown), 422,
                             "filing.required")
    # a card is refused before its PIN is looked at: nothing counted
    assert_problem(pay(client, world, key="plain-card"), 422, "card.region_not_covered")
    assert written(ctx) == before


def test_an_emergency_counts_as_filed_at_a_networked_hospital_and_is_recorded(ctx, client, world):
    r = pay(client, world, key="er-1", emergency=True)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["account_paid_fen"], body["cash_fen"], body["emergency"]) == (30_000, 0, True)
    assert EMERGENCY_RULE in rules_of(body)
    assert "急诊抢救视同已备案" in body["decision"]["explanation_zh"]
    details = settlement_audit(ctx, body["settlement_id"])
    assert (details["emergency_claimed"], details["emergency_counted"]) == (True, True)
    shown = client.get(f"{API}/settlements/{body['settlement_id']}", headers=bearer(client, "reviewer-user")).json()
    assert shown["emergency"] is True
    found = listed(client)
    assert found.status_code == 200, found.text
    assert [s["settlement_id"] for s in found.json()] == [body["settlement_id"]]
    assert listed(client, "auditor-user").status_code == 200
    assert_problem(listed(client, f"user-{SHANGHAI_HOSPITAL}"), 403, "auth.forbidden")
    assert_problem(listed(client, "employee"), 403, "auth.forbidden")


def test_an_emergency_at_an_institution_not_networked_is_refused_like_any_unfiled_payment(ctx, admin, client,
                                                                                          world):
    shown = e_voucher_code(ctx, admin, client, world)
    before = written(ctx)
    refused = assert_problem(pay(client, world, at=SHANGHAI_CLINIC, key="er-clinic", emergency=True,
                                 credential=shown), 422, "filing.required")
    assert_problem(pay(client, world, at=SHANGHAI_CLINIC, key="er-clinic-card", emergency=True), 422,
                   "card.region_not_covered")  # not counted as filed here: the PIN is not looked at
    assert EMERGENCY_RULE not in [r["rule_id"] for r in refused.get("rules", [])]
    assert written(ctx) == before


def test_the_flag_is_part_of_the_request_a_retry_must_repeat(ctx, client, world):
    first = pay(client, world, key="er-retry", emergency=True)
    assert first.status_code == 201, first.text
    again = pay(client, world, key="er-retry", emergency=True)
    assert again.status_code == 201 and again.json() == first.json()
    before = written(ctx)
    assert_problem(pay(client, world, key="er-retry"), 409, "idempotency.conflict")
    assert_problem(pay(client, world, key="er-retry", emergency=False), 409, "idempotency.conflict")
    assert written(ctx) == before
    home = pay(client, world, at=world.institution_code, key="home", category="drug", amount=1_000)
    assert home.status_code == 201, home.text
    assert_problem(pay(client, world, at=world.institution_code, key="home", category="drug", amount=1_000,
                       emergency=True), 409, "idempotency.conflict")


def test_stating_an_emergency_where_it_does_not_count_changes_nothing_and_is_still_recorded(ctx, admin, client,
                                                                                           world):
    home = pay(client, world, at=world.institution_code, key="home-er", category="drug", amount=1_000,
               emergency=True)
    plain = pay(client, world, at=world.institution_code, key="home-plain", category="drug", amount=1_000)
    assert home.status_code == plain.status_code == 201, home.text
    assert rules_of(home.json()) == rules_of(plain.json()) and EMERGENCY_RULE not in rules_of(home.json())
    assert home.json()["account_paid_fen"] == plain.json()["account_paid_fen"] == 1_000
    assert (home.json()["emergency"], plain.json()["emergency"]) == (True, False)
    details = settlement_audit(ctx, home.json()["settlement_id"])
    assert (details["emergency_claimed"], details["emergency_counted"]) == (True, False)
    assert "emergency_claimed" not in settlement_audit(ctx, plain.json()["settlement_id"])
    filings.file(ctx, actor=admin, person_id=world.person.id, type="temporary", reason="referral",
                 destination_region="310000")
    filed = pay(client, world, key="filed-er", emergency=True)
    assert filed.status_code == 201, filed.text
    assert "national.settlement.cross_region.filed" in rules_of(filed.json())
    assert EMERGENCY_RULE not in rules_of(filed.json())
    assert settlement_audit(ctx, filed.json()["settlement_id"])["emergency_counted"] is False
    assert [s["settlement_id"] for s in listed(client).json()] == [home.json()["settlement_id"],
                                                                  filed.json()["settlement_id"]]


def test_where_the_policy_retired_the_emergency_rule_stating_one_changes_nothing(ctx, admin, client, world,
                                                                                 tmp_path):
    tree = Path(shutil.copytree(sets.BUNDLED, tmp_path / "policies"))
    file = tree / "000000-national/cross-region.yaml"
    text = file.read_text(encoding="utf-8")
    old = "file before discharge\n    versions:\n      2022-07-01: {allowed: true}\n"
    assert old in text
    file.write_text(text.replace(old, old + "      2026-01-01: null\n"), encoding="utf-8")
    sets.load(ctx, actor=admin, root=tree)
    shown = e_voucher_code(ctx, admin, client, world)
    before = written(ctx)
    refused = assert_problem(pay(client, world, key="er-retired", emergency=True, credential=shown), 422,
                             "filing.required")
    assert_problem(pay(client, world, key="er-retired-card", emergency=True), 422, "card.region_not_covered")
    assert refused["rules"][0]["rule_id"] == "national.settlement.cross_region.base"
    assert written(ctx) == before


def test_emergency_is_true_or_false(ctx, client, world):
    before = written(ctx)
    for value in ("yes", 1, None):
        r = client.post(f"{API}/settlements", headers=bearer(client, f"user-{SHANGHAI_HOSPITAL}"), json={
            "idempotency_key": "bad-flag", "institution_code": SHANGHAI_HOSPITAL, "emergency": value,
            "credential": {"type": "card", "card_no": world.person.card_no, "pin": PIN},
            "items": [{"category": "medical_service", "amount_fen": 1_000}]})
        assert_problem(r, 422, "request.invalid")
    assert written(ctx) == before


def test_a_stated_emergency_is_sealed_and_an_edit_of_it_is_named(ctx, client, world, backend):
    """The flag decides whether a filing was needed: switching it off behind the services' back shows."""
    from tests.integration.test_tamper_evidence import tamper
    from yibao.services.audit import verify

    paid = pay(client, world, key="er-sealed", emergency=True)
    assert paid.status_code == 201, paid.text
    assert verify.verify(ctx).ok
    tamper(ctx, backend, ("UPDATE settlements SET emergency = FALSE", {}))

    report = verify.verify(ctx)

    assert [(b.table, b.row) for b in report.breaks] == [("settlements", paid.json()["settlement_id"])]
