"""The link of an audit record on its entity's hash chain, for whichever repository writes the record."""

from __future__ import annotations

from yibao.domain.audit import AuditRecord
from yibao.ledger import chain


def link_audit(record: AuditRecord, last=None) -> AuditRecord:
    """Put a record on its entity's hash chain after `last` (its seq and hash), or first when there is none: an
    entity created in the same unit of work under a new id has no chain to read (the chain's unique key
    still refuses a second first record)."""
    record.seq, record.prev_hash = (last.seq + 1, last.hash) if last else (1, chain.GENESIS)
    record.hash = chain.link(record.prev_hash, chain.audit_content(
        at=record.at, actor=record.actor, action=record.action, entity=record.entity,
        entity_id=record.entity_id, details=record.details, seq=record.seq))
    return record
