"""Audit records and master-data versions: who changed what, when, and under which rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(eq=False)
class AuditRecord:
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict = field(default_factory=dict)
    id: int | None = None
    # The entity's hash chain (ledger.chain), filled in when the record is written.
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""


@dataclass(eq=False)
class MasterDataVersion:
    """One version of a master-data record, valid from one moment until the next version."""

    entity: str
    entity_id: str
    data: dict
    valid_from: dt.datetime
    actor: str
    valid_to: dt.datetime | None = None
    id: int | None = None
