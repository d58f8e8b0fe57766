"""The settlement repositories in memory: a payment's facts found one lookup at a time (as the store's plain
path finds them, with the same rules of `domain.in_force`), the records a payment writes, settlement lists, and
payment codes kept as plain rows."""

from __future__ import annotations

import datetime as dt

from yibao.domain import in_force
from yibao.domain.audit import AuditRecord
from yibao.domain.credentials import EVoucher
from yibao.domain.filings import FamilyGrant, Filing, FilingStatus, GrantStatus
from yibao.domain.life_events import Standing
from yibao.domain.payment_facts import Claim, PaymentCodeState, SettlementFacts
from yibao.domain.registry import Enrollment, EnrollmentStatus, Institution, Person
from yibao.domain.settlement import Settlement
from yibao.ledger.chain import link_audit
from yibao.ledger.entries import EntryKind


class FakeSettlements:
    """`services.settlement.ports.SettlementRepository` over the fake store."""

    def __init__(self, uow) -> None:
        self.uow = uow

    def claims_with_facts(self) -> bool:
        return False

    def facts(self, *, institution_code: str, day: dt.date, now: dt.datetime, payer_id: str | None = None,
              code_digest: str | None = None, owner_id: str | None = None,
              claim: Claim | None = None) -> SettlementFacts:
        assert claim is None, "only the one statement on PostgreSQL claims a key with the facts"
        uow = self.uow
        if payer_id is None and code_digest is not None:
            payer_id = uow.payment_codes.holder(code_digest, now)
        owner = uow.get(Person, owner_id or payer_id) if (owner_id or payer_id) else None
        enrollment = filing = grant = None
        if owner is not None:
            enrollment = in_force.enrollment_on(uow.all_by(Enrollment, person_id=owner.id,
                                                           status=EnrollmentStatus.ACTIVE), day)
            filing = in_force.filing_in_force(uow.all_by(Filing, person_id=owner.id, status=FilingStatus.ACTIVE))
            grant = in_force.grant_in_force(uow.all_by(FamilyGrant, owner_id=owner.id, grantee_id=payer_id,
                                                       status=GrantStatus.ACTIVE), owner.id, payer_id)
        return SettlementFacts(
            payer_id=payer_id, owner_id=owner.id if owner else None, owner_region=owner.region if owner else None,
            scheme=enrollment.scheme if enrollment else None, relation=grant.relation if grant else None,
            institution=uow.get(Institution, institution_code), filing=filing,
            payer_standing=self.uow.persons.standing(payer_id) if payer_id else Standing(),
            owner_standing=self.uow.persons.standing(owner.id) if owner else Standing())

    def record(self, settlement: Settlement, audit: AuditRecord, *, scope: str, key: str, response: dict) -> None:
        self.uow.add(settlement)
        self.uow.add(link_audit(audit))
        self.uow.keys.store_response(scope, key, response)

    def granted(self, account_id: str) -> int:
        return sum(p.amount_fen for entry, mine in self.uow.ledger._touching(account_id)
                   if entry.kind == EntryKind.QUOTA_GRANT for p in mine)


    def of_person(self, person_id: str) -> list[Settlement]:
        found = {s.id: s for s in [*self.uow.all_by(Settlement, payer_id=person_id),
                                   *self.uow.all_by(Settlement, owner_id=person_id)]}
        return sorted(found.values(), key=lambda s: s.at, reverse=True)

    def emergencies(self, from_day: dt.date, to_day: dt.date) -> list[Settlement]:
        return [s for s in self.uow.all_by(Settlement, "at", emergency=True) if from_day <= s.business_date <= to_day]


class FakePaymentCodes:
    """`services.settlement.ports.PaymentCodeRepository` over the fake store's "payment_codes" rows."""

    def __init__(self, uow) -> None:
        self.uow = uow
        self.rows: list[dict] = uow.store.tables["payment_codes"]

    def _row(self, code_digest: str) -> dict | None:
        return next((r for r in self.rows if r["code_digest"] == code_digest), None)

    def add(self, *, code_digest: str, evoucher_id: str, person_id: str, issued_at: dt.datetime,
            expires_at: dt.datetime) -> None:
        self.rows.append({"code_digest": code_digest, "evoucher_id": evoucher_id, "person_id": person_id,
                          "issued_at": issued_at, "expires_at": expires_at, "used_at": None, "used_for": None})

    def _voucher_status(self, row: dict) -> str:
        return self.uow.get(EVoucher, row["evoucher_id"]).status

    def state(self, code_digest: str) -> PaymentCodeState | None:
        row = self._row(code_digest)
        return None if row is None else PaymentCodeState(row["used_at"], row["expires_at"], self._voucher_status(row))

    def holder(self, code_digest: str, now: dt.datetime) -> str | None:
        row = self._row(code_digest)
        if row is None or row["used_at"] is not None or row["expires_at"] <= now or self._voucher_status(row) != "active":
            return None
        return row["person_id"]

    def mark_used(self, code_digest: str, *, now: dt.datetime, used_for: str) -> bool:
        row = self._row(code_digest)
        if row is None or row["used_at"] is not None or row["expires_at"] <= now:
            return False
        row["used_at"], row["used_for"] = now, used_for
        return True
