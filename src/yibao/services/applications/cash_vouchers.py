"""Cross-region cash vouchers (异地取现凭证, R22): an approved cross-region claim paid in cash at an institution's
counter or terminal (or the agency's counter) instead of by bank.

Approval holds the amount on the person's account, as a bank batch does, and issues the voucher: a code, its QR
image and a PDF, valid for `cash_voucher_days`; the application is then `disbursing`. Redeeming it is a
conditional update that only an unused voucher passes, so of two redemptions at once one pays and the other is
told it was used; the winner captures the hold, the application is `paid`, and a redemption voucher is printed.
A voucher that has lapsed releases the amount (the hold is voided) and the application fails; a retry issues a
new voucher with a new code. Where the institution serves by appointment, the holder needs one that day, and
the redemption marks it used.

Cash is paid to the holder only: whoever redeems proves who they are with card and PIN (wrong PINs count
towards the lock) or their e-voucher, or agency counter staff check their ID document and type its number.
Before paying, the counter looks the voucher up (`lookup`): the holder masked, the amount, state and validity.
A voucher past its validity is lapsed by the periodic job (`expire_due`) as well as when it is next presented.
The cash leaves through the region's clearing account like a bank payout; the row keeps where it was paid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain import application_texts as texts
from yibao.domain import errors
from yibao.domain.applications import Application, CashVoucher
from yibao.domain.clock import SHANGHAI
from yibao.domain.masking import mask_id_number, mask_name
from yibao.domain.registry import Institution, Person
from yibao.domain.users import AGENCY_STAFF, Actor, Role
from yibao.ledger import accounts as acct
from yibao.ledger import seals
from yibao.ledger.accounts import AccountKind
from yibao.services import access, vouchers
from yibao.services.accounts.books import Books
from yibao.services.applications import appointments
from yibao.services.applications import vouchers as application_vouchers
from yibao.services.applications.steps import record_step
from yibao.services.context import Context
from yibao.services.credentials import cards, payment_codes
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events


@dataclass
class Redemption:
    cash_voucher: CashVoucher
    application: Application
    voucher: application_vouchers.Issued  # the redemption slip printed at the counter


def view(cash: CashVoucher | None, now: dt.datetime) -> dict | None:
    """The voucher as its holder and the agency see it: code, QR image (SVG), amount, validity, where."""
    if cash is None:
        return None
    status = _status(cash, now)
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
    sealed = []
    if previous is not None:  # a lapsed voucher: its code no longer pays
        sealed.append(seals.removed("cash_vouchers", [previous.code]))
        uow.cash_vouchers.remove(previous)
        uow.flush()
    cash = CashVoucher(vouchers.new_code(), app.id, app.applicant_id, hold.id, app.payout_fen,
                       app.details.get("institution_code"), now, valid_until)
    uow.add(cash)
    uow.flush()
    data = {"cash_voucher_code": vouchers.display(cash.code), "valid_until": valid_until.isoformat(),
            "institution_code": cash.institution_code, "amount_fen": cash.amount_fen}
    record_step(ctx, uow, actor, app, "disburse", *app.apply("disburse", now), data=data)
    ctx.audit(uow, actor, "cash_voucher.issue", "cash_voucher", cash.code, application_id=app.id,
              hold_id=hold.id, amount_fen=cash.amount_fen, valid_until=valid_until.isoformat(),
              seals=[*sealed, seals.seal("cash_vouchers", cash)])
    application_vouchers.issue(ctx, uow, actor, app, "cash_voucher", code=cash.code)
    return cash


def lapse(ctx: Context, uow: UnitOfWork, actor: Actor, books: Books, app: Application, cash: CashVoucher) -> None:
    """A voucher past its time: the amount is free again and the application failed (a retry issues a new one)."""
    books.void(cash.hold_id)
    reason = texts.cash_voucher_lapsed(cash.valid_until)
    app.details = {**app.details, "bank_reason": reason}
    record_step(ctx, uow, actor, app, "fail", *app.apply("fail", ctx.now()), note=reason,
                data={"cash_voucher_code": vouchers.display(cash.code), "valid_until": cash.valid_until.isoformat()})
    ctx.audit(uow, actor, "cash_voucher.lapse", "cash_voucher", cash.code, application_id=app.id)


def _place_of(uow: UnitOfWork, actor: Actor, institution_code: str | None) -> str | None:
    """Where the cash is paid: an institution user's own institution, or the agency's counter (staff may name
    the institution they serve at)."""
    access.ensure(actor, "cash_voucher", "pay", institution_code=institution_code or actor.institution_code)
    if actor.role == Role.INSTITUTION:
        institution_code = actor.institution_code
    if institution_code and uow.get(Institution, institution_code) is None:
        raise errors.InstitutionNotFound()
    return institution_code


def _status(cash: CashVoucher, now: dt.datetime) -> str:
    return "redeemed" if cash.redeemed_at else "expired" if cash.lapsed(now) else "issued"


def _ensure_handles(actor: Actor) -> None:
    """Cash vouchers are handled by institutions and agency staff only."""
    access.ensure(actor, "cash_voucher", "handle")


def _payable_here(uow: UnitOfWork, actor: Actor, code: str, institution_code: str | None) -> tuple[CashVoucher, str]:
    """The voucher and where the actor serves; a voucher to be paid elsewhere is refused before anything else
    (another institution learns nothing more, and changes nothing)."""
    place_code = _place_of(uow, actor, institution_code)
    wanted = vouchers.normalise(code)
    cash = uow.get(CashVoucher, wanted) if wanted else None
    if cash is None:
        raise errors.CashVoucherNotFound()
    cash.ensure_payable_at(place_code)
    return cash, place_code


def lookup(ctx: Context, *, actor: Actor, code: str) -> dict:
    """What the counter checks before paying out: the holder (masked), the amount, the state and the validity.
    Agency staff, or the institution the voucher is to be redeemed at."""
    _ensure_handles(actor)
    with ctx.uow() as uow:
        cash, _ = _payable_here(uow, actor, code, None)
        holder = uow.get(Person, cash.person_id)
        return {"code": vouchers.display(cash.code), "application_id": cash.application_id,
                "holder_name": mask_name(holder.name), "holder_id_number": mask_id_number(holder.id_number),
                "amount_fen": cash.amount_fen, "status": _status(cash, ctx.now()), "issued_at": cash.issued_at,
                "valid_until": cash.valid_until, "institution_code": cash.institution_code,
                "redeemed_at": cash.redeemed_at, "redeemed_at_institution": cash.redeemed_at_institution}


def _holder_proven(ctx: Context, actor: Actor, holder_id: str, credential: dict | None, id_number: str | None) -> str:
    """How the person presenting the voucher proved they are its holder: card and PIN, the e-voucher, or (agency
    counter staff only) the ID document's number. Another person's credential is refused; nothing is paid."""
    if credential and id_number:
        raise errors.RequestInvalid(summary="present one proof of the holder: credential or id_number")
    kind = (credential or {}).get("type")
    if kind == "card" and credential.get("card_no"):
        card = cards.prove_holder(ctx, actor=actor, card_no=credential["card_no"], pin=credential.get("pin") or "",
                                  holder_id=holder_id)
        proven, how = (card.person_id if card else None), "card_pin"
    elif kind == "evoucher":  # the long-lived token proves nothing: whoever saw it once could present it
        raise errors.TokenNotAccepted()
    elif kind == "evoucher_code" and credential.get("code"):  # used by the redemption, in its unit of work
        with ctx.uow() as uow:
            proven, how = payment_codes.holder(uow, code=credential["code"], now=ctx.now()), "evoucher_code"
    elif id_number and id_number.strip() and actor.role in AGENCY_STAFF:
        with ctx.uow() as uow:
            holder = uow.get(Person, holder_id)
            proven = holder_id if holder and holder.id_number == id_number.strip().upper() else None
        how = "id_number"
    else:
        raise errors.CashVoucherIdentityRequired()
    if proven != holder_id:
        raise errors.CashVoucherHolderMismatch()
    with ctx.uow() as uow:  # a frozen account, or a holder since deceased or emigrated, is paid nothing
        life_events.ensure_usable(uow, holder_id, ctx.today())
    return how


def redeem(ctx: Context, *, actor: Actor, code: str, institution_code: str | None = None,
           credential: dict | None = None, id_number: str | None = None) -> Redemption:
    """Pay a cash voucher out to its proven holder, exactly once; a lapsed one releases the amount and is
    refused."""
    _ensure_handles(actor)
    with ctx.uow() as uow:
        cash, place_code = _payable_here(uow, actor, code, institution_code)
        now = ctx.now()
        if cash.lapsed(now):  # nothing is paid: no proof of the holder is needed to say so
            app = uow.get(Application, cash.application_id, for_update=True)
            uow.cash_vouchers.refresh(cash)
            if cash.redeemed_at is None and app.may("fail"):
                books = Books(uow, now)
                lapse(ctx, uow, actor, books, app, cash)
                books.flush()
                uow.commit()
        cash.ensure_redeemable(now, place_code)
        holder_id, cash_code = cash.person_id, cash.code
    proof = _holder_proven(ctx, actor, holder_id, credential, id_number)
    now = ctx.now()
    with ctx.uow() as uow:
        cash = uow.get(CashVoucher, cash_code)
        if cash is None:  # lapsed and reissued meanwhile: the old code no longer pays
            raise errors.CashVoucherNotFound()
        cash.ensure_redeemable(now, place_code)
        if place_code and appointments.serves_by_appointment(uow, place_code) and not appointments.booked_on(
                uow, cash.person_id, place_code, now.astimezone(SHANGHAI).date()):
            raise errors.AppointmentRequired(institution_code=place_code)
        if proof == "evoucher_code":
            payment_codes.use(uow, code=credential["code"], now=now, used_for=cash.code)
        won = uow.cash_vouchers.redeem(cash.code, at=now, by=actor.username, institution_code=place_code)
        uow.cash_vouchers.refresh(cash)
        if not won:  # another redemption got there first
            raise errors.CashVoucherUsed(redeemed_at=cash.redeemed_at.isoformat() if cash.redeemed_at else "")
        appointment_id = None
        if place_code and appointments.serves_by_appointment(uow, place_code):
            appointment_id = appointments.use_booking(ctx, uow, actor, person_id=cash.person_id,
                                                      institution_code=place_code,
                                                      day=now.astimezone(SHANGHAI).date())
            if appointment_id is None:  # cancelled at the same moment
                raise errors.AppointmentRequired(institution_code=place_code)
        app = uow.get(Application, cash.application_id, for_update=True)
        books = Books(uow, now)
        entry = books.capture(cash.hold_id, memo=f"cash voucher {app.id}")
        record_step(
            ctx, uow, actor, app, "paid", *app.apply("paid", now),
            data={"entry_id": entry.id, "paid_fen": cash.amount_fen, "cash_voucher_code": vouchers.display(cash.code),
                  "institution_code": place_code})
        books.flush()
        ctx.audit(uow, actor, "cash_voucher.redeem", "cash_voucher", cash.code, application_id=app.id,
                  entry_id=entry.id, institution_code=place_code, amount_fen=cash.amount_fen, holder_proof=proof,
                  appointment_id=appointment_id,
                  seals=[seals.seal("cash_vouchers", cash), seals.entry_seal(entry.id, entry.hash)])
        slip = application_vouchers.issue(ctx, uow, actor, app, "redemption")
        uow.commit()
        return Redemption(cash, app, slip)


def expire_due(ctx: Context, *, actor: Actor, now: dt.datetime) -> int:
    """The periodic job: every voucher past its validity and unredeemed lapses (the amount is released, the
    application fails and the person is told); one voucher per unit of work. Running it again lapses nothing."""
    with ctx.uow() as uow:
        due = uow.cash_vouchers.due(now)
    lapsed = 0
    for code in due:
        with ctx.uow() as uow:
            cash = uow.get(CashVoucher, code)
            if cash is None:
                continue
            app = uow.get(Application, cash.application_id, for_update=True)
            uow.cash_vouchers.refresh(cash)
            if cash.redeemed_at is not None or not app.may("fail") or not cash.lapsed(now):
                continue
            books = Books(uow, now)
            lapse(ctx, uow, actor, books, app, cash)
            books.flush()
            uow.commit()
            lapsed += 1
    return lapsed


def lapse_if_due(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application) -> None:
    """Before a retry: a cash voucher that ran out unredeemed fails its application first."""
    cash = current(uow, app.id)
    if app.may("fail") and cash is not None and cash.lapsed(ctx.now()):
        books = Books(uow, ctx.now())
        lapse(ctx, uow, actor, books, app, cash)
        books.flush()
