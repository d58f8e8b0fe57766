"""Plain rows (no entity) a fake unit of work writes: read back at once, kept in the store's tables on commit."""

from __future__ import annotations


class PendingRows:
    """Plain rows a unit of work writes, kept in the store's tables only when it commits."""

    def __init__(self, uow) -> None:
        self._uow, self._pending = uow, {}

    def kept(self, table: str) -> list[dict]:
        """The table's rows as this unit of work sees them: those kept, then its own."""
        return [*self._uow.store.tables[table], *self._pending.get(table, [])]

    def add(self, table: str, rows: list[dict]) -> None:
        """Write these rows, kept when the unit of work commits."""
        if not self._pending:
            self._uow.before_commit(self._keep)
        self._pending.setdefault(table, []).extend(rows)

    def _keep(self) -> None:
        for table, rows in self._pending.items():
            self._uow.store.tables[table].extend(rows)
        self._pending = {}
