"""What misuse detection reports (R26): a pattern seen in what happened, with its score, the rule and version that
saw it, and the evidence rows (settlement, entry, application ids) a reviewer checks. Detection never changes
money; a finding goes to a reviewer, whose disposition is audited.

`Detected` is what an analytics engine (DuckDB or Spark) hands to the findings service; the same pattern on the
same subject and the same evidence is the same finding (its fingerprint), so running a period again adds none."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum


class Pattern(StrEnum):
    SPLIT_PAYMENTS = "split_payments"  # several payments at one institution within minutes, summing over a cap
    LIMIT_HUGGING = "limit_hugging"  # days at 90–100 % of a limit, many days running
    MANY_INSTITUTIONS = "many_institutions"  # one credential at many institutions in a day
    FAR_APART = "far_apart"  # one credential in regions far apart within hours
    SHARED_BANK_ACCOUNT = "shared_bank_account"  # one account number across persons, history included
    DUPLICATE_INVOICE = "duplicate_invoice"  # an invoice claimed twice, or claimed and settled directly
    FAMILY_PATTERN = "family_pattern"  # a grantee spending far above the owner, or grants rotating
    INSTITUTION_OUTLIER = "institution_outlier"  # refunds, account share, night or limit share far from peers
    AFTER_DEATH = "after_death"  # a settlement after a recorded death
    EMERGENCY_UNCLAIMED = "emergency_unclaimed"  # an emergency stated with no matching claim


class SubjectKind(StrEnum):
    PERSON = "person"
    INSTITUTION = "institution"
    BANK_ACCOUNT = "bank_account"  # by the digest of its number, never the number


@dataclass(frozen=True)
class Detected:
    """One pattern seen by a rule over a period: who it is about, how strongly, and the rows that show it."""

    pattern: Pattern
    rule_version: str  # the policy item's version of the pattern's parameters
    score: float  # 0..1, higher is more suspicious
    subject_kind: SubjectKind
    subject_id: str
    period_from: dt.date
    period_to: dt.date
    evidence: dict[str, list[str]] = field(default_factory=dict)  # e.g. {"settlement_ids": [...]}
    facts: dict = field(default_factory=dict)  # the figures behind the score (sums, counts, thresholds)

    def fingerprint(self) -> str:
        """The same pattern on the same subject with the same evidence is the same finding."""
        evidence = {key: sorted(ids) for key, ids in sorted(self.evidence.items())}
        raw = json.dumps([str(self.pattern), str(self.subject_kind), self.subject_id, evidence],
                         ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()


class FindingStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    ESCALATED = "escalated"


class Disposition(StrEnum):
    """What a reviewer decides on an open finding."""

    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ESCALATE = "escalate"

    @property
    def outcome(self) -> FindingStatus:
        return {Disposition.CONFIRM: FindingStatus.CONFIRMED, Disposition.DISMISS: FindingStatus.DISMISSED,
                Disposition.ESCALATE: FindingStatus.ESCALATED}[self]


@dataclass(eq=False)
class Finding:
    """A recorded finding: what was detected, kept once by its fingerprint, and the reviewer's disposition."""

    id: str
    fingerprint: str
    pattern: str
    rule_version: str
    score: float
    subject_kind: str
    subject_id: str
    period_from: dt.date
    period_to: dt.date
    evidence: dict
    facts: dict
    found_at: dt.datetime
    found_by: str
    status: str = FindingStatus.OPEN.value
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None

    @classmethod
    def of(cls, detected: Detected, *, finding_id: str, at: dt.datetime, by: str) -> Finding:
        """The finding a detection becomes when it is first recorded."""
        evidence = {key: sorted(ids) for key, ids in sorted(detected.evidence.items())}
        return cls(id=finding_id, fingerprint=detected.fingerprint(), pattern=str(detected.pattern),
                   rule_version=detected.rule_version, score=round(float(detected.score), 4),
                   subject_kind=str(detected.subject_kind), subject_id=detected.subject_id,
                   period_from=detected.period_from, period_to=detected.period_to, evidence=evidence,
                   facts=dict(detected.facts), found_at=at, found_by=by)

    @property
    def is_open(self) -> bool:
        return self.status == FindingStatus.OPEN

    def decide(self, disposition: Disposition, *, by: str, at: dt.datetime, note: str | None) -> None:
        """The reviewer's disposition; the caller has checked that the finding is still open."""
        self.status, self.decided_by, self.decided_at, self.note = disposition.outcome.value, by, at, note


@dataclass(frozen=True)
class RiskFlags:
    """What the reviewer sees beside a person's case: their open findings in short."""

    open_count: int = 0
    worst_score: float = 0.0
    patterns: tuple[str, ...] = ()

    @classmethod
    def of(cls, found: list[Finding]) -> RiskFlags:
        """The flags of a person's open findings (none: no flag)."""
        if not found:
            return cls()
        return cls(len(found), max(f.score for f in found), tuple(sorted({f.pattern for f in found})))
