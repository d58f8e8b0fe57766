"""Payment codes (付款码): the e-voucher app asks for a one-minute, one-use code to show as its QR."""

from __future__ import annotations

from fastapi import APIRouter, Request

from yibao.api.deps import Ctx
from yibao.api.schemas.credentials import PaymentCodeCreate, PaymentCodeRead
from yibao.services.credentials import payment_codes

router = APIRouter(tags=["cards, e-vouchers, bank accounts"])


@router.post("/evouchers/codes", status_code=201, response_model=PaymentCodeRead,
             responses={429: {"description": "payment_code.too_many, with retry_after_seconds and Retry-After"}})
def issue_code(ctx: Ctx, request: Request, body: PaymentCodeCreate):
    issued = payment_codes.issue(ctx, token=body.token, address=request.client.host if request.client else None)
    return PaymentCodeRead(code=issued.code, expires_at=issued.expires_at)
