"""Maps the domain classes onto the tables from outside (the domain imports no ORM)."""

from __future__ import annotations

from sqlalchemy.orm import registry

from yibao.domain.applications import Application, ApplicationStep, CashVoucher, Document
from yibao.domain.audit import AuditRecord, MasterDataVersion
from yibao.domain.cards import Card
from yibao.domain.collection import Declaration
from yibao.domain.credentials import BankAccount, EVoucher
from yibao.domain.filings import FamilyGrant, Filing
from yibao.domain.findings import Finding
from yibao.domain.jobs import Job
from yibao.domain.life_events import AccountFreeze, LifeEvent
from yibao.domain.registry import Agency, Employer, Enrollment, Institution, Person
from yibao.domain.residents import Resident
from yibao.domain.settlement import Refund, Settlement
from yibao.domain.unit_imports import ImportRejection, UnitImport
from yibao.domain.users import AuthToken, User
from yibao.store import tables

mapper_registry = registry(metadata=tables.metadata)
_mapped = False


def start_mappers() -> None:
    global _mapped
    if _mapped:
        return
    for cls, table in [
        (Person, tables.persons),
        (Employer, tables.employers),
        (Enrollment, tables.enrollments),
        (Institution, tables.institutions),
        (Agency, tables.agencies),
        (Card, tables.cards),
        (EVoucher, tables.evouchers),
        (BankAccount, tables.bank_accounts),
        (User, tables.users),
        (AuthToken, tables.auth_tokens),
        (AuditRecord, tables.audit_records),
        (MasterDataVersion, tables.master_data_versions),
        (Filing, tables.filings),
        (FamilyGrant, tables.family_grants),
        (Settlement, tables.settlements),
        (Refund, tables.refunds),
        (Document, tables.documents),
        (Application, tables.applications),
        (ApplicationStep, tables.application_steps),
        (CashVoucher, tables.cash_vouchers),
        (LifeEvent, tables.life_events),
        (AccountFreeze, tables.account_freezes),
        (Resident, tables.residents),
        (Declaration, tables.contribution_declarations),
        (UnitImport, tables.unit_imports),
        (ImportRejection, tables.unit_import_rejections),
        (Job, tables.jobs),
        (Finding, tables.findings),
    ]:
        mapper_registry.map_imperatively(cls, table)
    _mapped = True
