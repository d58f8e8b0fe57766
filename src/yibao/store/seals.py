"""Seals in the store: the sealed tables themselves, and the audit record that seals answers written without a use
case's own record. What a seal is and covers: `ledger.seals`."""

from __future__ import annotations

import sqlalchemy as sa

from yibao.domain.audit import AuditRecord
from yibao.domain.ids import new_id
from yibao.ledger.chain import link_audit
from yibao.store.tables import (
    application_steps,
    cash_vouchers,
    findings,
    idempotency_keys,
    refunds,
    settlements,
    vouchers,
)

TABLES: dict[str, sa.Table] = {t.name: t for t in (settlements, refunds, application_steps, vouchers,
                                                   cash_vouchers, idempotency_keys, findings)}


def answers_record(at, seals: list[list], *, actor: str = "system") -> AuditRecord:
    """An audit record that seals answers written without a use case's own record (a chain of its own)."""
    return link_audit(AuditRecord(at=at, actor=actor, action="idempotency.answer", entity="idempotency",
                                  entity_id=new_id("ans"), details={"seals": seals}))
