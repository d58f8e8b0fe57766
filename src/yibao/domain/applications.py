"""Applications (申请, R17–R23): a withdrawal or a reimbursement, from submission through review to the bank.

One transition table is the whole lifecycle; every step is recorded with its actor, and the service
audits it and tells the person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from yibao.domain import errors


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 补件: the reviewer named what is missing
    RESUBMITTED = "resubmitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISBURSING = "disbursing"  # on a bank payment file; the amount is held
    PAID = "paid"
    FAILED = "failed"  # the bank returned the line; fixed and retried, it is approved again
    WITHDRAWN = "withdrawn"  # the applicant took it back before a decision


S = ApplicationStatus
TRANSITIONS: dict[tuple[S, str], S] = {
    (S.DRAFT, "submit"): S.SUBMITTED,
    (S.SUBMITTED, "start_review"): S.UNDER_REVIEW,
    (S.RESUBMITTED, "start_review"): S.UNDER_REVIEW,
    (S.UNDER_REVIEW, "approve"): S.APPROVED,
    (S.UNDER_REVIEW, "reject"): S.REJECTED,
    (S.UNDER_REVIEW, "request_supplement"): S.SUPPLEMENT_REQUESTED,
    (S.SUPPLEMENT_REQUESTED, "supplement"): S.RESUBMITTED,
    (S.APPROVED, "disburse"): S.DISBURSING,
    (S.DISBURSING, "paid"): S.PAID,
    (S.DISBURSING, "fail"): S.FAILED,
    (S.FAILED, "retry"): S.APPROVED,
    (S.DRAFT, "withdraw"): S.WITHDRAWN,
    (S.SUBMITTED, "withdraw"): S.WITHDRAWN,
    (S.SUPPLEMENT_REQUESTED, "withdraw"): S.WITHDRAWN,
}
REVIEWABLE = frozenset({S.SUBMITTED, S.RESUBMITTED, S.UNDER_REVIEW})  # in the reviewers' queue
FINAL = frozenset({S.REJECTED, S.PAID, S.WITHDRAWN})

KINDS = ("withdrawal", "reimbursement")
REASONS = {
    "withdrawal": ("general", "death", "emigration", "transfer_out"),
    "reimbursement": ("cross_region", "emergency", "other"),
}
ACTION_OF_KIND = {"withdrawal": "withdraw", "reimbursement": "reimburse"}


@dataclass(eq=False)
class Application:
    id: str
    person_id: str  # whose account pays
    applicant_id: str  # who applies: the person, or the heir when the person has died
    kind: str
    reason: str
    channel: str
    in_person: bool
    by_proxy: bool
    requested_fen: int  # what was asked for (a reimbursement: the invoices' total)
    approved_fen: int | None  # what the account pays, by the policy, when approved
    fee_fen: int
    status: str
    rule_id: str  # the rule that allowed it
    event_date: dt.date | None  # the death, the emigration, the treatment: where a window counts from
    created_at: dt.datetime
    updated_at: dt.datetime
    details: dict  # invoices, the supplement asked for, the bank line, the expected arrival …

    def apply(self, action: str, at: dt.datetime) -> tuple[str, str]:
        target = TRANSITIONS.get((ApplicationStatus(self.status), action))
        if target is None:
            raise errors.ApplicationWrongState(status=self.status, action=action)
        before, self.status, self.updated_at = self.status, target.value, at
        return before, self.status

    @property
    def payout_fen(self) -> int:
        """What reaches the bank: the approved amount less the fee."""
        return max(0, (self.approved_fen or 0) - self.fee_fen)


@dataclass(eq=False)
class ApplicationStep:
    """One line of an application's history: the step, who took it, and what they said."""

    id: int | None
    application_id: str
    at: dt.datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str
    data: dict


@dataclass(eq=False)
class Document:
    """An uploaded file: stored once by its content hash; it belongs to one person."""

    id: str
    person_id: str
    type: str
    sha256: str
    size: int
    media_type: str
    filename: str
    uploaded_at: dt.datetime
    uploaded_by: str
