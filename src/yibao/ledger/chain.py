"""The hash chain that makes the ledger and the audit trail tamper-evident.

Each entry is anchored on one account (its first guarded account, else its first account)
and carries the hash of the previous entry anchored there; its own hash covers its content,
its postings and that previous hash. Chains per account keep concurrent payments of different
people from queueing on one chain head. Altering, removing or inserting a row breaks the chain
from that row on; `yibao audit verify` recomputes every chain and names the first broken row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

GENESIS = ""


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


def entry_content(*, id: str, kind: str, at: dt.datetime, business_date: dt.date, memo: str, details: dict,
                  reverses_id: str | None, anchor_account_id: str, anchor_seq: int,
                  postings: Iterable[tuple[str, int, str | None]]) -> dict:
    return {
        "id": id, "kind": kind, "at": at, "business_date": business_date, "memo": memo, "details": details,
        "reverses_id": reverses_id, "anchor": anchor_account_id, "seq": anchor_seq,
        "postings": [list(p) for p in postings],
    }


def audit_content(*, at: dt.datetime, actor: str, action: str, entity: str, entity_id: str, details: dict,
                  seq: int) -> dict:
    return {"at": at, "actor": actor, "action": action, "entity": entity, "entity_id": entity_id,
            "details": details, "seq": seq}
