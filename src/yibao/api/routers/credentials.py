"""Cards, e-vouchers and bank accounts."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx, CurrentActor
from yibao.api.schemas.credentials import (
    BankAccountCreate,
    BankAccountRead,
    CardActivate,
    CardCreate,
    CardFreeze,
    CardRead,
    EVoucherCreate,
    EVoucherIssued,
    EVoucherRead,
    PinCheck,
    PinUnlock,
)
from yibao.domain.users import Role
from yibao.services import access
from yibao.services.credentials import cards, evouchers

router = APIRouter(tags=["cards, e-vouchers, bank accounts"])


@router.post("/cards", status_code=201, response_model=CardRead)
def issue_card(ctx: Ctx, actor: CurrentActor, body: CardCreate):
    return CardRead.of(cards.issue_card(ctx, actor=actor, **body.model_dump()), ctx.today())


@router.get("/cards/{card_no}", response_model=CardRead)
def get_card(ctx: Ctx, actor: CurrentActor, card_no: str):
    return CardRead.of(cards.get_card(ctx, actor=actor, card_no=card_no), ctx.today(),
                       show_person=actor.role != Role.INSTITUTION)


@router.get("/persons/{person_id}/cards", response_model=list[CardRead])
def list_cards(ctx: Ctx, actor: CurrentActor, person_id: str):
    today = ctx.today()
    return [CardRead.of(c, today) for c in cards.list_cards(ctx, actor=actor, person_id=person_id)]


@router.post("/cards/{card_no}/activate", response_model=CardRead)
def activate(ctx: Ctx, actor: CurrentActor, card_no: str, body: CardActivate):
    return CardRead.of(cards.activate(ctx, actor=actor, card_no=card_no, **body.model_dump()), ctx.today())


@router.post("/cards/{card_no}/report-lost", response_model=CardRead)
def report_lost(ctx: Ctx, actor: CurrentActor, card_no: str):
    return CardRead.of(cards.report_lost(ctx, actor=actor, card_no=card_no), ctx.today())


@router.post("/cards/{card_no}/freeze", response_model=CardRead)
def freeze(ctx: Ctx, actor: CurrentActor, card_no: str, body: CardFreeze):
    return CardRead.of(cards.freeze(ctx, actor=actor, card_no=card_no, reason=body.reason), ctx.today())


@router.post("/cards/{card_no}/unfreeze", response_model=CardRead)
def unfreeze(ctx: Ctx, actor: CurrentActor, card_no: str, body: CardFreeze | None = None):
    reason = body.reason if body else ""
    return CardRead.of(cards.unfreeze(ctx, actor=actor, card_no=card_no, reason=reason), ctx.today())


@router.post("/cards/{card_no}/replace", status_code=201, response_model=CardRead)
def replace(ctx: Ctx, actor: CurrentActor, card_no: str):
    return CardRead.of(cards.replace(ctx, actor=actor, card_no=card_no), ctx.today())


@router.post("/cards/{card_no}/unlock-pin", response_model=CardRead)
def unlock_pin(ctx: Ctx, actor: CurrentActor, card_no: str, body: PinUnlock):
    return CardRead.of(cards.unlock_pin(ctx, actor=actor, card_no=card_no, id_number=body.id_number), ctx.today())


@router.post("/cards/{card_no}/verify-pin", response_model=CardRead)
def verify_pin(ctx: Ctx, actor: CurrentActor, card_no: str, body: PinCheck):
    return CardRead.of(cards.verify_pin(ctx, actor=actor, card_no=card_no, pin=body.pin), ctx.today())


@router.post("/evouchers", status_code=201, response_model=EVoucherIssued)
def activate_evoucher(ctx: Ctx, actor: CurrentActor, body: EVoucherCreate):
    voucher, token = evouchers.activate_evoucher(ctx, actor=actor, **body.model_dump())
    return EVoucherIssued(token=token, **EVoucherRead.of(voucher).model_dump())


@router.get("/persons/{person_id}/evouchers", response_model=list[EVoucherRead])
def list_evouchers(ctx: Ctx, actor: CurrentActor, person_id: str):
    return [EVoucherRead.of(v) for v in evouchers.list_evouchers(ctx, actor=actor, person_id=person_id)]


@router.post("/bank-accounts", status_code=201, response_model=BankAccountRead)
def link_bank_account(ctx: Ctx, actor: CurrentActor, body: BankAccountCreate):
    account = evouchers.link_bank_account(ctx, actor=actor, **body.model_dump())
    return BankAccountRead.of(account, owner=access.is_owner(actor, account.person_id))


@router.post("/bank-accounts/{bank_account_id}/primary", response_model=BankAccountRead)
def set_primary(ctx: Ctx, actor: CurrentActor, bank_account_id: str):
    account = evouchers.set_primary(ctx, actor=actor, account_id=bank_account_id)
    return BankAccountRead.of(account, owner=access.is_owner(actor, account.person_id))


@router.delete("/bank-accounts/{bank_account_id}", response_model=BankAccountRead)
def unlink_bank_account(ctx: Ctx, actor: CurrentActor, bank_account_id: str):
    account = evouchers.unlink_bank_account(ctx, actor=actor, account_id=bank_account_id)
    return BankAccountRead.of(account, owner=access.is_owner(actor, account.person_id))


@router.get("/persons/{person_id}/bank-accounts", response_model=list[BankAccountRead])
def list_bank_accounts(ctx: Ctx, actor: CurrentActor, person_id: str):
    owner = access.is_owner(actor, person_id)
    return [BankAccountRead.of(a, owner=owner)
            for a in evouchers.list_bank_accounts(ctx, actor=actor, person_id=person_id)]
