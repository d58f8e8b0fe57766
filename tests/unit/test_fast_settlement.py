"""Settlement's use cases on the fast ring: the real service functions on `fake_context()`, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import PIN, add_person, fund, new_phone, new_uscc
from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.audit import AuditRecord
from yibao.domain.cards import PIN_MAX_TRIES
from yibao.domain.clock import SHANGHAI
from yibao.domain.credentials import EVoucher
from yibao.domain.life_events import AccountFreeze
from yibao.domain.registry import Agency, Enrollment, Institution, Person
from yibao.domain.settlement import Settlement
from yibao.domain.users import Actor, Role
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import EntryKind, Posting
from yibao.services.accounts.books import Books
from yibao.services.context import digest
from yibao.services.credentials import cards, payment_codes
from yibao.services.crossregion import family
from yibao.services.policy import explain
from yibao.services.registry import enrolment, institutions
from yibao.services.settlement import payments

AT = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
ADMIN = Actor.system("fast-admin")
PHARMACY = "P11000000001"
CASHIER = Actor("cashier", Role.INSTITUTION, institution_code=PHARMACY)
ELSEWHERE = Actor("elsewhere", Role.INSTITUTION, institution_code="P11000000002")


def _seeded():
    ctx = fake_context(now=AT)
    with ctx.uow() as uow:
        uow.add(Institution(PHARMACY, "示例大药房", "pharmacy", "110000", False, dt.date(2024, 1, 1), None, AT))
        uow.add(Person("psn_a", "110105198503120011", "张伟", "13800000000", "110000", dt.date(1985, 3, 12), "male",
                       AT))
        uow.add(EVoucher("evc_a", "psn_a", "wechat", digest("token"), "active", AT))
        for n, (amount, paid, day, emergency) in enumerate([(8_000, 8_000, AT, False),
                                                            (20_000, 15_000, AT, True),
                                                            (5_000, 0, AT - dt.timedelta(days=1), False)]):
            uow.add(Settlement(f"stl_{n}", PHARMACY, f"k{n}", "psn_a", "psn_a", "card", amount, paid, amount - paid,
                               day.date(), day + dt.timedelta(minutes=n),
                               items=[{"category": "drug", "amount_fen": amount}], emergency=emergency))
        uow.commit()
    return ctx


def test_an_institution_reads_its_day_and_reconciles_it():
    ctx = _seeded()
    listed = payments.institution_settlements(ctx, actor=CASHIER, code=PHARMACY)
    assert [s["settlement_id"] for s in listed] == ["stl_0", "stl_1"]
    summary = payments.daily_summary(ctx, actor=CASHIER, code=PHARMACY)
    assert (summary["count"], summary["total_fen"], summary["account_paid_fen"], summary["cash_fen"]) == (
        2, 28_000, 23_000, 5_000)
    assert summary["per_category"] == {"drug": {"total_fen": 28_000, "lines": 2}}
    with pytest.raises(errors.AccessForbidden):
        payments.daily_summary(ctx, actor=ELSEWHERE, code=PHARMACY)
    with pytest.raises(errors.InstitutionNotFound):
        payments.institution_settlements(ctx, actor=ADMIN, code="P99999999999")


def test_a_person_reads_their_settlements_newest_first_and_reviewers_the_emergencies():
    ctx = _seeded()
    me = Actor("me", Role.PERSON, person_id="psn_a")
    assert [s["settlement_id"] for s in payments.person_settlements(ctx, actor=me, person_id="psn_a")] == [
        "stl_1", "stl_0", "stl_2"]
    assert payments.get_settlement(ctx, actor=me, settlement_id="stl_1")["cash_fen"] == 5_000
    with pytest.raises(errors.AccessForbidden):
        payments.get_settlement(ctx, actor=ELSEWHERE, settlement_id="stl_1")
    with pytest.raises(errors.SettlementNotFound):
        payments.get_settlement(ctx, actor=ADMIN, settlement_id="stl_9")
    claims = payments.emergency_claims(ctx, actor=Actor("rev", Role.REVIEWER), from_day=AT.date(), to_day=AT.date())
    assert [s["settlement_id"] for s in claims] == ["stl_1"]
    with pytest.raises(errors.AccessForbidden):
        payments.emergency_claims(ctx, actor=CASHIER, from_day=AT.date(), to_day=AT.date())


def test_a_payment_code_pays_once_while_it_is_valid_and_says_why_not_after():
    ctx = _seeded()
    with ctx.uow() as uow:
        uow.payment_codes.add(code_digest=digest("111"), evoucher_id="evc_a", person_id="psn_a", issued_at=AT,
                              expires_at=AT + dt.timedelta(seconds=60))
        assert payment_codes.holder(uow, code="111", now=AT) == "psn_a"
        payment_codes.use(uow, code="111", now=AT, used_for="stl_x")
        with pytest.raises(errors.PaymentCodeUsed):
            payment_codes.use(uow, code="111", now=AT, used_for="stl_y")
        with pytest.raises(errors.PaymentCodeInvalid):
            payment_codes.holder(uow, code="222", now=AT)
        uow.payment_codes.add(code_digest=digest("333"), evoucher_id="evc_a", person_id="psn_a", issued_at=AT,
                              expires_at=AT + dt.timedelta(seconds=60))
        assert isinstance(payment_codes.refusal(uow, code="333", now=AT + dt.timedelta(seconds=61)),
                          errors.PaymentCodeExpired)
        uow.get(EVoucher, "evc_a").revoke(AT)
        assert isinstance(payment_codes.refusal(uow, code="333", now=AT), errors.EVoucherInvalid)


@pytest.mark.parametrize("change, refused", [
    ({"items": []}, errors.SettlementInvalid),
    ({"items": [{"category": "food", "amount_fen": 1}]}, errors.SettlementInvalid),
    ({"credential": {"type": "evoucher", "token": "token"}}, errors.TokenNotAccepted),
    ({"emergency": "yes"}, errors.SettlementInvalid),
])
def test_a_bad_request_is_refused_before_anything_is_read(change, refused):
    ctx = _seeded()
    request = {"idempotency_key": "bad", "institution_code": PHARMACY,
               "credential": {"type": "evoucher_code", "code": "111"},
               "items": [{"category": "drug", "amount_fen": 100}], **change}
    with pytest.raises(refused):
        payments.settle(ctx, actor=CASHIER, **request)
    with pytest.raises(errors.AccessForbidden):
        payments.settle(ctx, actor=ELSEWHERE, **{**request, **change})


# --- paying, refunding and a limit, on the fake ledger ----------------------------------------------------------

FUNDED = 200_000


def _funded(region: str = "110000", code: str = PHARMACY):
    """A person of `region` enrolled, with ¥2,000 in the account, an e-voucher, and a designated pharmacy there."""
    ctx = _seeded() if code == PHARMACY else fake_context(now=AT)
    with ctx.uow() as uow:
        if code != PHARMACY:
            uow.add(Institution(code, "演示药房", "pharmacy", region, False, dt.date(2024, 1, 1), None, AT))
            uow.add(Person("psn_a", "210202198503120011", "张伟", "13800000000", region, dt.date(1985, 3, 12),
                           "male", AT))
            uow.add(EVoucher("evc_a", "psn_a", "wechat", digest("token"), "active", AT))
        uow.add(Enrollment("enr_a", "psn_a", "employee", None, True, dt.date(2024, 1, 1), "active", AT))
        books = Books(uow, AT)
        books.open(acct.personal("psn_a"), AccountKind.PERSONAL, region, person_id="psn_a")
        books.open(acct.contribution_clearing(region), AccountKind.CONTRIBUTION_CLEARING, region)
        books.post(EntryKind.CONTRIBUTION, [Posting(acct.contribution_clearing(region), -FUNDED),
                                            Posting(acct.personal("psn_a"), FUNDED, Bucket.CURRENT_YEAR)])
        uow.commit()
    return ctx


def _code(ctx, code: str) -> dict:
    with ctx.uow() as uow:
        uow.payment_codes.add(code_digest=digest(code), evoucher_id="evc_a", person_id="psn_a", issued_at=ctx.now(),
                              expires_at=ctx.now() + dt.timedelta(seconds=60))
        uow.commit()
    return {"type": "evoucher_code", "code": code}


def _pay(ctx, key: str, amount: int, code: str, institution: str = PHARMACY, cashier: Actor = CASHIER) -> dict:
    return payments.settle(ctx, actor=cashier, idempotency_key=key, institution_code=institution,
                           credential=_code(ctx, code), items=[{"category": "drug", "amount_fen": amount}])


def test_a_payment_code_pays_within_the_limit_and_a_retry_gets_the_first_answer():
    ctx = _funded()
    first = _pay(ctx, "k-1", 40_000, "c-1")
    assert (first["account_paid_fen"], first["cash_fen"], first["balance_after_fen"]) == (40_000, 0, FUNDED - 40_000)
    assert first["credential_type"] == "evoucher" and first["decision"]["limited_by"] == []
    again = payments.settle(ctx, actor=CASHIER, idempotency_key="k-1", institution_code=PHARMACY,
                            credential={"type": "evoucher_code", "code": "c-1"},
                            items=[{"category": "drug", "amount_fen": 40_000}])
    assert again == first
    with pytest.raises(errors.PaymentCodeUsed):  # the code paid once
        payments.settle(ctx, actor=CASHIER, idempotency_key="k-2", institution_code=PHARMACY,
                        credential={"type": "evoucher_code", "code": "c-1"},
                        items=[{"category": "drug", "amount_fen": 100}])
    # ¥500 a day at one pharmacy: of ¥200 more, ¥100 from the account and ¥100 in cash
    second = _pay(ctx, "k-3", 20_000, "c-3")
    assert (second["account_paid_fen"], second["cash_fen"]) == (10_000, 10_000)
    assert second["decision"]["limited_by"] == ["limit.institution_daily"]
    assert "今日已用 ¥400.00，尚可 ¥100.00" in second["decision"]["explanation_zh"]
    assert second["balance_after_fen"] == FUNDED - 50_000


def test_a_refund_gives_the_money_and_the_quota_back():
    ctx = _funded()
    paid = _pay(ctx, "k-1", 50_000, "c-1")
    back = payments.refund(ctx, actor=CASHIER, settlement_id=paid["settlement_id"], idempotency_key="r-1",
                           amount_fen=20_000)
    assert (back["amount_fen"], back["status"], back["balance_after_fen"]) == (20_000, "partly_refunded",
                                                                              FUNDED - 30_000)
    assert back["restores_quota"] is True
    with pytest.raises(errors.RefundExceeds):
        payments.refund(ctx, actor=CASHIER, settlement_id=paid["settlement_id"], idempotency_key="r-2",
                        amount_fen=40_000)
    with pytest.raises(errors.AccessForbidden):
        payments.refund(ctx, actor=ELSEWHERE, settlement_id=paid["settlement_id"], idempotency_key="r-3")
    assert _pay(ctx, "k-2", 20_000, "c-2")["account_paid_fen"] == 20_000  # the quota given back pays again


def test_the_days_payments_used_up_refuse_the_account_with_the_limit_and_its_rule():
    ctx = _funded(region="210200", code="P21020000001")
    cashier = Actor("dl", Role.INSTITUTION, institution_code="P21020000001")
    for n in range(5):
        assert _pay(ctx, f"k-{n}", 1_000, f"c-{n}", "P21020000001", cashier)["account_paid_fen"] == 1_000
    with pytest.raises(errors.RuleRefused) as refused:
        _pay(ctx, "k-5", 1_000, "c-5", "P21020000001", cashier)
    assert refused.value.code == "limit.daily_count"
    assert "dl.settlement.daily_count" in [r["rule_id"] for r in refused.value.facts["rules"]]


# --- a card and its PIN ------------------------------------------------------------------------------------------

HOLDER = Actor("zhangwei", Role.PERSON, person_id="psn_a")


def _carded(ctx) -> str:
    """The person's card, issued by the agency and activated by them with their PIN."""
    card = cards.issue_card(ctx, actor=ADMIN, person_id="psn_a")
    cards.activate(ctx, actor=HOLDER, card_no=card.card_no, id_number="110105198503120011", pin=PIN)
    return card.card_no


