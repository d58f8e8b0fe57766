"""A contribution declaration (缴费申报): a unit's base for an employee or a flexible worker's own order to pay,
pending until the collector confirms the money arrived (征缴到账)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class DeclarationStatus(StrEnum):
    PENDING = "pending"  # declared, nothing credited: arrears (欠费) once its month is over
    COLLECTED = "collected"  # the collector confirmed the payment; the account is credited


def payer_key(employer_id: str | None) -> str:
    """Who pays a month's contribution: the unit, or the person themselves (flexible employment)."""
    return employer_id or "self"


@dataclass(eq=False)
class Declaration:
    id: str
    person_id: str
    period: str
    base_fen: int
    payer: str
    declared_by: str
    declared_role: str
    declared_at: dt.datetime
    status: str = DeclarationStatus.PENDING
    employer_id: str | None = None
    collected_at: dt.datetime | None = None
    collected_by: str | None = None
    contribution_id: str | None = None
    credited_fen: int | None = None

    @property
    def pending(self) -> bool:
        return self.status == DeclarationStatus.PENDING

    def collect(self, *, at: dt.datetime, by: str, contribution_id: str | None, credited_fen: int) -> None:
        self.status, self.collected_at, self.collected_by = DeclarationStatus.COLLECTED, at, by
        self.contribution_id, self.credited_fen = contribution_id, credited_fen
