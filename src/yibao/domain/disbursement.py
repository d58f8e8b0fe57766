"""Disbursement (拨付, R21) entities: a bank payment batch, its lines and the bank's return files applied to it,
and the one transition table both a batch and a line move by."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from yibao.domain import errors


class BatchStatus(StrEnum):
    SENT = "sent"  # the payment file is with the bank (or to be handed over)
    RETURNED = "returned"  # the bank's returns settled every line


class LineStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"  # the bank returned the money: the hold is voided


RETURN = "return"  # a batch's last open line settled
TRANSITIONS: dict[tuple[str, str], str] = {
    (LineStatus.PENDING, LineStatus.PAID): LineStatus.PAID,
    (LineStatus.PENDING, LineStatus.FAILED): LineStatus.FAILED,
    (BatchStatus.SENT, RETURN): BatchStatus.RETURNED,
}


def next_status(status: str, action: str, refusal: Callable[[], errors.DomainError] | None = None) -> str:
    """The status an action moves a batch or line to, by the table; a move the table does not hold is refused
    with the state's error or, with none given, leaves the status as it is."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        if refusal is not None:
            raise refusal()
        return status
    return target.value


@dataclass
class BatchLine:
    """One payment to one payee in a batch, backed by a hold on the person's account."""

    batch_id: str
    line_no: int
    line_id: str | None  # lines of files made before lines had ids have none
    application_id: str
    hold_id: str
    payee_name: str
    account_no: str
    amount_fen: int
    fee_fen: int
    status: str
    reason: str | None
    expected_arrival_date: dt.date

    def settled_as(self, result: str) -> str:
        """The status the bank's result (paid or failed) gives this line; a line the bank settled stays as it
        settled it."""
        return next_status(self.status, result, lambda: errors.ReturnLineSettled(line_no=self.line_no,
                                                                                 line_status=self.status))

    def settle(self, result: str, reason: str) -> None:
        """Record the bank's result for this line."""
        self.status, self.reason = self.settled_as(result), reason or None

    def read(self) -> dict:
        return asdict(self)


@dataclass
class Batch:
    """One payment file to one bank; `lines` holds each line as read (a BatchLine's fields)."""

    batch_id: str
    file_id: str
    bank_name: str
    file_name: str
    sha256: str
    file: str
    line_count: int
    total_fen: int
    status: str
    lines: list[dict] = field(default_factory=list)
    business_date: dt.date | None = None
    created_at: dt.datetime | None = None
    created_by: str = ""
    returned_at: dt.datetime | None = None

    def close_if_settled(self, lines: list[BatchLine], at: dt.datetime) -> None:
        """A batch sent whose every line the bank has settled is returned."""
        if any(line.status == LineStatus.PENDING for line in lines):
            return
        closed = next_status(self.status, RETURN)  # a batch already returned stays as it was returned
        if closed != self.status:
            self.status, self.returned_at = closed, at


@dataclass(frozen=True)
class AppliedReturn:
    """A signed return file of the bank applied to a batch, byte for byte: applied once, never again."""

    return_id: str
    batch_id: str
    file_id: str
    sha256: str
    content: str
    line_count: int
    applied_at: dt.datetime
    applied_by: str