def _pay_by_card(ctx, key: str, amount: int, card_no: str, pin: str = PIN) -> dict:
    return payments.settle(ctx, actor=CASHIER, idempotency_key=key, institution_code=PHARMACY,
                           credential={"type": "card", "card_no": card_no, "pin": pin},
                           items=[{"category": "drug", "amount_fen": amount}])


def _balance(ctx) -> int:
    with ctx.uow() as uow:
        return Books(uow, ctx.now()).account(acct.personal("psn_a")).available_fen


def test_a_card_and_its_pin_pay_from_the_holders_account_and_a_wrong_pin_is_counted_though_nothing_is_paid():
    ctx = _funded()
    card_no = _carded(ctx)
    with pytest.raises(errors.PinWrong) as wrong:
        _pay_by_card(ctx, "k-1", 30_000, card_no, pin="000000")
    assert wrong.value.facts["tries_left"] == PIN_MAX_TRIES - 1
    assert cards.get_card(ctx, actor=HOLDER, card_no=card_no).pin_failures == 1
    assert _balance(ctx) == FUNDED
    paid = _pay_by_card(ctx, "k-2", 30_000, card_no)
    assert (paid["credential_type"], paid["payer_id"], paid["account_owner_id"]) == ("card", "psn_a", "psn_a")
    assert (paid["account_paid_fen"], paid["cash_fen"], paid["balance_after_fen"]) == (30_000, 0, FUNDED - 30_000)
    assert cards.get_card(ctx, actor=HOLDER, card_no=card_no).pin_failures == 0  # the right PIN clears the count
    assert _pay_by_card(ctx, "k-2", 30_000, card_no) == paid  # a retry gets its first answer
    assert _balance(ctx) == FUNDED - 30_000
    mine = payments.person_settlements(ctx, actor=HOLDER, person_id="psn_a")
    assert paid["settlement_id"] in [s["settlement_id"] for s in mine]


