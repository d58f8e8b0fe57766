"""In-memory repositories of the policy area and of vouchers: policy sets, their versions, the notices a change
sends (through the inbox's fake, `uow.notices`), and voucher codes, kept as plain rows in the fake store's tables
(written when the unit of work commits)."""

from __future__ import annotations

import datetime as dt

from yibao.domain.registry import Enrollment, Person
from yibao.policy.stored import StoredSet

from .rows import PendingRows


class FakePolicies:
    """`services.policy.ports.PolicyStore` in memory."""

    def __init__(self, uow) -> None:
        self._uow, self._rows = uow, PendingRows(uow)

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

    def _audience(self, within: str | None, outside: list[str], schemes: frozenset | None) -> list[str]:
        enrolled = {e.person_id for e in self._uow.all_by(Enrollment, status="active")
                    if schemes is None or e.scheme in schemes}
        return [p.id for p in self._uow.all_by(Person, "id")
                if (within is None or p.region.startswith(within))
                and not any(p.region.startswith(other) for other in outside)
                and (schemes is None or p.id in enrolled)]

    def count_insured(self, audiences: list[tuple[str | None, list[str], frozenset | None]]) -> int:
        return len({person_id for audience in audiences for person_id in self._audience(*audience)})

    def tell_insured(self, *, within: str | None, outside: list[str], schemes: frozenset | None, notice: dict) -> int:
        told = self._audience(within, outside, schemes)
        self._uow.notices.add_all([{"person_id": person_id, **notice} for person_id in told])
        return len(told)

    def inbox(self, person_id: str) -> list[dict]:
        mine = [dict(r) for r in self._uow.notices.kept() if r["person_id"] == person_id]
        return sorted(mine, key=lambda r: r["id"], reverse=True)


class FakeVouchers:
    """`services.ports.VoucherStore` in memory."""

    def __init__(self, uow) -> None:
        self._rows = PendingRows(uow)

    def add(self, voucher: dict) -> None:
        self._rows.add("vouchers", [dict(voucher)])

    def find(self, code: str) -> dict | None:
        return next((dict(r) for r in self.kept() if r["code"] == code), None)

    def kept(self) -> list[dict]:
        """Every voucher's row, as the unit of work sees them (the applications' fake reads them here too)."""
        return self._rows.kept("vouchers")
