"""What the policy area asks of the store: the policy sets loaded (all or nothing, the newest in force), the first
load of each rule and parameter version, and the notices a change sends to the people it concerns."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from yibao.policy.stored import StoredSet


class PolicyStore(Protocol):
    def newest(self, *, with_files: bool = False) -> StoredSet | None:
        """The set loaded last (the one in force), with its files when asked; None before any load."""

    def files_of(self, set_id: str) -> dict[str, str]:
        """The files of a stored set, by the loader's names."""

    def add_set(self, stored: StoredSet, *, loaded_by: str, source: str) -> None:
        """Record a load with exactly the files it read."""

    def version_keys(self) -> set[tuple[str, str, str, dt.date, str]]:
        """(region, kind, name, effective_from, content_hash) of every rule and parameter version recorded."""

    def add_versions(self, versions: list[dict]) -> None:
        """Record versions first brought by a load (region, kind, name, effective_from, content_hash, content,
        first_set_id, first_loaded_at)."""

    def first_loaded(self, regions: list[str]) -> dict[tuple[str, str, str, dt.date], dt.datetime]:
        """When each version of the regions' rules and parameters was first loaded, by (kind, region, name,
        effective_from)."""

    def count_insured(self, audiences: list[tuple[str | None, list[str], frozenset | None]]) -> int:
        """How many persons are in at least one audience (within, outside, schemes), as `tell_insured` picks them;
        each counted once."""

    def tell_insured(self, *, within: str | None, outside: list[str], schemes: frozenset | None, notice: dict) -> int:
        """Store the notice (kind, created_at, title_zh/en, body_zh/en, data) for every person whose insured region
        code starts with `within` (None: everyone) and with none of `outside`, and, when schemes are named, who
        has an active enrolment in one of them; how many were told."""

    def inbox(self, person_id: str) -> list[dict]:
        """The messages stored for a person, newest first, as their stored fields."""
