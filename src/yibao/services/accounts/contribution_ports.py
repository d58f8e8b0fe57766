"""What contributions and collection ask of the store (`uow.contributions`): a crediting file's facts, its keys
and answers a batch at a time, and the declarations waiting for the collector."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from yibao.domain.collection import Declaration
from yibao.policy.crediting import FoundRow


class ContributionRepository(Protocol):
    set_based: bool  # whether a batch is best credited set-based here (it always may be)
    lanes: int  # how many transactions at once may credit the lanes of one large batch

    def found_rows(self, rows: list[tuple[int, str, str | None]], *, scope: str, period: str, first: dt.date,
                   last: dt.date) -> dict[int, FoundRow]:
        """For each (line, ID number, unit's credit code) what the store holds: the person, the unit, the
        earliest-starting active enrolment covering the month (through the unit when one is named), the
        person's life event and closure, and the request hash an earlier run claimed the month's key with."""

    def claim_keys(self, *, scope: str, keys: dict[str, str], now: dt.datetime) -> set[str]:
        """Claim the keys (key -> request hash) not claimed yet; a key a concurrent run holds is waited for,
        then left to it. The keys this unit of work now owns."""

    def claimed_with(self, *, scope: str, keys: list[str]) -> dict[str, str]:
        """The request hash each of these keys was claimed with."""

    def answer(self, *, scope: str, responses: dict[str, dict]) -> None:
        """Keep the answer (key -> answer) a retry of each claimed key gets back."""

    def pending_declarations(self, *, period: str) -> list[Declaration]:
        """The month's declarations still waiting for the collector."""

    def arrears(self, *, before: str, employer_id: str | None, person_id: str | None) -> list[Declaration]:
        """Declarations still pending whose month is before `before` (YYYY-MM), of the unit and of the person
        when named; by month, then declaration time."""
