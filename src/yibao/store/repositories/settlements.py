"""The settlement repositories on SQLAlchemy: the facts of a payment (one statement, or one lookup at a time with
`plain=True`), the records a payment writes, its quotas' grants, the settlement lists, and the payment codes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain import in_force
from yibao.domain.audit import AuditRecord
from yibao.domain.filings import OPEN_GRANT, FamilyGrant, Filing, FilingStatus
from yibao.domain.life_events import Standing
from yibao.domain.payment_facts import Claim, PaymentCodeState, SettlementFacts
from yibao.domain.registry import Enrollment, EnrollmentStatus, Institution, Person
from yibao.domain.settlement import Settlement
from yibao.ledger.chain import link_audit
from yibao.ledger.entries import EntryKind
from yibao.store import settlement_repo, standing
from yibao.store.tables import evouchers, ledger_entries, ledger_postings, payment_codes


class SqlSettlements:
    """`services.settlement.ports.SettlementRepository` on a session; `plain=True` reads a payment's facts one
    lookup at a time (the path the one statement must agree with)."""

    def __init__(self, session: Session, *, plain: bool = False) -> None:
        self.session = session
        self.plain = plain

    def claims_with_facts(self) -> bool:
        return not self.plain and self.session.connection().dialect.name == "postgresql"

    def facts(self, *, institution_code: str, day: dt.date, now: dt.datetime, payer_id: str | None = None,
              code_digest: str | None = None, owner_id: str | None = None,
              claim: Claim | None = None) -> SettlementFacts:
        if claim is not None and not self.claims_with_facts():
            raise ValueError("a key is claimed with the facts only by the one statement on PostgreSQL")
        if not self.plain:
            return settlement_repo.settlement_facts(
                self.session.connection(), institution_code=institution_code, day=day, now=now, payer_id=payer_id,
                code_digest=code_digest, owner_id=owner_id, claim=claim)
        if payer_id is None and code_digest is not None:
            payer_id = SqlPaymentCodes(self.session).holder(code_digest, now)
        owner = self.session.get(Person, owner_id or payer_id) if (owner_id or payer_id) else None
        enrollment = filing = grant = None
        if owner is not None:
            enrollment = in_force.enrollment_on(self.session.scalars(sa.select(Enrollment).filter_by(
                person_id=owner.id, status=EnrollmentStatus.ACTIVE)), day)
            filing = in_force.filing_in_force(self.session.scalars(sa.select(Filing).filter_by(
                person_id=owner.id, status=FilingStatus.ACTIVE)))
            grant = in_force.grant_in_force(self.session.scalars(sa.select(FamilyGrant).where(
                FamilyGrant.owner_id == owner.id, FamilyGrant.grantee_id == payer_id,
                FamilyGrant.status.in_([s.value for s in OPEN_GRANT]))), owner.id, payer_id)
        return SettlementFacts(
            payer_id=payer_id, owner_id=owner.id if owner else None, owner_region=owner.region if owner else None,
            scheme=enrollment.scheme if enrollment else None, relation=grant.relation if grant else None,
            institution=self.session.get(Institution, institution_code), filing=filing,
            payer_standing=standing.standing(self.session.connection(), payer_id) if payer_id else Standing(),
            owner_standing=standing.standing(self.session.connection(), owner.id) if owner else Standing())

    def record(self, settlement: Settlement, audit: AuditRecord, *, scope: str, key: str, response: dict) -> None:
        settlement_repo.record_settlement(self.session.connection(), settlement, link_audit(audit), scope=scope,
                                          key=key, response=response)

    def granted(self, account_id: str) -> int:
        p, e = ledger_postings, ledger_entries
        return self.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(p.c.amount_fen), 0))
                                   .select_from(p.join(e, e.c.id == p.c.entry_id))
                                   .where(p.c.account_id == account_id, e.c.kind == EntryKind.QUOTA_GRANT)) or 0

    def of_person(self, person_id: str) -> list[Settlement]:
        return list(self.session.scalars(sa.select(Settlement).where(
            sa.or_(Settlement.payer_id == person_id, Settlement.owner_id == person_id))
            .order_by(Settlement.at.desc())))

    def emergencies(self, from_day: dt.date, to_day: dt.date) -> list[Settlement]:
        return list(self.session.scalars(sa.select(Settlement).where(
            Settlement.emergency.is_(True), Settlement.business_date >= from_day, Settlement.business_date <= to_day)
            .order_by(Settlement.at)))


class SqlPaymentCodes:
    """`services.settlement.ports.PaymentCodeRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, code_digest: str, evoucher_id: str, person_id: str, issued_at: dt.datetime,
            expires_at: dt.datetime) -> None:
        self.session.execute(payment_codes.insert().values(
            code_digest=code_digest, evoucher_id=evoucher_id, person_id=person_id, issued_at=issued_at,
            expires_at=expires_at))

    def state(self, code_digest: str) -> PaymentCodeState | None:
        c = payment_codes
        row = self.session.execute(sa.select(c.c.used_at, c.c.expires_at, evouchers.c.status)
                                   .join(evouchers, evouchers.c.id == c.c.evoucher_id)
                                   .where(c.c.code_digest == code_digest)).first()
        return None if row is None else PaymentCodeState(row.used_at, row.expires_at, row.status)

    def holder(self, code_digest: str, now: dt.datetime) -> str | None:
        return self.session.scalar(settlement_repo.code_holder(code_digest, now))

    def mark_used(self, code_digest: str, *, now: dt.datetime, used_for: str) -> bool:
        c = payment_codes
        return bool(self.session.execute(c.update().where(c.c.code_digest == code_digest, c.c.used_at.is_(None),
                                                          c.c.expires_at > now)
                                         .values(used_at=now, used_for=used_for)).rowcount)