def test_wrong_pins_lock_the_card_and_the_holder_is_told():
    ctx = _funded()
    card_no = _carded(ctx)
    for n in range(PIN_MAX_TRIES - 1):
        with pytest.raises(errors.PinWrong):
            _pay_by_card(ctx, f"k-{n}", 1_000, card_no, pin="000000")
    with pytest.raises(errors.PinLocked):
        _pay_by_card(ctx, "k-last", 1_000, card_no, pin="000000")
    with pytest.raises(errors.PinLocked):  # now even the right PIN is refused
        _pay_by_card(ctx, "k-right", 1_000, card_no)
    assert cards.get_card(ctx, actor=HOLDER, card_no=card_no).pin_locked is True
    assert _balance(ctx) == FUNDED
    with ctx.uow() as uow:
        assert [a.details["failures"] for a in uow.all_by(AuditRecord, "id", action="card.pin_wrong")] == list(
            range(1, PIN_MAX_TRIES + 1))
        assert [n["person_id"] for n in uow.notices.kept() if n["kind"] != "application"] == ["psn_a"]


def test_a_card_is_refused_at_an_institution_outside_its_holders_region_before_its_pin_is_looked_at():
    ctx = _funded()
    card_no = _carded(ctx)
    with ctx.uow() as uow:
        uow.add(Institution("P31000000001", "上海药房", "pharmacy", "310000", False, dt.date(2024, 1, 1), None, AT))
        uow.commit()
    shanghai = Actor("sh", Role.INSTITUTION, institution_code="P31000000001")
    with pytest.raises(errors.PinRegionNotCovered):
        payments.settle(ctx, actor=shanghai, idempotency_key="k-sh", institution_code="P31000000001",
                        credential={"type": "card", "card_no": card_no, "pin": "000000"},
                        items=[{"category": "drug", "amount_fen": 1_000}])
    assert cards.get_card(ctx, actor=HOLDER, card_no=card_no).pin_failures == 0  # no guess counted


