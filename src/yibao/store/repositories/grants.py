"""Family grant queries in SQL: the open grants around persons, and a grant read again under a lock."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.filings import OPEN_GRANT, FamilyGrant

_OPEN = [s.value for s in OPEN_GRANT]


class SqlGrants:
    """`services.crossregion.ports.GrantRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def open_of(self, *person_ids: str) -> list[FamilyGrant]:
        """Grants pending or in force that any of the persons makes or receives."""
        return list(self._session.scalars(sa.select(FamilyGrant).where(
            FamilyGrant.status.in_(_OPEN),
            sa.or_(FamilyGrant.owner_id.in_(person_ids), FamilyGrant.grantee_id.in_(person_ids)))))

    def open_between(self, owner_id: str, grantee_id: str) -> bool:
        """Whether the owner has a grant to the grantee pending or in force."""
        return self._session.scalar(sa.select(sa.literal(1)).where(
            FamilyGrant.owner_id == owner_id, FamilyGrant.grantee_id == grantee_id,
            FamilyGrant.status.in_(_OPEN)).limit(1)) is not None

    def of_person(self, person_id: str) -> list[FamilyGrant]:
        """The grants the person made and those made to them, newest first."""
        return list(self._session.scalars(sa.select(FamilyGrant).where(
            sa.or_(FamilyGrant.owner_id == person_id, FamilyGrant.grantee_id == person_id))
            .order_by(FamilyGrant.created_at.desc())))

    def lock(self, grant: FamilyGrant) -> None:
        """Read the grant again, locked."""
        self._session.refresh(grant, with_for_update=True)
