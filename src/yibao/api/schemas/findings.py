"""Misuse findings (R26): the reviewer's and the auditor's list, and the reviewer's disposition."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from yibao.api.schemas.common import Body
from yibao.services.accounts.freezes import MAX_REASON
from yibao.services.misuse.findings import MAX_NOTE


class FindingRead(BaseModel):
    finding_id: str
    fingerprint: str
    pattern: str
    rule_version: str
    score: float
    subject_kind: str
    subject_id: str
    person_id: str | None = None  # the subject, when it is a person
    institution_code: str | None = None  # the subject, when it is an institution
    period_from: dt.date
    period_to: dt.date
    evidence: dict[str, list[str]]
    facts: dict
    status: str
    found_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None

    @classmethod
    def of(cls, found) -> FindingRead:
        return cls(finding_id=found.id, fingerprint=found.fingerprint, pattern=found.pattern,
                   rule_version=found.rule_version, score=found.score, subject_kind=found.subject_kind,
                   subject_id=found.subject_id,
                   person_id=found.subject_id if found.subject_kind == "person" else None,
                   institution_code=found.subject_id if found.subject_kind == "institution" else None,
                   period_from=found.period_from, period_to=found.period_to, evidence=found.evidence,
                   facts=found.facts, status=found.status, found_at=found.found_at, decided_by=found.decided_by,
                   decided_at=found.decided_at, note=found.note)


class DispositionCreate(Body):
    action: Literal["confirm", "dismiss", "escalate"]
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class FindingFreezeCreate(Body):
    reason: str = Field(max_length=MAX_REASON)