# --- the 12333 answer -------------------------------------------------------------------------------------------


def test_the_12333_answer_for_paying_counts_what_was_paid_today_and_a_payment_then_pays_its_maximum():
    ctx = _funded()
    with ctx.uow() as uow:
        uow.add(Agency("110000", "北京市医疗保障局经办中心", "北京市西城区示例路1号", "12333", "工作日 9:00-17:00"))
        uow.commit()
    before = explain.explain(ctx, actor=HOLDER, person_id="psn_a", action="settle", institution_code=PHARMACY,
                             amount_fen=20_000)
    assert (before["allowed"], before["max_amount_fen"]) == (True, 20_000)
    _pay(ctx, "k-1", 40_000, "c-1")
    answer = explain.explain(ctx, actor=HOLDER, person_id="psn_a", action="settle", institution_code=PHARMACY,
                             amount_fen=20_000)
    assert (answer["allowed"], answer["max_amount_fen"], answer["limited_by"]) == (
        True, 10_000, ["limit.institution_daily"])
    assert "今日已用 ¥400.00，尚可 ¥100.00" in answer["explanation_zh"]
    assert answer["answer_zh"].startswith("可以在定点医药机构使用个人账户支付")
    assert "北京市医疗保障局经办中心" in answer["answer_zh"] and answer["agency"]["phone"] == "12333"
    assert _pay(ctx, "k-2", 20_000, "c-2")["account_paid_fen"] == answer["max_amount_fen"]
    with ctx.uow() as uow:
        asked = uow.all_by(AuditRecord, "id", action="policy.explain")
    assert [(a.actor, a.details["asked"], a.details["allowed"]) for a in asked] == [
        ("zhangwei", "settle", True), ("zhangwei", "settle", True)]
    assert "bj.settlement.institution_daily" in [r["rule_id"] for r in asked[-1].details["rules"]]
    with pytest.raises(errors.InstitutionNotFound):
        explain.explain(ctx, actor=HOLDER, person_id="psn_a", action="settle", institution_code="P99999999999")
    with pytest.raises(errors.AccessForbidden):
        explain.explain(ctx, actor=Actor("other", Role.PERSON, person_id="psn_b"), person_id="psn_a",
                        action="settle", institution_code=PHARMACY)


