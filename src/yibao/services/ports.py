"""What the services ask of the store: one unit of work per use case, and the repositories it owns.

The SQLAlchemy implementation lives in `store/`; the in-memory one in `tests/unit/fakes`. Services know only
these ports, so a use case runs against either. Entities are found by their key through the unit of work
itself (`get`, `add`, `one_by`, `all_by`, like an identity map); every other query is a named method of the
repository of its area (`uow.filings`, `uow.ledger`, …), where a fast path may answer it in one statement.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from yibao.domain.audit import AuditRecord, MasterDataVersion
from yibao.services.accounts.contribution_ports import ContributionRepository
from yibao.services.accounts.ports import IdempotencyKeys, LedgerStore, ReversalRequests
from yibao.services.applications.payout_ports import AppointmentRepository, DisbursementRepository
from yibao.services.applications.ports import ApplicationRepository, CashVoucherRepository, InvoiceClaims
from yibao.services.audit.ports import AuditTrail
from yibao.services.credentials.ports import BankAccountRepository, CardRepository, TokenRepository, UserRepository
from yibao.services.crossregion.ports import GrantRepository
from yibao.services.jobs.ports import JobRepository
from yibao.services.misuse.ports import FindingRepository
from yibao.services.policy.ports import PolicyStore
from yibao.services.registry.ports import NoticeRepository, PersonRepository
from yibao.services.settlement.ports import PaymentCodeRepository, SettlementRepository

T = TypeVar("T")


class UnitOfWork(Protocol):
    """One use case, one transaction: repositories never commit; the service does."""

    dialect: str  # "sqlite", "postgresql" or "memory": only a repository's fast path may care
    persons: PersonRepository
    notices: NoticeRepository
    cards: CardRepository
    bank_accounts: BankAccountRepository
    users: UserRepository
    tokens: TokenRepository
    grants: GrantRepository
    contributions: ContributionRepository
    disbursements: DisbursementRepository
    appointments: AppointmentRepository
    ledger: LedgerStore
    keys: IdempotencyKeys
    reversals: ReversalRequests
    applications: ApplicationRepository
    invoices: InvoiceClaims
    cash_vouchers: CashVoucherRepository
    settlements: SettlementRepository
    payment_codes: PaymentCodeRepository
    policies: PolicyStore
    audit_trail: AuditTrail
    vouchers: VoucherStore
    jobs: JobRepository
    findings: FindingRepository

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type, exc, tb) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def conflict_means(self, error: Exception) -> None:
        """A unique key violated anywhere in this unit of work (a race lost) is reported as this domain error."""

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Run hook just before this unit of work commits."""

    def savepoint(self) -> AbstractContextManager:
        """A step inside this unit of work: kept when its block ends, undone alone when the block raises."""

    # --- entities by key ------------------------------------------------------------------------

    def get(self, cls: type[T], key, *, for_update: bool = False) -> T | None: ...

    def add(self, obj) -> None: ...

    def flush(self) -> None: ...

    def one_by(self, cls: type[T], **where) -> T | None: ...

    def all_by(self, cls: type[T], *order_by: str, **where) -> list[T]:
        """Every entity of the class whose attributes equal `where`, ordered by the named attributes."""

    # --- audit and history ----------------------------------------------------------------------

    def audit(self, record: AuditRecord) -> None: ...

    def record_version(self, version: MasterDataVersion) -> None: ...


class VoucherStore(Protocol):
    """The verification codes printed on vouchers (services.vouchers)."""

    def add(self, voucher: dict) -> None:
        """Keep a voucher: code, kind, person_id, subject, sha256 of the document, created_at, created_by."""

    def find(self, code: str) -> dict | None:
        """The voucher with this (normalised) code, as its stored fields."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
