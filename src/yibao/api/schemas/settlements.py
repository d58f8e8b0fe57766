"""Settlement at an institution: the payment, its refunds and the day's summary."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from yibao.api.schemas.common import Body, Category, RuleRead
from yibao.api.schemas.credentials import CardCredential, EVoucherCodeCredential, EVoucherCredential
from yibao.domain.settlement_request import MAX_ITEM_FEN, MAX_ITEMS


class ItemCreate(Body):
    category: Category
    amount_fen: Annotated[int, Field(strict=True, gt=0, le=MAX_ITEM_FEN)]


class SettlementCreate(Body):
    idempotency_key: str = Field(min_length=1, max_length=128)
    institution_code: str = Field(max_length=20)
    credential: Annotated[CardCredential | EVoucherCodeCredential | EVoucherCredential, Field(discriminator="type")]
    account_owner_id: str | None = Field(default=None, max_length=24)
    items: list[ItemCreate] = Field(min_length=1, max_length=MAX_ITEMS)
    emergency: Annotated[bool, Field(strict=True)] = False  # 急诊抢救, stated by the institution


class SettlementDecisionRead(BaseModel):
    limited_by: list[str]
    rules: list[RuleRead]
    explanation_zh: str
    explanation_en: str


class SettlementRead(BaseModel):
    settlement_id: str
    receipt_no: str = Field(default="", description="票据号: the receipt's number, which is the settlement id")
    institution_code: str
    payer_id: str
    account_owner_id: str
    credential_type: str
    total_fen: int
    account_paid_fen: int
    cash_fen: int
    refunded_fen: int
    status: str
    business_date: dt.date
    at: dt.datetime
    items: list[dict]
    decision: SettlementDecisionRead
    entry_id: str | None
    emergency: bool = False
    balance_after_fen: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _receipt_is_the_settlement(cls, data):
        """An answer kept from before receipts were numbered shows the number it had all along."""
        if isinstance(data, dict) and not data.get("receipt_no"):
            data = {**data, "receipt_no": data.get("settlement_id", "")}
        return data


class RefundCreate(Body):
    idempotency_key: str = Field(min_length=1, max_length=128)
    amount_fen: Annotated[int, Field(strict=True, gt=0, le=10**12)] | None = None


class RefundRead(BaseModel):
    refund_id: str
    settlement_id: str
    amount_fen: int
    refunded_fen: int
    status: str
    restores_quota: bool
    balance_after_fen: int


class CategoryTotalRead(BaseModel):
    total_fen: int
    lines: int


class SettlementSummaryRead(BaseModel):
    institution_code: str
    date: dt.date
    count: int
    total_fen: int
    account_paid_fen: int
    cash_fen: int
    refunded_fen: int
    per_category: dict[str, CategoryTotalRead]
