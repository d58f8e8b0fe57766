"""The applications area on SQLAlchemy: documents attached to applications, the queues, the invoices claims hold,
and the cash vouchers' conditional redemption (ports in services.applications.ports)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.domain.applications import GIVEN_UP, Application, ApplicationStatus, CashVoucher, Document, KeptVoucher
from yibao.domain.settlement import Settlement
from yibao.store.tables import application_documents, cash_vouchers, invoice_claims, vouchers

S = ApplicationStatus


class SqlApplications:
    def __init__(self, session: Session) -> None:
        self.session = session

    def attached(self, application_id: str) -> list[Document]:
        ids = self.session.scalars(sa.select(application_documents.c.document_id).where(
            application_documents.c.application_id == application_id).order_by(application_documents.c.added_at))
        return [self.session.get(Document, i) for i in ids]

    def attach(self, application_id: str, document_ids: list[str], at: dt.datetime) -> None:
        rows = [{"application_id": application_id, "document_id": i, "added_at": at} for i in document_ids]
        if rows:
            self.session.execute(application_documents.insert(), rows)

    def open_death_case(self, person_id: str) -> str | None:
        return self.session.scalar(sa.select(Application.id).where(
            Application.person_id == person_id, Application.kind == "withdrawal", Application.reason == "death",
            Application.status.not_in([s.value for s in GIVEN_UP])).limit(1))

    def approved_for(self, applicant_id: str) -> list[Application]:
        return list(self.session.scalars(sa.select(Application).where(
            Application.applicant_id == applicant_id, Application.status == S.APPROVED.value)
            .order_by(Application.id).with_for_update()))

    def queue(self, statuses: list[str], limit: int) -> list[Application]:
        return list(self.session.scalars(sa.select(Application).where(Application.status.in_(statuses))
                                         .order_by(Application.updated_at).limit(limit)))

    def of_person(self, person_id: str, status: str | None, limit: int) -> list[Application]:
        query = sa.select(Application).where(
            sa.or_(Application.person_id == person_id, Application.applicant_id == person_id))
        query = query.order_by(Application.created_at.desc())
        if status:
            query = query.where(Application.status == status)
        return list(self.session.scalars(query.limit(limit)))

    def vouchers_of(self, person_id: str, kinds: tuple[str, ...]) -> list[KeptVoucher]:
        rows = self.session.execute(sa.select(vouchers).where(
            vouchers.c.person_id == person_id, vouchers.c.kind.in_(kinds)).order_by(vouchers.c.created_at))
        return [KeptVoucher(**row._mapping) for row in rows]


class SqlInvoiceClaims:
    def __init__(self, session: Session) -> None:
        self.session = session

    def first_claim(self, keys: list[str]) -> str | None:
        return self.session.scalar(sa.select(invoice_claims.c.application_id).where(invoice_claims.c.key.in_(keys))
                                   .order_by(invoice_claims.c.claimed_at).limit(1))

    def claim(self, keys: dict[str, str], *, application_id: str, person_id: str, at: dt.datetime) -> bool:
        try:
            self.session.execute(invoice_claims.insert(), [
                {"key": key, "kind": kind, "application_id": application_id, "person_id": person_id,
                 "claimed_at": at} for key, kind in keys.items()])
        except IntegrityError:  # another claim of the same invoice committed at the same moment
            return False
        return True

    def release(self, application_id: str) -> int:
        return self.session.execute(
            invoice_claims.delete().where(invoice_claims.c.application_id == application_id)).rowcount

    def settled_on(self, person_id: str, institution_code: str, day: dt.date) -> list[Settlement]:
        return list(self.session.scalars(sa.select(Settlement).where(
            Settlement.institution_code == institution_code, Settlement.business_date == day,
            sa.or_(Settlement.owner_id == person_id, Settlement.payer_id == person_id)).order_by(Settlement.at)))


class SqlCashVouchers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def remove(self, cash: CashVoucher) -> None:
        self.session.delete(cash)

    def refresh(self, cash: CashVoucher) -> None:
        self.session.refresh(cash)

    def redeem(self, code: str, *, at: dt.datetime, by: str, institution_code: str | None) -> bool:
        return bool(self.session.execute(
            cash_vouchers.update()
            .where(cash_vouchers.c.code == code, cash_vouchers.c.redeemed_at.is_(None),
                   cash_vouchers.c.valid_until > at)
            .values(redeemed_at=at, redeemed_by=by, redeemed_at_institution=institution_code)).rowcount)

    def due(self, now: dt.datetime) -> list[str]:
        return list(self.session.scalars(
            sa.select(cash_vouchers.c.code).join(Application, Application.id == cash_vouchers.c.application_id)
            .where(cash_vouchers.c.redeemed_at.is_(None), cash_vouchers.c.valid_until <= now,
                   Application.status == S.DISBURSING.value).order_by(cash_vouchers.c.valid_until)))

