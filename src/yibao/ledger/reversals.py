"""A request to reverse a ledger entry (冲正申请): one admin asks, a different one approves or rejects it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class ReversalRequest:
    id: str
    entry_id: str
    reason: str
    requested_by: str
    requested_at: dt.datetime
    status: str  # pending, approved or rejected
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str = ""
    reversal_entry_id: str | None = None
