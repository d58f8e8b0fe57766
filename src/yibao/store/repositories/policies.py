"""The policy sets loaded, the versions they first brought, and the notices a change sends, on a session
(`services.policy.ports.PolicyStore`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.policy.stored import StoredSet
from yibao.store.tables import enrollments, notices, persons, policy_sets, policy_versions


class SqlPolicies:
    def __init__(self, session: Session) -> None:
        self._session = session

    def newest(self, *, with_files: bool = False) -> StoredSet | None:
        """The set loaded last, with its files when asked."""
        t = policy_sets
        columns = [t.c.id, t.c.digest, t.c.loaded_at] + ([t.c.files] if with_files else [])
        row = self._session.execute(sa.select(*columns).order_by(t.c.loaded_at.desc(), t.c.id.desc())
                                    .limit(1)).first()
        if row is None:
            return None
        return StoredSet(row.id, row.digest, row.loaded_at, row.files if with_files else None)

    def files_of(self, set_id: str) -> dict[str, str]:
        """The files of a stored set."""
        return self._session.execute(sa.select(policy_sets.c.files).where(policy_sets.c.id == set_id)).scalar_one()

    def add_set(self, stored: StoredSet, *, loaded_by: str, source: str) -> None:
        """Record a load with its files."""
        self._session.execute(policy_sets.insert().values(id=stored.id, digest=stored.digest,
                                                          loaded_at=stored.loaded_at, loaded_by=loaded_by,
                                                          source=source, files=stored.files))

    def version_keys(self) -> set[tuple[str, str, str, dt.date, str]]:
        """The key and content hash of every version recorded."""
        t = policy_versions
        return {tuple(r) for r in self._session.execute(sa.select(t.c.region, t.c.kind, t.c.name, t.c.effective_from,
                                                                  t.c.content_hash))}

    def add_versions(self, versions: list[dict]) -> None:
        """Record versions first brought by a load."""
        if versions:
            self._session.execute(policy_versions.insert(), versions)

    def first_loaded(self, regions: list[str]) -> dict[tuple[str, str, str, dt.date], dt.datetime]:
        """When each version of the regions' items was first loaded."""
        t = policy_versions
        rows = self._session.execute(sa.select(t.c.region, t.c.kind, t.c.name, t.c.effective_from, t.c.first_loaded_at)
                                     .where(t.c.region.in_(regions)).order_by(t.c.first_loaded_at)).all()
        first: dict[tuple[str, str, str, dt.date], dt.datetime] = {}
        for row in rows:
            first.setdefault((row.kind, row.region, row.name, row.effective_from), row.first_loaded_at)
        return first

    @staticmethod
    def _audience(within: str | None, outside: list[str], schemes: frozenset | None) -> list:
        """The conditions on a person for an audience: the place insured and, when named, an active scheme."""
        p = persons
        where = []
        if within is not None:
            where.append(p.c.region.like(within + "%"))
        where += [sa.not_(p.c.region.like(other + "%")) for other in outside]
        if schemes is not None:
            e = enrollments
            where.append(sa.exists().where(e.c.person_id == p.c.id, e.c.scheme.in_(sorted(schemes)),
                                           e.c.status == "active"))
        return where

    def count_insured(self, audiences: list[tuple[str | None, list[str], frozenset | None]]) -> int:
        """How many persons are in at least one of the audiences, each counted once."""
        if not audiences:
            return 0
        either = sa.or_(*(sa.and_(sa.true(), *self._audience(*audience)) for audience in audiences))
        return self._session.execute(sa.select(sa.func.count()).select_from(persons).where(either)).scalar_one()

    def tell_insured(self, *, within: str | None, outside: list[str], schemes: frozenset | None, notice: dict) -> int:
        """One notice a person of the audience, in one INSERT … SELECT; how many."""
        p = persons
        where = self._audience(within, outside, schemes)
        select = sa.select(
            p.c.id, sa.literal(notice["kind"]), sa.literal(notice["created_at"], type_=notices.c.created_at.type),
            sa.literal(notice["title_zh"]), sa.literal(notice["title_en"]), sa.literal(notice["body_zh"]),
            sa.literal(notice["body_en"]), sa.literal(notice["data"], type_=sa.JSON),
        ).where(*where)
        result = self._session.execute(notices.insert().from_select(
            ["person_id", "kind", "created_at", "title_zh", "title_en", "body_zh", "body_en", "data"], select))
        return result.rowcount or 0

    def inbox(self, person_id: str) -> list[dict]:
        """A person's messages, newest first."""
        n = notices
        rows = self._session.execute(sa.select(n).where(n.c.person_id == person_id).order_by(n.c.id.desc())).all()
        return [row._asdict() for row in rows]
