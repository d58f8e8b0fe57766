"""The applications area in memory: documents attached to applications, the queues, invoice claims and cash
vouchers, behind the ports of services.applications.ports.

Rows that are no entity (attachments, invoice keys) are kept in `store.tables` as they are written, as the
database keeps them within the unit of work's transaction; the vouchers recorded are read from `uow.vouchers`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from yibao.domain.applications import GIVEN_UP, Application, ApplicationStatus, CashVoucher, Document, KeptVoucher
from yibao.domain.settlement import Settlement

if TYPE_CHECKING:
    from tests.unit.fakes import FakeUnitOfWork

S = ApplicationStatus


class FakeApplications:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.tables = uow.store.tables

    def attached(self, application_id: str) -> list[Document]:
        rows = sorted((r for r in self.tables["application_documents"] if r["application_id"] == application_id),
                      key=lambda r: r["added_at"])
        return [self.uow.get(Document, r["document_id"]) for r in rows]

    def attach(self, application_id: str, document_ids: list[str], at: dt.datetime) -> None:
        self.tables["application_documents"].extend(
            {"application_id": application_id, "document_id": i, "added_at": at} for i in document_ids)

    def open_death_case(self, person_id: str) -> str | None:
        cases = self.uow.all_by(Application, person_id=person_id, kind="withdrawal", reason="death")
        return next((a.id for a in cases if a.status not in GIVEN_UP), None)

    def approved_for(self, applicant_id: str) -> list[Application]:
        return self.uow.all_by(Application, "id", applicant_id=applicant_id, status=S.APPROVED.value)

    def queue(self, statuses: list[str], limit: int) -> list[Application]:
        return [a for a in self.uow.all_by(Application, "updated_at") if a.status in statuses][:limit]

    def of_person(self, person_id: str, status: str | None, limit: int) -> list[Application]:
        found = [a for a in self.uow.all_by(Application, "created_at") if person_id in (a.person_id, a.applicant_id)
                 and (not status or a.status == status)]
        return found[::-1][:limit]

    def vouchers_of(self, person_id: str, kinds: tuple[str, ...]) -> list[KeptVoucher]:
        rows = [r for r in self.uow.vouchers.kept() if r["person_id"] == person_id and r["kind"] in kinds]
        return [KeptVoucher(**r) for r in sorted(rows, key=lambda r: r["created_at"])]


class FakeInvoiceClaims:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.rows = uow.store.tables["invoice_claims"]

    def first_claim(self, keys: list[str]) -> str | None:
        found = sorted((r for r in self.rows if r["key"] in keys), key=lambda r: r["claimed_at"])
        return found[0]["application_id"] if found else None

    def claim(self, keys: dict[str, str], *, application_id: str, person_id: str, at: dt.datetime) -> bool:
        if any(r["key"] in keys for r in self.rows):
            return False
        self.rows.extend({"key": key, "kind": kind, "application_id": application_id, "person_id": person_id,
                          "claimed_at": at} for key, kind in keys.items())
        return True

    def release(self, application_id: str) -> int:
        kept = [r for r in self.rows if r["application_id"] != application_id]
        released = len(self.rows) - len(kept)
        self.rows[:] = kept
        return released

    def settled_on(self, person_id: str, institution_code: str, day: dt.date) -> list[Settlement]:
        found = [s for s in self.uow.all_by(Settlement, "at", institution_code=institution_code, business_date=day)
                 if person_id in (s.owner_id, s.payer_id)]
        return found


class FakeCashVouchers:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def remove(self, cash: CashVoucher) -> None:
        self.uow.store.rows[CashVoucher].pop(cash.code, None)

    def refresh(self, cash: CashVoucher) -> None:
        """The objects are the kept ones: there is nothing to read again."""

    def redeem(self, code: str, *, at: dt.datetime, by: str, institution_code: str | None) -> bool:
        cash = self.uow.get(CashVoucher, code)
        if cash is None or cash.redeemed_at is not None or cash.valid_until <= at:
            return False
        cash.redeemed_at, cash.redeemed_by, cash.redeemed_at_institution = at, by, institution_code
        return True

    def due(self, now: dt.datetime) -> list[str]:
        found = [c for c in self.uow.all_by(CashVoucher, "valid_until", redeemed_at=None) if c.valid_until <= now
                 and self.uow.get(Application, c.application_id).status == S.DISBURSING]
        return [c.code for c in found]


def repositories(uow: FakeUnitOfWork) -> tuple[FakeApplications, FakeInvoiceClaims, FakeCashVouchers]:
    """The area's three repositories on one fake unit of work."""
    return FakeApplications(uow), FakeInvoiceClaims(uow), FakeCashVouchers(uow)
