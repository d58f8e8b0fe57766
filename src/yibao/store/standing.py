"""SQL for a person's standing (life event, account freeze, closure): correlated scalar subqueries that other
statements add to what they already read, so the check costs no round trip of its own."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from yibao.domain.life_events import Standing
from yibao.store.tables import account_freezes, life_events


def columns(person_id, prefix: str) -> list:
    """The standing of the person whose id is the expression `person_id`, as labelled columns."""
    e, f = life_events, account_freezes
    return [
        sa.select(e.c.kind).where(e.c.person_id == person_id).scalar_subquery().label(f"{prefix}event_kind"),
        sa.select(e.c.event_date).where(e.c.person_id == person_id).scalar_subquery().label(f"{prefix}event_date"),
        sa.select(e.c.account_closed_at).where(e.c.person_id == person_id).scalar_subquery()
        .label(f"{prefix}closed_at"),
        sa.exists().where(f.c.person_id == person_id, f.c.lifted_at.is_(None)).label(f"{prefix}frozen"),
    ]


def of_row(row, prefix: str) -> Standing:
    """The standing read by `columns(…, prefix)`."""
    return Standing(event_kind=getattr(row, f"{prefix}event_kind"), event_date=getattr(row, f"{prefix}event_date"),
                    frozen=bool(getattr(row, f"{prefix}frozen")),
                    closed=getattr(row, f"{prefix}closed_at") is not None)


_STANDING = sa.select(*columns(sa.bindparam("person_id", type_=sa.String), ""))


def standing(conn: Connection, person_id: str) -> Standing:
    """A person's standing in one statement."""
    return of_row(conn.execute(_STANDING, {"person_id": person_id}).one(), "")
