"""The hash chain that makes the ledger and the audit trail tamper-evident.

Each entry is anchored on one account (its first guarded account, else its first account)
and carries the hash of the previous entry anchored there; its own hash covers its content,
its postings and that previous hash.

An entry's link (format 2) is sha256 over four lines: the previous hash, its place in the chain, the
digest of its head (canonical JSON of everything but the place and the postings) and its postings, one
line each ("account amount bucket"). The parts the chain decides (the place, the previous hash) and the
postings are plain text, so the database can link an entry it writes in one call (migration 0009) with
the head's digest computed here. Entries written before that link format 1: the previous hash and the
canonical JSON of head, place and postings together. Chains per account keep concurrent payments of different
people from queueing on one chain head. Altering, removing or inserting a row breaks the chain
from that row on; `yibao audit verify` recomputes every chain and names the first broken row.

Rows that are not links of a chain themselves (a settlement, a refund, an application step, a voucher, an
idempotency answer) are sealed: the audit record written with them carries their digest (`row_digest`), so
they are covered by that record's link in its entity's chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

from yibao.domain.audit import AuditRecord

GENESIS = ""
LINK_VERSION = 2  # how entries are linked now; `ledger_entries.chain_v` says which way each row was


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain).encode()


def _plain(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not canonical: {type(value).__name__}")


def link(prev_hash: str, content: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(content)).hexdigest()


def entry_head(*, id: str, kind: str, at: dt.datetime, business_date: dt.date, memo: str, details: dict,
               reverses_id: str | None, anchor_account_id: str) -> str:
    """The digest of an entry's own fields: what the link covers besides its place and its postings."""
    return hashlib.sha256(canonical({
        "id": id, "kind": kind, "at": at, "business_date": business_date, "memo": memo, "details": details,
        "reverses_id": reverses_id, "anchor": anchor_account_id})).hexdigest()


def entry_link(prev_hash: str, seq: int, head: str, postings: Iterable[tuple[str, int, str | None]]) -> str:
    """An entry's hash (format 2); the database's `ledger_post` computes the same text the same way."""
    lines = "\n".join(f"{account} {amount} {bucket or '-'}" for account, amount, bucket in postings)
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{head}\n{lines}".encode()).hexdigest()


def entry_content(*, id: str, kind: str, at: dt.datetime, business_date: dt.date, memo: str, details: dict,
                  reverses_id: str | None, anchor_account_id: str, anchor_seq: int,
                  postings: Iterable[tuple[str, int, str | None]]) -> dict:
    """What an entry of link format 1 hashed, after its previous hash."""
    return {
        "id": id, "kind": kind, "at": at, "business_date": business_date, "memo": memo, "details": details,
        "reverses_id": reverses_id, "anchor": anchor_account_id, "seq": anchor_seq,
        "postings": [list(p) for p in postings],
    }


def row_digest(row: dict) -> str:
    """The digest a row is sealed with: its columns that hold a value, as canonical JSON (timestamps in UTC,
    a timestamp read back without its zone taken as UTC), so the row as written and as read back agree."""
    values = {name: _aware(value) for name, value in row.items() if value is not None}
    return hashlib.sha256(canonical(json.loads(canonical(values)))).hexdigest()


def _aware(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def audit_content(*, at: dt.datetime, actor: str, action: str, entity: str, entity_id: str, details: dict,
                  seq: int) -> dict:
    return {"at": at, "actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
            "details": details, "seq": seq}


def link_audit(record: AuditRecord, last=None) -> AuditRecord:
    """Put a record on its entity's hash chain after `last` (its seq and hash), or first when there is none: an
    entity created in the same unit of work under a new id has no chain to read (the chain's unique key
    still refuses a second first record)."""
    record.seq, record.prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    record.hash = link(record.prev_hash, audit_content(
        at=record.at, actor=record.actor, action=record.action, entity=record.entity,
        entity_id=record.entity_id, details=record.details, seq=record.seq))
    return record
