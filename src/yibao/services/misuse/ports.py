"""What the findings service asks of the store beyond entities by key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from yibao.domain.findings import Finding


class FindingRepository(Protocol):
    def known(self, fingerprints: Iterable[str]) -> dict[str, str]:
        """Which of these fingerprints are recorded already, each with its finding's id."""

    def listed(self, *, status: str | None = None, pattern: str | None = None, limit: int = 500) -> list[Finding]:
        """The findings with this status and pattern (either may be None: any), worst score first."""

    def open_on(self, subject_kind: str, subject_ids: Iterable[str]) -> list[Finding]:
        """The open findings about these subjects."""
