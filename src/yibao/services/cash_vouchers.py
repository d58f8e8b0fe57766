"""Cross-region cash vouchers (异地取现凭证, R22): an approved cross-region claim paid in cash at an institution's
counter or terminal (or the agency's counter) instead of by bank.

Approval holds the amount on the person's account, as a bank batch does, and issues the voucher: a code, its QR
image and a PDF, valid for `cash_voucher_days`; the application is then `disbursing`. Redeeming it is a
conditional update that only an unused voucher passes, so of two redemptions at once one pays and the other is
told it was used; the winner captures the hold, the application is `paid`, and a redemption voucher is printed.
A voucher that has lapsed releases the amount (the hold is voided) and the application fails; a retry issues a
new voucher with a new code. Where the institution serves by appointment, the holder needs one that day.
The cash leaves through the region's clearing account like a bank payout; the row keeps where it was paid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.applications import Application, ApplicationStatus, CashVoucher
from yibao.domain.clock import SHANGHAI
from yibao.domain.registry import Institution, Person
from yibao.domain.users import AGENCY_STAFF, Actor, Role
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind
from yibao.services import application_vouchers, applications, appointments, vouchers
from yibao.services.books import Books
from yibao.services.context import Context
from yibao.store.tables import cash_vouchers
from yibao.store.uow import UnitOfWork

S = ApplicationStatus


@dataclass
class Redemption:
    cash_voucher: CashVoucher
    application: Application
    voucher: application_vouchers.Issued  # the redemption slip printed at the counter


def view(cash: CashVoucher | None, now: dt.datetime) -> dict | None:
    """The voucher as its holder and the agency see it: code, QR image (SVG), amount, validity, where."""
    if cash is None:
        return None
    status = "redeemed" if cash.redeemed_at else "expired" if cash.lapsed(now) else "issued"
    return {"code": vouchers.display(cash.code), "qr_svg": application_vouchers.qr_svg(cash.code),
            "amount_fen": cash.amount_fen, "institution_code": cash.institution_code, "issued_at": cash.issued_at,
            "valid_until": cash.valid_until, "status": status, "redeemed_at": cash.redeemed_at,
            "redeemed_at_institution": cash.redeemed_at_institution}


def current(uow: UnitOfWork, application_id: str) -> CashVoucher | None:
    return application_vouchers.current_cash_voucher(uow, application_id)


def place(ctx: Context, uow: UnitOfWork, actor: Actor, books: Books, app: Application) -> CashVoucher:
    """Hold the approved amount and issue a new voucher for an approved application (at approval or on retry)."""
    person = uow.get(Person, app.person_id)
    now = ctx.now()
    valid_until = now + dt.timedelta(days=ctx.settings.cash_voucher_days)
    books.open(acct.bank_clearing(person.region), AccountKind.BANK_CLEARING, person.region)
    hold = books.reserve(acct.personal(app.person_id), acct.bank_clearing(person.region), app.approved_fen,
                         expires_at=valid_until, purpose=f"cash voucher {app.id}")
    previous = current(uow, app.id)
    if previous is not None:  # a lapsed voucher: its code no longer pays
        uow.session.delete(previous)
        uow.flush()
    cash = CashVoucher(vouchers.new_code(), app.id, app.applicant_id, hold.id, app.payout_fen,
                       app.details.get("institution_code"), now, valid_until)
    uow.add(cash)
    uow.flush()
    data = {"cash_voucher_code": vouchers.display(cash.code), "valid_until": valid_until.isoformat(),
            "institution_code": cash.institution_code, "amount_fen": cash.amount_fen}
    applications.record_step(ctx, uow, actor, app, "disburse", *app.apply("disburse", now), data=data)
    ctx.audit(uow, actor, "cash_voucher.issue", "cash_voucher", cash.code, application_id=app.id,
              hold_id=hold.id, amount_fen=cash.amount_fen, valid_until=valid_until.isoformat())
    application_vouchers.issue(ctx, uow, actor, app, "cash_voucher", code=cash.code)
    return cash


def lapse(ctx: Context, uow: UnitOfWork, actor: Actor, books: Books, app: Application, cash: CashVoucher) -> None:
    """A voucher past its time: the amount is free again and the application failed (a retry issues a new one)."""
    books.void(cash.hold_id)
    until = cash.valid_until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    app.details = {**app.details, "bank_reason": f"取现凭证已于 {until} 过期"}
    applications.record_step(ctx, uow, actor, app, "fail", *app.apply("fail", ctx.now()),
                             note=f"取现凭证已于 {until} 过期",
                             data={"cash_voucher_code": vouchers.display(cash.code),
                                   "valid_until": cash.valid_until.isoformat()})
    ctx.audit(uow, actor, "cash_voucher.lapse", "cash_voucher", cash.code, application_id=app.id)


def _place_of(uow: UnitOfWork, actor: Actor, institution_code: str | None) -> str | None:
    """Where the cash is paid: an institution user's own institution, or the agency's counter (staff may name
    the institution they serve at)."""
    if actor.role == Role.INSTITUTION:
        if institution_code and institution_code != actor.institution_code:
            raise errors.AccessForbidden()
        institution_code = actor.institution_code
    elif actor.role not in AGENCY_STAFF:
        raise errors.AccessForbidden()
    if institution_code and uow.get(Institution, institution_code) is None:
        raise errors.InstitutionNotFound()
    return institution_code


def redeem(ctx: Context, *, actor: Actor, code: str, institution_code: str | None = None) -> Redemption:
    """Pay a cash voucher out, exactly once; a lapsed one releases the amount and is refused."""
    if actor.role != Role.INSTITUTION and actor.role not in AGENCY_STAFF:
        raise errors.AccessForbidden()
    wanted = vouchers.normalise(code)
    now = ctx.now()
    with ctx.uow() as uow:
        place_code = _place_of(uow, actor, institution_code)
        cash = uow.get(CashVoucher, wanted) if wanted else None
        if cash is None:
            raise errors.CashVoucherNotFound()
        cash.ensure_payable_at(place_code)  # another institution learns nothing more, and changes nothing
        if cash.lapsed(now):
            app = uow.get(Application, cash.application_id, for_update=True)
            uow.session.refresh(cash)
            if cash.redeemed_at is None and app.status == S.DISBURSING:
                books = Books(uow, now)
                lapse(ctx, uow, actor, books, app, cash)
                books.flush()
                uow.commit()
        cash.ensure_redeemable(now, place_code)
        if place_code and appointments.serves_by_appointment(uow, place_code) and not appointments.booked_on(
                uow, cash.person_id, place_code, now.astimezone(SHANGHAI).date()):
            raise errors.AppointmentRequired(institution_code=place_code)
        won = uow.session.execute(
            cash_vouchers.update()
            .where(cash_vouchers.c.code == cash.code, cash_vouchers.c.redeemed_at.is_(None),
                   cash_vouchers.c.valid_until > now)
            .values(redeemed_at=now, redeemed_by=actor.username, redeemed_at_institution=place_code)).rowcount
        uow.session.refresh(cash)
        if not won:  # another redemption got there first
            raise errors.CashVoucherUsed(redeemed_at=cash.redeemed_at.isoformat() if cash.redeemed_at else "")
        app = uow.get(Application, cash.application_id, for_update=True)
        books = Books(uow, now)
        entry = books.capture(cash.hold_id, memo=f"cash voucher {app.id}")
        applications.record_step(
            ctx, uow, actor, app, "paid", *app.apply("paid", now),
            data={"entry_id": entry.id, "paid_fen": cash.amount_fen, "cash_voucher_code": vouchers.display(cash.code),
                  "institution_code": place_code})
        books.flush()
        ctx.audit(uow, actor, "cash_voucher.redeem", "cash_voucher", cash.code, application_id=app.id,
                  entry_id=entry.id, institution_code=place_code, amount_fen=cash.amount_fen)
        slip = application_vouchers.issue(ctx, uow, actor, app, "redemption")
        uow.commit()
        return Redemption(cash, app, slip)


def lapse_if_due(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application) -> None:
    """Before a retry: a cash voucher that ran out unredeemed fails its application first."""
    cash = current(uow, app.id)
    if app.status == S.DISBURSING and cash is not None and cash.lapsed(ctx.now()):
        books = Books(uow, ctx.now())
        lapse(ctx, uow, actor, books, app, cash)
        books.flush()
