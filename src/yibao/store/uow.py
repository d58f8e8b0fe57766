"""Unit of work: one use case, one transaction. Repositories never commit; the service does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from yibao.domain.audit import AuditRecord, MasterDataVersion
from yibao.ledger.chain import link_audit
from yibao.store.ledger_repo import LedgerRepository
from yibao.store.repositories.applications import SqlApplications, SqlCashVouchers, SqlInvoiceClaims
from yibao.store.repositories.appointments import SqlAppointments
from yibao.store.repositories.audit_trail import SqlAuditTrail
from yibao.store.repositories.cards import SqlCards
from yibao.store.repositories.contributions import SqlContributions
from yibao.store.repositories.disbursements import SqlDisbursements
from yibao.store.repositories.findings import SqlFindings
from yibao.store.repositories.grants import SqlGrants
from yibao.store.repositories.jobs import SqlJobs
from yibao.store.repositories.keys import SqlKeys
from yibao.store.repositories.logins import SqlBankAccounts, SqlTokens, SqlUsers
from yibao.store.repositories.persons import SqlNotices, SqlPersons
from yibao.store.repositories.policies import SqlPolicies
from yibao.store.repositories.reversals import SqlReversals
from yibao.store.repositories.settlements import SqlPaymentCodes, SqlSettlements
from yibao.store.repositories.vouchers import SqlVouchers

T = TypeVar("T")


class UnitOfWork:
    """The SQLAlchemy unit of work (the port is `services.ports.UnitOfWork`): one session, one transaction, and
    the repositories of every area on that session."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self.dialect = session_factory.kw["bind"].dialect.name
        self.session: Session
        self._conflict: Exception | None = None
        self._before_commit: list[Callable[[], None]] = []

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self._repositories(self.session)
        return self

    def _repositories(self, session: Session) -> None:
        """The repositories of each area, on this unit of work's session (one line an area)."""
        self.persons = SqlPersons(session)
        self.notices = SqlNotices(session)
        self.cards = SqlCards(session)
        self.bank_accounts = SqlBankAccounts(session)
        self.users = SqlUsers(session)
        self.tokens = SqlTokens(session)
        self.grants = SqlGrants(session)
        self.contributions = SqlContributions(session)
        self.disbursements = SqlDisbursements(session)
        self.appointments = SqlAppointments(session)
        self.ledger = LedgerRepository(session)
        self.keys = SqlKeys(session)
        self.reversals = SqlReversals(session)
        self.applications = SqlApplications(session)
        self.invoices = SqlInvoiceClaims(session)
        self.cash_vouchers = SqlCashVouchers(session)
        self.settlements = SqlSettlements(session)
        self.payment_codes = SqlPaymentCodes(session)
        self.policies = SqlPolicies(session)
        self.audit_trail = SqlAuditTrail(session)
        self.vouchers = SqlVouchers(session)
        self.jobs = SqlJobs(session)
        self.findings = SqlFindings(session)

    def __exit__(self, exc_type, exc, tb) -> None:
        # close() rolls back anything uncommitted; objects keep their loaded state for the caller.
        self.session.close()
        if self._conflict is not None and isinstance(exc, IntegrityError):
            raise self._conflict from None

    def conflict_means(self, error: Exception) -> None:
        """A unique constraint violated anywhere in this unit of work (a race lost to a concurrent
        request, at flush or commit) is reported as this domain error."""
        self._conflict = error

    def before_commit(self, hook: Callable[[], None]) -> None:
        """Run hook just before this unit of work commits (e.g. a writer's last rows, or its refusal)."""
        self._before_commit.append(hook)

    def savepoint(self) -> SessionTransaction:
        """A nested transaction: released when its block ends, rolled back alone when the block raises."""
        return self.session.begin_nested()

    def commit(self) -> None:
        for hook in self._before_commit:
            hook()
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    # --- generic repository operations ---------------------------------------

    def get(self, cls: type[T], key, *, for_update: bool = False) -> T | None:
        return self.session.get(cls, key, with_for_update=for_update or None)

    def add(self, obj) -> None:
        self.session.add(obj)

    def flush(self) -> None:
        self.session.flush()

    def one_by(self, cls: type[T], **where) -> T | None:
        return self.session.scalars(sa.select(cls).filter_by(**where).limit(1)).first()

    def all_by(self, cls: type[T], *order_by: str, **where) -> list[T]:
        columns = [getattr(cls, name) for name in order_by]
        return list(self.session.scalars(sa.select(cls).filter_by(**where).order_by(*columns)))

    # --- audit and history ----------------------------------------------------

    def audit(self, record: AuditRecord) -> None:
        """Append to the entity's hash chain; a concurrent append to the same chain is a conflict."""
        last = self.session.execute(
            sa.select(AuditRecord.seq, AuditRecord.hash)
            .filter_by(entity=record.entity, entity_id=record.entity_id)
            .order_by(AuditRecord.seq.desc()).limit(1)
        ).first()
        self.session.add(link_audit(record, last))

    def record_version(self, version: MasterDataVersion) -> None:
        """Close the open version of the same record and add the new one."""
        previous = self.session.scalars(
            sa.select(MasterDataVersion).filter_by(
                entity=version.entity, entity_id=version.entity_id, valid_to=None
            )
        ).all()
        for old in previous:
            old.valid_to = version.valid_from
        self.session.add(version)

