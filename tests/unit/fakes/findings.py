"""The findings repository in memory: `services.misuse.ports.FindingRepository` over the fake store."""

from __future__ import annotations

from collections.abc import Iterable

from yibao.domain.findings import Finding, FindingStatus


class FakeFindings:
    def __init__(self, uow) -> None:
        self.uow = uow

    def _every(self) -> list[Finding]:
        return self.uow._every(Finding)

    def known(self, fingerprints: Iterable[str]) -> dict[str, str]:
        wanted = set(fingerprints)
        return {f.fingerprint: f.id for f in self._every() if f.fingerprint in wanted}

    def listed(self, *, status: str | None = None, pattern: str | None = None, limit: int = 500) -> list[Finding]:
        found = [f for f in self._every() if status in (None, f.status) and pattern in (None, f.pattern)]
        return sorted(found, key=lambda f: (-f.score, -f.found_at.timestamp(), f.id))[:limit]

    def open_on(self, subject_kind: str, subject_ids: Iterable[str]) -> list[Finding]:
        wanted = set(subject_ids)
        return sorted((f for f in self._every() if f.status == FindingStatus.OPEN and f.subject_kind == subject_kind
                       and f.subject_id in wanted), key=lambda f: -f.score)
