"""Paying at designated institutions, the stories of the seed articles: Beijing's limits per institution, per
day and per year (004), bad cards refused, a family grantee paying within the owner's limits, cross-region
only with a filing, retries, refunds, and what the institution reconciles against."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.support import API, PIN, add_person, assert_problem, bearer, build_world, count, fund, pay_code, rows
from yibao.domain.clock import SHANGHAI
from yibao.services.accounts import contributions
from yibao.services.credentials import auth, cards, evouchers
from yibao.services.crossregion import family, filings
from yibao.services.registry import enrolment, institutions
from yibao.store.tables import ledger_accounts, ledger_postings, settlements

MORNING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
FUNDED = 25 * 50_000  # 2024-01 to 2026-01, 2 % of a ¥25,000 base each month: ¥12,500 in the account
PHARMACY_A = "P11000000001"  # the world's pharmacy, with its own user "institution-user"


@pytest.fixture
def world(ctx, admin):
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    assert fund(ctx, admin, world.person.id, months=25, employer_id=world.employer_id) == FUNDED
    for code in ("P11000000002", "P11000000003"):
        institutions.add_institution(ctx, actor=admin, code=code, name=f"药房{code[-1]}", kind="pharmacy",
                                     region="110000", designated=True, cross_region=False,
                                     designated_from=dt.date(2024, 1, 1))
        auth.add_user(ctx, actor=admin, username=f"pharmacy-{code[-1]}", password="correct-horse-9",
                      role="institution", institution_code=code)
    ctx.clock.set(MORNING)
    return world


def pay(client, world, amount: int, *, at: str = PHARMACY_A, key: str | None = None, category: str = "drug",
        credential: dict | None = None, owner: str | None = None, username: str | None = None):
    user = username or ("institution-user" if at == PHARMACY_A else f"pharmacy-{at[-1]}")
    body = {"idempotency_key": key or f"k-{at}-{amount}-{pay.n}", "institution_code": at,
            "credential": credential or {"type": "card", "card_no": world.person.card_no, "pin": PIN},
            "items": [{"category": category, "amount_fen": amount}]}
    if owner:
        body["account_owner_id"] = owner
    pay.n += 1
    return client.post(f"{API}/settlements", headers=bearer(client, user), json=body)


pay.n = 0


def balance(client, world) -> int:
    return client.get(f"{API}/accounts/{world.person.id}", headers=bearer(client, "employee")).json()["balance_fen"]


def rules_of(r) -> list[str]:
    return [x["rule_id"] for x in r.json()["decision"]["rules"]]


def test_beijing_400_then_200_at_one_pharmacy_pays_100_from_the_account_and_100_in_cash(client, world):
    first = pay(client, world, 40_000)
    assert first.status_code == 201, first.text
    assert (first.json()["account_paid_fen"], first.json()["cash_fen"], first.json()["balance_after_fen"]) == (
        40_000, 0, FUNDED - 40_000)
    assert first.json()["decision"]["limited_by"] == []
    second = pay(client, world, 20_000)
    assert second.status_code == 201, second.text
    body = second.json()
    assert (body["total_fen"], body["account_paid_fen"], body["cash_fen"]) == (20_000, 10_000, 10_000)
    assert body["decision"]["limited_by"] == ["limit.institution_daily"]
    assert "bj.settlement.institution_daily" in rules_of(second)
    assert "同一定点医药机构每日个人账户支付上限 ¥500.00，今日已用 ¥400.00，尚可 ¥100.00" in \
        body["decision"]["explanation_zh"]
    assert balance(client, world) == FUNDED - 50_000


def test_1000_a_day_across_pharmacies_and_the_quota_is_back_the_next_day(ctx, client, world):
    assert pay(client, world, 50_000).json()["account_paid_fen"] == 50_000
    assert pay(client, world, 50_000, at="P11000000002").json()["account_paid_fen"] == 50_000
    third = pay(client, world, 30_000, at="P11000000003").json()
    assert (third["account_paid_fen"], third["cash_fen"], third["decision"]["limited_by"]) == (
        0, 30_000, ["limit.daily"])
    ctx.clock.set(MORNING + dt.timedelta(days=1))
    next_day = pay(client, world, 30_000, at="P11000000003").json()
    assert (next_day["account_paid_fen"], next_day["decision"]["limited_by"]) == (30_000, [])


def test_10000_a_year(ctx, client, world):
    for day in range(10):  # ¥1,000 a day at two pharmacies for ten days
        ctx.clock.set(MORNING + dt.timedelta(days=day))
        assert pay(client, world, 50_000).json()["account_paid_fen"] == 50_000
        assert pay(client, world, 50_000, at="P11000000002").json()["account_paid_fen"] == 50_000
    ctx.clock.set(MORNING + dt.timedelta(days=10))
    over = pay(client, world, 100).json()
    assert (over["account_paid_fen"], over["decision"]["limited_by"]) == (0, ["limit.yearly"])
    ctx.clock.set(dt.datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI))  # a new year, a new quota
    assert pay(client, world, 100).json()["account_paid_fen"] == 100


def test_the_balance_limits_what_the_account_pays(ctx, admin, client, world):
    poor = add_person(ctx, admin, name="刘洋", username="poor")
    enrolment.enroll(ctx, actor=admin, person_id=poor.id, scheme="employee", flexible=True,
                     start_date=dt.date(2024, 1, 1))
    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    contributions.credit(ctx, actor=admin, person_id=poor.id, period="2026-01", base_fen=750_000)  # ¥150
    ctx.clock.set(MORNING)
    r = pay(client, world, 30_000, credential={"type": "card", "card_no": poor.card_no, "pin": PIN})
    assert (r.json()["account_paid_fen"], r.json()["cash_fen"], r.json()["decision"]["limited_by"]) == (
        15_000, 15_000, ["balance.insufficient"])
    assert r.json()["balance_after_fen"] == 0


def test_medical_services_are_not_paid_at_a_pharmacy(client, world):
    r = pay(client, world, 8_000, category="medical_service").json()
    assert (r["account_paid_fen"], r["cash_fen"], r["decision"]["limited_by"]) == (0, 8_000, ["category.not_covered"])


@pytest.mark.parametrize("spoil, code", [
    (lambda ctx, admin, card: cards.report_lost(ctx, actor=admin, card_no=card), "card.lost"),
    (lambda ctx, admin, card: cards.freeze(ctx, actor=admin, card_no=card, reason="核查"), "account.frozen"),
    (lambda ctx, admin, card: ctx.clock.set(dt.datetime(2037, 1, 1, 9, 0, tzinfo=SHANGHAI)), "card.expired"),
])
def test_lost_frozen_and_expired_cards_are_refused_and_nothing_moves(ctx, admin, client, world, spoil, code):
    spoil(ctx, admin, world.person.card_no)
    before = count(ctx, ledger_postings)
    assert_problem(pay(client, world, 1_000), 409, code)
    assert count(ctx, ledger_postings) == before and count(ctx, settlements) == 0


def test_a_wrong_pin_is_refused_and_counted(client, world):
    r = pay(client, world, 1_000, credential={"type": "card", "card_no": world.person.card_no, "pin": "000000"})
    assert assert_problem(r, 422, "card.pin_wrong")["tries_left"] == 4


def test_an_evoucher_pays_with_its_payment_code_and_an_unknown_token_gets_none(ctx, admin, client, world):
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                             id_number=world.person.id_number, name=world.person.name, channel="app")
    r = pay(client, world, 1_000, credential=pay_code(client, token))
    assert r.status_code == 201 and r.json()["credential_type"] == "evoucher"
    assert_problem(client.post(f"{API}/evouchers/codes", json={"token": "x" * 43}), 401, "evoucher.invalid")


def test_a_retry_returns_the_first_answer_and_a_changed_retry_is_a_conflict(ctx, client, world):
    first = pay(client, world, 12_345, key="till-7-0001")
    again = pay(client, world, 12_345, key="till-7-0001")
    assert again.status_code == 201 and again.json() == first.json()
    assert count(ctx, settlements) == 1 and balance(client, world) == FUNDED - 12_345
    assert_problem(pay(client, world, 12_346, key="till-7-0001"), 409, "idempotency.conflict")
    other_shop = pay(client, world, 12_345, key="till-7-0001", at="P11000000002")  # keys are per institution
    assert other_shop.status_code == 201 and other_shop.json()["settlement_id"] != first.json()["settlement_id"]


def test_a_family_grantee_pays_from_the_owner_within_the_owner_limits_until_revoked(ctx, admin, client, world):
    mother = add_person(ctx, admin, name="王秀兰", username="mother", birth="19580307")
    grant, _ = family.grant(ctx, actor=admin, owner_id=world.person.id, grantee_id=mother.id, relation="parent")
    assert pay(client, world, 40_000).json()["account_paid_fen"] == 40_000  # the owner, at the same pharmacy
    mine = {"type": "card", "card_no": mother.card_no, "pin": PIN}
    r = pay(client, world, 30_000, credential=mine, owner=world.person.id)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["payer_id"], body["account_owner_id"], body["account_paid_fen"], body["cash_fen"]) == (
        mother.id, world.person.id, 10_000, 20_000)  # the owner's ¥500 at this pharmacy today
    assert "national.family.close_relatives" in rules_of(r)
    for username, person_id in (("employee", world.person.id), ("mother", mother.id)):
        seen = client.get(f"{API}/persons/{person_id}/settlements", headers=bearer(client, username)).json()
        assert body["settlement_id"] in [s["settlement_id"] for s in seen]
    family.revoke(ctx, actor=admin, grant_id=grant.id)
    assert_problem(pay(client, world, 1_000, credential=mine, owner=world.person.id), 422, "family.grant_required")


def test_cross_region_needs_a_filing(ctx, admin, client, world):
    institutions.add_institution(ctx, actor=admin, code="H31000000001", name="上海示例医院", kind="hospital",
                                 region="310104", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))
    auth.add_user(ctx, actor=admin, username="hospital-sh", password="correct-horse-9", role="institution",
                  institution_code="H31000000001")
    _, token = evouchers.activate_evoucher(ctx, actor=admin, person_id=world.person.id,
                                             id_number=world.person.id_number, name=world.person.name, channel="app")
    refused = assert_problem(pay(client, world, 30_000, at="H31000000001", category="medical_service",
                                 username="hospital-sh", credential=pay_code(client, token)), 422, "filing.required")
    assert "回参保地申请报销" in refused["message_zh"]
    assert refused["rules"][0]["rule_id"] == "national.settlement.cross_region.base"
    by_card = assert_problem(pay(client, world, 30_000, at="H31000000001", category="medical_service",
                                 username="hospital-sh"), 422, "card.region_not_covered")  # before the PIN
    assert "回参保地申请报销" in by_card["message_zh"]
    filings.file(ctx, actor=admin, person_id=world.person.id, type="temporary", reason="referral",
                 destination_region="310000")
    r = pay(client, world, 30_000, at="H31000000001", category="medical_service", username="hospital-sh")
    assert r.status_code == 201 and r.json()["account_paid_fen"] == 30_000
    assert "national.settlement.cross_region.filed" in rules_of(r)


def test_an_institution_not_designated_that_day_is_refused(ctx, admin, client, world):
    institutions.add_institution(ctx, actor=admin, code="P11000000009", name="已解约药房", kind="pharmacy",
                                 region="110000", designated=True, cross_region=False,
                                 designated_from=dt.date(2024, 1, 1), designated_to=dt.date(2026, 2, 28))
    r = client.post(f"{API}/settlements", headers=bearer(client, "admin-user"), json={
        "idempotency_key": "x1", "institution_code": "P11000000009",
        "credential": {"type": "card", "card_no": world.person.card_no, "pin": PIN},
        "items": [{"category": "drug", "amount_fen": 1_000}]})
    assert_problem(r, 422, "institution.not_designated")


def test_an_institution_settles_only_as_itself(client, world):
    r = pay(client, world, 1_000, at="P11000000002", username="institution-user")
    assert_problem(r, 403, "auth.forbidden")


def test_refunds_restore_the_account_and_the_quota_of_the_original_day(ctx, client, world):
    sold = pay(client, world, 50_000).json()
    assert pay(client, world, 100).json()["account_paid_fen"] == 0  # the pharmacy's ¥500 is used
    part = client.post(f"{API}/settlements/{sold['settlement_id']}/refund", headers=bearer(client, "institution-user"),
                       json={"idempotency_key": "r1", "amount_fen": 20_000})
    assert part.status_code == 200, part.text
    assert (part.json()["refunded_fen"], part.json()["status"], part.json()["restores_quota"]) == (
        20_000, "partly_refunded", True)
    assert balance(client, world) == FUNDED - 30_000
    assert pay(client, world, 30_000).json()["account_paid_fen"] == 20_000  # ¥200 of the quota back
    retry = client.post(f"{API}/settlements/{sold['settlement_id']}/refund",
                        headers=bearer(client, "institution-user"), json={"idempotency_key": "r1", "amount_fen": 20_000})
    assert retry.json() == part.json()
    too_much = client.post(f"{API}/settlements/{sold['settlement_id']}/refund",
                           headers=bearer(client, "institution-user"),
                           json={"idempotency_key": "r2", "amount_fen": 30_001})
    assert assert_problem(too_much, 422, "refund.exceeds")["refundable_fen"] == 30_000
    elsewhere = client.post(f"{API}/settlements/{sold['settlement_id']}/refund", headers=bearer(client, "pharmacy-2"),
                            json={"idempotency_key": "r3"})
    assert_problem(elsewhere, 403, "auth.forbidden")
    rest = client.post(f"{API}/settlements/{sold['settlement_id']}/refund", headers=bearer(client, "institution-user"),
                       json={"idempotency_key": "r4"})
    assert (rest.json()["amount_fen"], rest.json()["status"]) == (30_000, "refunded")


def test_the_institution_reconciles_its_day(ctx, client, world):
    pay(client, world, 40_000)
    pay(client, world, 20_000)
    pay(client, world, 8_000, category="medical_service")
    pay(client, world, 5_000, at="P11000000002")
    summary = client.get(f"{API}/institutions/{PHARMACY_A}/settlements/summary", headers=bearer(client, "institution-user"),
                         params={"date": "2026-03-02"}).json()
    assert (summary["count"], summary["total_fen"], summary["account_paid_fen"], summary["cash_fen"]) == (
        3, 68_000, 50_000, 18_000)
    assert summary["per_category"] == {"drug": {"total_fen": 60_000, "lines": 2},
                                       "medical_service": {"total_fen": 8_000, "lines": 1}}
    listed = client.get(f"{API}/institutions/{PHARMACY_A}/settlements", headers=bearer(client, "institution-user"))
    assert [s["total_fen"] for s in listed.json()] == [40_000, 20_000, 8_000]
    assert_problem(client.get(f"{API}/institutions/P11000000002/settlements", headers=bearer(client, "institution-user")),
                   403, "auth.forbidden")
    # What the institution was paid in the ledger is what its settlements say the account paid.
    with ctx.engine.connect() as conn:
        owed = conn.execute(sa.select(sa.func.sum(ledger_postings.c.amount_fen)).where(
            ledger_postings.c.account_id == f"institution_payable:{PHARMACY_A}")).scalar_one()
    assert owed == 50_000


@pytest.mark.parametrize("body, status, code", [
    ({"items": []}, 422, "request.invalid"),
    ({"items": [{"category": "food", "amount_fen": 100}]}, 422, "request.invalid"),
    ({"items": [{"category": "drug", "amount_fen": 0}]}, 422, "request.invalid"),
    ({"items": [{"category": "drug", "amount_fen": 1.5}]}, 422, "request.invalid"),
    ({"credential": {"type": "cash"}}, 422, "request.invalid"),
    ({"idempotency_key": ""}, 422, "request.invalid"),
    ({"account_owner_id": "psn_0000000000000000"}, 422, "family.grant_required"),
])
def test_bad_settlement_requests_get_a_problem_and_write_nothing(ctx, client, world, body, status, code):
    request = {"idempotency_key": "bad-1", "institution_code": PHARMACY_A,
               "credential": {"type": "card", "card_no": world.person.card_no, "pin": PIN},
               "items": [{"category": "drug", "amount_fen": 1_000}], **body}
    before = (count(ctx, ledger_postings), count(ctx, settlements), count(ctx, ledger_accounts))
    assert_problem(client.post(f"{API}/settlements", headers=bearer(client, "institution-user"), json=request),
                   status, code)
    assert (count(ctx, ledger_postings), count(ctx, settlements), count(ctx, ledger_accounts)) == before


def test_the_books_balance_after_a_day_of_payments_and_refunds(ctx, client, world):
    pay(client, world, 40_000)
    sold = pay(client, world, 50_000, at="P11000000002").json()
    client.post(f"{API}/settlements/{sold['settlement_id']}/refund", headers=bearer(client, "pharmacy-2"),
                json={"idempotency_key": "r"})
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(ledger_postings.c.amount_fen))).scalar_one() == 0
    quota_rows = [r for r in rows(ctx, ledger_accounts) if r.kind == "quota"]
    daily = next(r for r in quota_rows if ":daily:" in r.id)
    assert daily.posted_fen == 100_000 - 40_000  # the refund gave the other ¥500 back
