"""What cross-region care and family grants ask of the store beyond entities by key."""

from __future__ import annotations

from typing import Protocol

from yibao.domain.filings import FamilyGrant


class GrantRepository(Protocol):
    def open_of(self, *person_ids: str) -> list[FamilyGrant]:
        """Grants pending or in force that any of the persons makes or receives."""

    def open_between(self, owner_id: str, grantee_id: str) -> bool:
        """Whether the owner has a grant to the grantee pending or in force."""

    def of_person(self, person_id: str) -> list[FamilyGrant]:
        """The grants the person made and those made to them, newest first."""

    def lock(self, grant: FamilyGrant) -> None:
        """Read the grant again, locked: concurrent changes to it are decided one after the other."""
