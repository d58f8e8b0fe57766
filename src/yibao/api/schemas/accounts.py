"""Personal accounts: contributions and their collection, balances and statements, entries and their reversals,
freezes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from yibao.api.schemas.common import Body, Fen, RuleRead
from yibao.services.accounts.freezes import MAX_REASON


class ContributionCreate(Body):
    person_id: str = Field(max_length=24)
    period: str = Field(examples=["2026-01"], max_length=7)
    base_fen: Fen
    employer_id: str | None = Field(default=None, max_length=24)


class ContributionRead(BaseModel):
    contribution_id: str | None
    person_id: str
    period: str
    base_fen: int
    employer_id: str | None
    credited_fen: int
    balance_fen: int
    rule: RuleRead
    explanation_zh: str
    explanation_en: str


class HoldRead(BaseModel):
    hold_id: str
    amount_fen: int
    captured_fen: int
    status: str
    purpose: str
    expires_at: dt.datetime | None  # none: held until the bank's signed return settles it
    entry_id: str | None = None


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: str
    region: str
    balance_fen: int
    available_fen: int
    held_fen: int
    current_year_fen: int
    carried_over_fen: int
    holds: list[HoldRead]


class EntryLineRead(BaseModel):
    entry_id: str
    kind: str
    at: dt.datetime
    business_date: dt.date
    memo: str
    amount_fen: int
    current_year_fen: int
    carried_over_fen: int
    balance_after_fen: int
    reverses_id: str | None = None


class StatementRead(BaseModel):
    person_id: str
    date_from: dt.date | None = Field(default=None, serialization_alias="from")
    date_to: dt.date | None = Field(default=None, serialization_alias="to")
    opening_balance_fen: int
    closing_balance_fen: int
    entries: list[EntryLineRead]

    @classmethod
    def of(cls, s) -> StatementRead:
        return cls(person_id=s.person_id, date_from=s.date_from, date_to=s.date_to,
                   opening_balance_fen=s.opening_balance_fen, closing_balance_fen=s.closing_balance_fen,
                   entries=[EntryLineRead(entry_id=line.entry_id, kind=line.kind, at=line.at,
                                          business_date=line.business_date, memo=line.memo,
                                          amount_fen=line.amount_fen, current_year_fen=line.current_year_fen,
                                          carried_over_fen=line.amount_fen - line.current_year_fen,
                                          balance_after_fen=line.balance_after_fen, reverses_id=line.reverses_id)
                            for line in s.lines])


class EntryReverse(Body):
    reason: str = Field(min_length=1, max_length=200)


class EntryRead(BaseModel):
    entry_id: str
    kind: str
    at: dt.datetime
    business_date: dt.date
    reverses_id: str | None = None
    postings: list[dict]


class FreezeCreate(Body):
    reason: str = Field(default="", max_length=MAX_REASON)


class FreezeRead(BaseModel):
    freeze_id: str
    person_id: str
    reason: str
    card_no: str | None = None
    frozen_at: dt.datetime
    frozen_by: str
    lifted_at: dt.datetime | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None
    in_force: bool

    @classmethod
    def of(cls, found) -> FreezeRead:
        return cls(freeze_id=found.id, person_id=found.person_id, reason=found.reason, card_no=found.card_no,
                   frozen_at=found.frozen_at, frozen_by=found.frozen_by, lifted_at=found.lifted_at,
                   lifted_by=found.lifted_by, lift_reason=found.lift_reason, in_force=found.lifted_at is None)


class DeclarationRead(BaseModel):
    """A declared month (缴费申报): pending until the collector confirms the payment; nothing credited before."""

    declaration_id: str
    status: str  # pending | collected
    person_id: str
    period: str
    base_fen: int
    employer_id: str | None
    declared_by_role: str
    declared_at: dt.datetime
    collected_at: dt.datetime | None
    credited_fen: int
    contribution_id: str | None


class DeclarationConfirmed(ContributionRead):
    declaration_id: str
    status: str


class ArrearsItem(DeclarationRead):
    months_overdue: int


class ArrearsPage(BaseModel):
    items: list[ArrearsItem]
    total_base_fen: int


class ReversalPending(BaseModel):
    reversal_id: str
    status: str
    entry_id: str


class ReversalRead(ReversalPending):
    reason: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str = ""
    reversal_entry_id: str | None = None


class ReversalDecision(Body):
    note: str = Field(default="", max_length=200)
