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
    (S.APPROVED, "reopen"): S.UNDER_REVIEW,  # the payee's bank account changed before the payment file
    (S.FAILED, "review_again"): S.RESUBMITTED,  # the payee changed since approval
    (S.DRAFT, "withdraw"): S.WITHDRAWN,
    (S.SUBMITTED, "withdraw"): S.WITHDRAWN,
    (S.SUPPLEMENT_REQUESTED, "withdraw"): S.WITHDRAWN,
}
REVIEWABLE = frozenset({S.SUBMITTED, S.RESUBMITTED, S.UNDER_REVIEW})  # in the reviewers' queue
FINAL = frozenset({S.REJECTED, S.PAID, S.WITHDRAWN})
GIVEN_UP = frozenset({S.REJECTED, S.WITHDRAWN})  # ended without a payout: the case may be filed again

KINDS = ("withdrawal", "reimbursement")
REASONS = {
    "withdrawal": ("general", "death", "emigration", "transfer_out"),
    "reimbursement": ("cross_region", "emergency", "other"),
}
ACTION_OF_KIND = {"withdrawal": "withdraw", "reimbursement": "reimburse"}

# How an approved application is paid: to the bank account (R21), or in cash against a voucher presented at a
# counter or self-service terminal (取现凭证, R22). Cash is for cross-region claims only: the person is away from
# home, where their bank account may not be at hand; every other case goes to the bank.
PAYOUTS = ("bank", "cash_voucher")
CASH_CASES = frozenset({("reimbursement", "cross_region")})


def may_pay_in_cash(kind: str, reason: str) -> bool:
    return (kind, reason) in CASH_CASES


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

    def may(self, action: str) -> bool:
        """Whether the transition table allows the action from the application's status."""
        return (ApplicationStatus(self.status), action) in TRANSITIONS

    def ensure_may(self, action: str) -> None:
        """Refuse an action the transition table does not allow from the application's status."""
        if not self.may(action):
            raise errors.ApplicationWrongState(status=self.status, action=action)

    def apply(self, action: str, at: dt.datetime) -> tuple[str, str]:
        """Take the action's transition (or refuse it); the status before and after."""
        self.ensure_may(action)
        target = TRANSITIONS[(ApplicationStatus(self.status), action)]
        before, self.status, self.updated_at = self.status, target.value, at
        return before, self.status

    @property
    def payout(self) -> str:
        return self.details.get("payout", "bank")

    def pays_to(self, bank_account_id: str | None) -> bool:
        """Whether a bank payout still goes where its approval fixed it (no payee on record: not known to)."""
        payee = self.details.get("payee")
        return bool(payee) and bank_account_id is not None and payee.get("bank_account_id") == bank_account_id

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


@dataclass(eq=False)
class CashVoucher:
    """取现凭证: pays an approved application once, in cash, until it lapses; the amount is held meanwhile."""

    code: str
    application_id: str
    person_id: str
    hold_id: str
    amount_fen: int
    institution_code: str | None  # where it is to be redeemed; none: any designated institution or the agency
    issued_at: dt.datetime
    valid_until: dt.datetime
    redeemed_at: dt.datetime | None = None
    redeemed_by: str | None = None
    redeemed_at_institution: str | None = None

    def lapsed(self, now: dt.datetime) -> bool:
        return self.redeemed_at is None and now >= self.valid_until

    def ensure_payable_at(self, institution_code: str | None) -> None:
        """At the institution it names (agency staff at a counter name none)."""
        if self.institution_code and institution_code and institution_code != self.institution_code:
            raise errors.CashVoucherWrongInstitution(institution_code=self.institution_code)

    def ensure_redeemable(self, now: dt.datetime, institution_code: str | None) -> None:
        """Unused, in time, and at the institution it names."""
        self.ensure_payable_at(institution_code)
        if self.redeemed_at is not None:
            raise errors.CashVoucherUsed(redeemed_at=self.redeemed_at.isoformat())
        if self.lapsed(now):
            raise errors.CashVoucherExpired(valid_until=self.valid_until.isoformat())


@dataclass(frozen=True)
class KeptVoucher:
    """A voucher (凭证) as it was recorded: its code, what it states, and the hash of the document printed."""

    code: str
    kind: str
    person_id: str
    subject: dict
    sha256: str
    created_at: dt.datetime
    created_by: str
