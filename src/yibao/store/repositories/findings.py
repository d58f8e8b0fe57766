"""Findings beyond one by its key: which fingerprints are known, the reviewer's list, the open ones on subjects."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.findings import Finding, FindingStatus

CHUNK = 500  # fingerprints asked in one statement


class SqlFindings:
    def __init__(self, session: Session) -> None:
        self.session = session

    def known(self, fingerprints: Iterable[str]) -> dict[str, str]:
        wanted, found = list(fingerprints), {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            rows = self.session.execute(sa.select(Finding.fingerprint, Finding.id)
                                        .where(Finding.fingerprint.in_(chunk))).all()
            found |= {fingerprint: finding_id for fingerprint, finding_id in rows}
        return found

    def listed(self, *, status: str | None = None, pattern: str | None = None, limit: int = 500) -> list[Finding]:
        query = sa.select(Finding)
        if status is not None:
            query = query.where(Finding.status == status)
        if pattern is not None:
            query = query.where(Finding.pattern == pattern)
        query = query.order_by(Finding.score.desc(), Finding.found_at.desc(), Finding.id).limit(limit)
        return list(self.session.scalars(query))

    def open_on(self, subject_kind: str, subject_ids: Iterable[str]) -> list[Finding]:
        wanted = list(subject_ids)
        return list(self.session.scalars(
            sa.select(Finding).where(Finding.status == FindingStatus.OPEN.value, Finding.subject_kind == subject_kind,
                                     Finding.subject_id.in_(wanted)).order_by(Finding.score.desc())))
