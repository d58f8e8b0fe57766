"""What the tamper check reads from the store: every chain, balance, sealed row and application, streamed in the
order the checks walk them, and the row count of each counted table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Protocol

from yibao.ledger.entries import Entry


class AuditLink(Protocol):
    """One audit record as stored, link of its entity's chain."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict | None
    seq: int
    prev_hash: str
    hash: str


class AuditTrail(Protocol):
    def entries(self) -> Iterator[Entry]:
        """Every ledger entry with its postings (in posting order), by anchor account and sequence."""

    def posting_sums(self) -> dict[str, tuple[int, int]]:
        """Per account that has postings: the sum of all of them and of those in the current-year bucket."""

    def pending_holds(self) -> dict[str, int]:
        """Per account with pending holds: the amount they hold."""

    def audit_links(self) -> Iterator[AuditLink]:
        """Every audit record, by entity, entity id and sequence."""

    def sealed_rows(self, table: str, columns: Iterable[str]) -> Iterator[dict]:
        """The named columns of every row of a sealed table, in primary-key order."""

    def application_ends(self) -> Iterator[tuple[str, str, str | None]]:
        """(application id, status, the status its last step went to, or None without steps), by id."""

    def row_counts(self, tables: Iterable[str]) -> dict[str, int]:
        """How many rows each named table holds."""

    def search(self, *, person_id: str | None = None, entity: str | None = None, entity_id: str | None = None,
               actor: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
               offset: int = 0, limit: int = 50) -> tuple[list[AuditLink], int]:
        """The audit records that match every filter given, oldest first, one page of them, and how many match
        in all. A person's records are those of the person and of what they own (applications, cards, bank
        accounts, settlements they paid or whose account was theirs, …); `until` is excluded."""
