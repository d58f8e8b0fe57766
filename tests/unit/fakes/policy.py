"""In-memory repositories of the policy area and of vouchers: policy sets, their versions, the notices a change
sends, and voucher codes, kept as plain rows in the fake store's tables (written when the unit of work commits)."""

from __future__ import annotations

import datetime as dt

from yibao.domain.registry import Enrollment, Person
from yibao.policy.stored import StoredSet


class _Rows:
    """Plain rows a unit of work writes, kept in the store's tables only when it commits."""

    def __init__(self, uow) -> None:
        self._uow, self._pending = uow, {}

    def kept(self, table: str) -> list[dict]:
        return [*self._uow.store.tables[table], *self._pending.get(table, [])]

    def add(self, table: str, rows: list[dict]) -> None:
        if not self._pending:
            self._uow.before_commit(self._keep)
        self._pending.setdefault(table, []).extend(rows)

    def _keep(self) -> None:
        for table, rows in self._pending.items():
            self._uow.store.tables[table].extend(rows)
        self._pending = {}


class FakePolicies:
    """`services.policy.ports.PolicyStore` in memory."""

    def __init__(self, uow) -> None:
        self._uow, self._rows = uow, _Rows(uow)

    def newest(self, *, with_files: bool = False) -> StoredSet | None:
        sets = sorted(self._rows.kept("policy_sets"), key=lambda r: (r["loaded_at"], r["id"]))
        if not sets:
            return None
        row = sets[-1]
        return StoredSet(row["id"], row["digest"], row["loaded_at"], row["files"] if with_files else None)

    def files_of(self, set_id: str) -> dict[str, str]:
        return next(r["files"] for r in self._rows.kept("policy_sets") if r["id"] == set_id)

    def add_set(self, stored: StoredSet, *, loaded_by: str, source: str) -> None:
        self._rows.add("policy_sets", [{"id": stored.id, "digest": stored.digest, "loaded_at": stored.loaded_at,
                                        "loaded_by": loaded_by, "source": source, "files": stored.files}])

    def version_keys(self) -> set[tuple[str, str, str, dt.date, str]]:
        return {(r["region"], r["kind"], r["name"], r["effective_from"], r["content_hash"])
                for r in self._rows.kept("policy_versions")}

    def add_versions(self, versions: list[dict]) -> None:
        self._rows.add("policy_versions", [dict(v) for v in versions])

    def first_loaded(self, regions: list[str]) -> dict[tuple[str, str, str, dt.date], dt.datetime]:
        first: dict[tuple[str, str, str, dt.date], dt.datetime] = {}
        for r in sorted(self._rows.kept("policy_versions"), key=lambda r: r["first_loaded_at"]):
            if r["region"] in regions:
                first.setdefault((r["kind"], r["region"], r["name"], r["effective_from"]), r["first_loaded_at"])
        return first

    def tell_insured(self, *, within: str | None, outside: list[str], schemes: frozenset | None, notice: dict) -> int:
        enrolled = {e.person_id for e in self._uow.all_by(Enrollment, status="active")
                    if schemes is None or e.scheme in schemes}
        told = [p.id for p in self._uow.all_by(Person, "id")
                if (within is None or p.region.startswith(within))
                and not any(p.region.startswith(other) for other in outside)
                and (schemes is None or p.id in enrolled)]
        self._rows.add("notices", [{"id": next(self._uow.store.numbers), "person_id": person_id, **notice,
                                    "read_at": None} for person_id in told])
        return len(told)

    def inbox(self, person_id: str) -> list[dict]:
        mine = [dict(r) for r in self._rows.kept("notices") if r["person_id"] == person_id]
        return sorted(mine, key=lambda r: r["id"], reverse=True)


class FakeVouchers:
    """`services.ports.VoucherStore` in memory."""

    def __init__(self, uow) -> None:
        self._rows = _Rows(uow)

    def add(self, voucher: dict) -> None:
        self._rows.add("vouchers", [dict(voucher)])

    def find(self, code: str) -> dict | None:
        return next((dict(r) for r in self._rows.kept("vouchers") if r["code"] == code), None)
