"""Disbursement and appointments on the fast ring: the real services on an in-memory unit of work."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.unit.fakes import fake_context
from yibao.config import Settings
from yibao.domain import bank_files, errors
from yibao.domain.applications import Application
from yibao.domain.audit import AuditRecord
from yibao.domain.clock import SHANGHAI
from yibao.domain.disbursement import AppliedReturn, Batch, BatchLine, BatchStatus, LineStatus
from yibao.domain.registry import Institution, Person
from yibao.domain.users import Actor, Role
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import EntryKind, Posting
from yibao.services.accounts.books import Books
from yibao.services.applications import appointments, bank, disbursement

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
ADMIN = Actor("admin-1", Role.ADMIN)
REVIEWER = Actor("reviewer-2", Role.REVIEWER)
HOSPITAL = "H310000001"
BANK_KEY = Ed25519PrivateKey.generate()


def _person(n: int) -> Person:
    return Person(f"per_{n}", f"31010119800101{n:04d}", f"参保人{n}", "13800000000", "310000", dt.date(1980, 1, 1),
                  "F", NOW)


def _world():
    ctx = fake_context(now=NOW.replace(tzinfo=None))
    ctx.settings = Settings(env="test", argon2_profile="light", bank_public_key=bank.encode_public_key(
        BANK_KEY.public_key()))
    store = ctx.extras["store"]
    store.rows[Institution][HOSPITAL] = Institution(HOSPITAL, "第一人民医院", "hospital", "310000", True,
                                                    dt.date(2020, 1, 1), None, NOW)
    for n in range(1, 5):
        store.rows[Person][f"per_{n}"] = _person(n)
    return ctx, store


def _about_now(moment: dt.datetime) -> bool:
    return abs(moment - NOW) < dt.timedelta(minutes=1)  # the fake context's clock runs on from NOW


def _audited(store, action: str) -> list[AuditRecord]:
    return [r for r in store.all(AuditRecord) if r.action == action]


# --- appointments ---------------------------------------------------------------------------------


def _slot(ctx, capacity: int = 2):
    return appointments.publish_slot(ctx, actor=ADMIN, institution_code=HOSPITAL,
                                     starts_at=dt.datetime(2026, 3, 3, 9, 0), ends_at=dt.datetime(2026, 3, 3, 11, 0),
                                     capacity=capacity)


def test_bookings_take_the_places_of_a_slot_and_a_full_slot_is_refused():
    ctx, store = _world()
    slot = _slot(ctx)
    first = appointments.book(ctx, actor=ADMIN, slot_id=slot.id, person_id="per_1", purpose=" cash_voucher ")
    second = appointments.book(ctx, actor=Actor("p2", Role.PERSON, person_id="per_2"), slot_id=slot.id,
                               person_id="per_2", purpose="cash_voucher")
    assert (first.status, first.purpose, first.slot.remaining) == ("booked", "cash_voucher", 1)
    assert second.slot.remaining == 0
    with pytest.raises(errors.SlotFull) as full:
        appointments.book(ctx, actor=ADMIN, slot_id=slot.id, person_id="per_3", purpose="cash_voucher")
    assert full.value.code == "appointment.full" and "(2 people)" in str(full.value)
    [listed] = appointments.list_slots(ctx, actor=ADMIN, institution_code=HOSPITAL, day=dt.date(2026, 3, 3))
    assert (listed.booked, listed.remaining) == (2, 0)
    assert appointments.list_slots(ctx, actor=ADMIN, institution_code=HOSPITAL, day=dt.date(2026, 3, 4)) == []
    assert len(_audited(store, "appointment.book")) == 2


def test_a_cancelled_booking_frees_its_place_and_cannot_be_cancelled_twice():
    ctx, _store = _world()
    slot = _slot(ctx, capacity=1)
    booked = appointments.book(ctx, actor=ADMIN, slot_id=slot.id, person_id="per_1", purpose="cash_voucher")
    cancelled = appointments.cancel(ctx, actor=ADMIN, appointment_id=booked.id)
    assert (cancelled.status, cancelled.slot.remaining) == ("cancelled", 1)
    assert _about_now(cancelled.cancelled_at)
    with pytest.raises(errors.AppointmentCancelled):
        appointments.cancel(ctx, actor=ADMIN, appointment_id=booked.id)
    again = appointments.book(ctx, actor=ADMIN, slot_id=slot.id, person_id="per_3", purpose="cash_voucher")
    assert again.slot.remaining == 0


def test_one_booking_per_person_and_slot_and_only_the_person_or_staff_book_it():
    ctx, _store = _world()
    slot = _slot(ctx)
    appointments.book(ctx, actor=ADMIN, slot_id=slot.id, person_id="per_1", purpose="cash_voucher")
    with pytest.raises(errors.AppointmentDuplicate):
        appointments.book(ctx, actor=ADMIN, slot_id=slot.id, person_id="per_1", purpose="cash_voucher")
    with pytest.raises(errors.AccessForbidden):
        appointments.book(ctx, actor=Actor("p2", Role.PERSON, person_id="per_2"), slot_id=slot.id,
                          person_id="per_3", purpose="cash_voucher")
    with pytest.raises(errors.SlotNotFound):
        appointments.book(ctx, actor=ADMIN, slot_id="slt_none", person_id="per_1", purpose="cash_voucher")


def test_a_booking_used_by_a_redemption_can_no_longer_be_cancelled():
    ctx, store = _world()
    slot = _slot(ctx)
    booked = appointments.book(ctx, actor=ADMIN, slot_id=slot.id, person_id="per_1", purpose="cash_voucher")
    with ctx.uow() as uow:
        assert appointments.serves_by_appointment(uow, HOSPITAL)
        assert appointments.booked_on(uow, "per_1", HOSPITAL, dt.date(2026, 3, 3))
        assert not appointments.booked_on(uow, "per_1", HOSPITAL, dt.date(2026, 3, 4))
        assert appointments.use_booking(ctx, uow, ADMIN, person_id="per_1", institution_code=HOSPITAL,
                                        day=dt.date(2026, 3, 3)) == booked.id
        uow.commit()
    with pytest.raises(errors.AppointmentUsed) as used:
        appointments.cancel(ctx, actor=ADMIN, appointment_id=booked.id)
    assert _about_now(dt.datetime.fromisoformat(used.value.facts["used_at"]))
    assert [r.entity_id for r in _audited(store, "appointment.use")] == [booked.id]


# --- the disbursement states ---------------------------------------------------------------------


def _line(n: int, status: str = LineStatus.PENDING) -> BatchLine:
    return BatchLine("bat_1", n, f"dln_{n}", f"app_{n}", f"hld_{n}", "孙丽", "6222020200001234567", 5_000, 0,
                     status, None, dt.date(2026, 3, 4))


def test_a_line_the_bank_settled_stays_as_it_settled_it():
    paid, failed = _line(1), _line(2)
    paid.settle("paid", "")
    failed.settle("failed", "账户已销户")
    assert (paid.status, paid.reason, failed.status, failed.reason) == ("paid", None, "failed", "账户已销户")
    with pytest.raises(errors.ReturnLineSettled) as settled:
        paid.settle("failed", "")
    assert settled.value.code == "disbursement.line_settled" and paid.status == "paid"
    assert "Line 1 was already settled as paid" in str(settled.value)


def test_a_batch_is_returned_when_its_last_open_line_is_settled():
    batch = Batch("bat_1", "fil_1", "中国工商银行", "f.csv", "0" * 64, "", 2, 10_000, BatchStatus.SENT)
    lines = [_line(1, LineStatus.PAID), _line(2)]
    batch.close_if_settled(lines, NOW)
    assert (batch.status, batch.returned_at) == ("sent", None)
    lines[1].settle("failed", "户名不符")
    batch.close_if_settled(lines, NOW)
    assert (batch.status, batch.returned_at) == ("returned", NOW)
    batch.close_if_settled(lines, NOW + dt.timedelta(days=1))
    assert batch.returned_at == NOW


# --- the bank's return file, refused before it touches the books ---------------------------------------


def _sent_batch(store, *line_statuses: str) -> Batch:
    lines = [_line(n, status) for n, status in enumerate(line_statuses, start=1)]
    store.rows[Batch]["bat_1"] = Batch("bat_1", "fil_1", "中国工商银行", "20260302-bat_1.csv", "0" * 64, "payment",
                                       len(lines), sum(line.amount_fen for line in lines), BatchStatus.SENT,
                                       created_by="admin-1", business_date=NOW.date(), created_at=NOW)
    store.tables["disbursement_lines"].extend(line.read() for line in lines)
    return store.rows[Batch]["bat_1"]


def _signed_return(*results: str, batch_id: str = "bat_1", file_id: str = "fil_1", return_id: str = "ret_1",
                   key: Ed25519PrivateKey = BANK_KEY, line_ids: list[str] | None = None) -> bytes:
    line_ids = line_ids or [f"dln_{n}" for n in range(1, len(results) + 1)]
    rows = [{"line_no": n, "line_id": line_ids[n - 1], "application_id": f"app_{n}", "amount_fen": 5_000,
             "result": result, "reason": "" if result == "paid" else "账户已销户"}
            for n, result in enumerate(results, start=1)]
    body = bank_files.return_body(return_id=return_id, batch_id=batch_id, file_id=file_id,
                                  returned_at=NOW.isoformat(), lines=rows)
    return body + bank_files.signature_line(key.sign(body))


def test_a_batch_reads_with_its_lines_and_an_unknown_one_is_not_found():
    ctx, store = _world()
    _sent_batch(store, LineStatus.PENDING, LineStatus.PAID)
    found = disbursement.get_batch(ctx, actor=Actor("auditor-1", Role.AUDITOR), batch_id="bat_1")
    assert [(line["line_no"], line["status"]) for line in found.lines] == [(1, "pending"), (2, "paid")]
    with pytest.raises(errors.BatchNotFound):
        disbursement.get_batch(ctx, actor=ADMIN, batch_id="bat_none")


@pytest.mark.parametrize(("content", "refusal"), [
    (_signed_return("paid").rsplit(b"SIGNATURE", 1)[0], errors.ReturnUnsigned),
    (_signed_return("paid", key=Ed25519PrivateKey.generate()), errors.ReturnSignatureInvalid),
    (_signed_return("paid", file_id="fil_other"), errors.ReturnForeign),
    (_signed_return("paid", "failed"), errors.ReturnLineSettled),
])
def test_a_return_file_is_refused_whole_and_the_refusal_is_audited(content, refusal):
    ctx, store = _world()
    _sent_batch(store, LineStatus.PENDING, LineStatus.PAID)
    with pytest.raises(refusal):
        disbursement.apply_returns(ctx, actor=REVIEWER, batch_id="bat_1", content=content)
    [audited] = _audited(store, "disbursement.return_refused")
    assert (audited.entity_id, audited.details["reason"], audited.actor) == ("bat_1", refusal.code, "reviewer-2")
    assert [line["status"] for line in disbursement.get_batch(ctx, actor=ADMIN, batch_id="bat_1").lines] == [
        "pending", "paid"]


def test_a_return_already_applied_is_refused_as_replayed():
    ctx, store = _world()
    _sent_batch(store, LineStatus.PAID)
    content = _signed_return("paid")
    store.rows[AppliedReturn]["ret_1"] = AppliedReturn("ret_1", "bat_1", "fil_1", hashlib.sha256(content).hexdigest(),
                                                       content.decode(), 1, NOW, "reviewer-1")
    with pytest.raises(errors.ReturnReplayed) as replayed:
        disbursement.apply_returns(ctx, actor=REVIEWER, batch_id="bat_1", content=content)
    assert replayed.value.facts["applied_at"] == NOW.isoformat()
    assert replayed.value.facts["batch_status"] == "sent"


# --- an approved application paid through the bank -------------------------------------------------------

ICBC = "中国工商银行"


@pytest.fixture
def payouts():
    """A world with two approved withdrawals from accounts credited 8,000 fen each, on the fake ledger."""
    ctx, store = _world()
    for n in (1, 2):
        _credit(ctx, f"per_{n}", 8_000)
        store.rows[Application][f"app_{n}"] = Application(
            f"app_{n}", f"per_{n}", f"per_{n}", "withdrawal", "emigration", "counter", True, False, 5_000, 5_000, 0,
            "approved", "withdrawal.rule", None, NOW, NOW + dt.timedelta(minutes=n), {"payee": {
                "bank_account_id": f"bac_{n}", "account_no": f"622202020000123456{n}", "bank_name": ICBC,
                "holder_name": f"参保人{n}"}})
    return ctx, store


def _credit(ctx, person_id: str, amount_fen: int) -> None:
    clearing = acct.contribution_clearing("310000")
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        books.open(acct.personal(person_id), AccountKind.PERSONAL, "310000", person_id=person_id)
        books.open(clearing, AccountKind.CONTRIBUTION_CLEARING, "310000")
        books.post(EntryKind.CONTRIBUTION, [Posting(clearing, -amount_fen),
                                            Posting(acct.personal(person_id), amount_fen, Bucket.CURRENT_YEAR)])
        uow.commit()


def _account(ctx, person_id: str):
    with ctx.uow() as uow:
        return Books(uow, ctx.now()).account(acct.personal(person_id))


def _available(ctx, person_id: str) -> int:
    return _account(ctx, person_id).available_fen


def test_approved_applications_go_into_one_payment_file_per_bank_holding_their_amounts(payouts):
    ctx, store = payouts
    [batch], skipped = disbursement.make_batches(ctx, actor=ADMIN)
    assert skipped == []
    assert (batch.bank_name, batch.status, batch.line_count, batch.total_fen) == (ICBC, "sent", 2, 10_000)
    assert [(line["application_id"], line["status"]) for line in batch.lines] == [("app_1", "pending"),
                                                                                   ("app_2", "pending")]
    payment = bank_files.read_payment(batch.file.encode())
    assert (payment.batch_id, payment.file_id) == (batch.batch_id, batch.file_id)
    assert [line["account_no"] for line in payment.lines] == ["6222020200001234561", "6222020200001234562"]
    assert batch.sha256 == hashlib.sha256(batch.file.encode()).hexdigest()
    assert [store.rows[Application][f"app_{n}"].status for n in (1, 2)] == ["disbursing", "disbursing"]
    assert (_available(ctx, "per_1"), _available(ctx, "per_2")) == (3_000, 3_000)
    assert disbursement.get_batch(ctx, actor=ADMIN, batch_id=batch.batch_id).lines == batch.lines
    with pytest.raises(errors.BatchEmpty):
        disbursement.make_batches(ctx, actor=ADMIN)


def test_the_banks_return_pays_one_line_and_fails_the_other_whose_money_is_available_again(payouts):
    ctx, store = payouts
    [batch], _ = disbursement.make_batches(ctx, actor=ADMIN)
    content = _signed_return("paid", "failed", batch_id=batch.batch_id, file_id=batch.file_id,
                             line_ids=[line["line_id"] for line in batch.lines])
    settled = disbursement.apply_returns(ctx, actor=REVIEWER, batch_id=batch.batch_id, content=content)
    assert settled.status == "returned"
    assert [(line["status"], line["reason"]) for line in settled.lines] == [("paid", None), ("failed", "账户已销户")]
    paid, failed = store.rows[Application]["app_1"], store.rows[Application]["app_2"]
    assert (paid.status, failed.status, failed.details["bank_reason"]) == ("paid", "failed", "账户已销户")
    assert (_account(ctx, "per_1").posted_fen, _account(ctx, "per_2").posted_fen) == (3_000, 8_000)
    assert (_available(ctx, "per_1"), _available(ctx, "per_2")) == (3_000, 8_000)
    told = [(n["person_id"], n["data"]["status"]) for n in store.tables["notices"] if n["kind"] == "application"]
    assert told == [("per_1", "disbursing"), ("per_2", "disbursing"), ("per_1", "paid"), ("per_2", "failed")]
    [returns] = _audited(store, "disbursement.returns")
    assert (returns.details["paid"], returns.details["failed"]) == (1, 1)
    with pytest.raises(errors.ReturnReplayed):
        disbursement.apply_returns(ctx, actor=REVIEWER, batch_id=batch.batch_id, content=content)


def test_an_application_the_balance_no_longer_covers_waits_for_a_later_batch(payouts):
    ctx, store = payouts
    store.rows[Application]["app_2"].approved_fen = 8_001
    [batch], skipped = disbursement.make_batches(ctx, actor=ADMIN)
    assert [line["application_id"] for line in batch.lines] == ["app_1"]
    assert skipped == [{"application_id": "app_2", "code": errors.BalanceInsufficient.code}]
    assert store.rows[Application]["app_2"].status == "approved"