def test_the_12333_answer_for_withdrawing_cites_the_article_that_says_no_and_a_freeze_says_no_too():
    ctx = _funded(region="210200", code="P21020000001")
    answer = explain.explain(ctx, actor=HOLDER, person_id="psn_a", action="withdraw")
    assert (answer["allowed"], answer["code"], answer["max_amount_fen"]) == (False, "withdrawal.not_allowed", 0)
    [reason] = answer["reasons"]
    assert reason["rule_id"] == "dl.withdrawal.base" and "种子文章 000（大连）" in reason["reference"]
    assert answer["answer_zh"].startswith("不能支取个人账户余额") and answer["requirements"] == []
    emigrating = explain.explain(ctx, actor=HOLDER, person_id="psn_a", action="withdraw", reason="emigration")
    assert emigrating["question_en"] == "withdrawing the personal account balance"
    with ctx.uow() as uow:
        uow.add(AccountFreeze("frz_1", "psn_a", "调查中", AT, "agency"))
        uow.commit()
    frozen = explain.explain(ctx, actor=HOLDER, person_id="psn_a", action="withdraw", reason="emigration")
    assert (frozen["allowed"], frozen["code"]) == (False, errors.AccountFrozen.code)
    with pytest.raises(errors.RequestInvalid):
        explain.explain(ctx, actor=HOLDER, person_id="psn_a", action="withdraw", reason="bored")


def test_a_relative_granted_the_account_pays_from_it_with_their_own_card_and_the_owner_is_told():
    ctx = fake_context(now=dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    institutions.add_institution(ctx, actor=ADMIN, code=PHARMACY, name="示例大药房", kind="pharmacy", region="110000",
                                 designated=True, cross_region=False, designated_from=dt.date(2024, 1, 1))
    unit = enrolment.register_employer(ctx, actor=ADMIN, uscc=new_uscc(), name="示例单位", region="110000",
                                       contact_name="周敏", contact_phone=new_phone())
    son, mother = add_person(ctx, ADMIN, name="张伟"), add_person(ctx, ADMIN, name="王芳", birth="19580307")
    enrolment.enroll(ctx, actor=ADMIN, person_id=son.id, scheme="employee", employer_id=unit.id,
                     start_date=dt.date(2024, 1, 1))
    fund(ctx, ADMIN, son.id, months=4, employer_id=unit.id)
    ctx.clock.set(AT)
    mothers_card = {"type": "card", "card_no": mother.card_no, "pin": PIN}
    paying = {"actor": CASHIER, "institution_code": PHARMACY, "credential": mothers_card,
              "items": [{"category": "drug", "amount_fen": 12_000}], "account_owner_id": son.id}
    with pytest.raises(errors.GrantRequired):
        payments.settle(ctx, idempotency_key="k-0", **paying)
    made, _ = family.grant(ctx, actor=Actor(son.username, Role.PERSON, person_id=son.id), owner_id=son.id,
                           grantee_id=mother.id, relation="parent")
    family.accept(ctx, actor=Actor(mother.username, Role.PERSON, person_id=mother.id), grant_id=made.id)
    paid = payments.settle(ctx, idempotency_key="k-1", **paying)
    assert (paid["payer_id"], paid["account_owner_id"], paid["account_paid_fen"]) == (mother.id, son.id, 12_000)
    with ctx.uow() as uow:
        told = [n for n in uow.notices.kept() if n["person_id"] == son.id]
    assert (told[-1]["kind"], told[-1]["data"]["settlement_id"]) == ("family_grant.payment", paid["settlement_id"])
    assert "个人账户支付 ¥120.00" in told[-1]["body_zh"] and mother.name not in told[-1]["body_zh"]
