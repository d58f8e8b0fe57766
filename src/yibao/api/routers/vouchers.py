"""Vouchers: confirm a printed document by its verification code (anyone holding the paper may ask)."""

from __future__ import annotations

from fastapi import APIRouter

from yibao.api.deps import Ctx
from yibao.api.schemas.audit import VoucherRead
from yibao.services import vouchers

router = APIRouter(tags=["vouchers"])


@router.get("/vouchers/{code}", response_model=VoucherRead)
def confirm_voucher(ctx: Ctx, code: str):
    return VoucherRead(**vars(vouchers.confirm(ctx, code=code)))
