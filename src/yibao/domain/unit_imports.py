"""A unit's import of employees from a file (批量增员): its progress, and each row it refused with the column and
the reason. The rows it enrolled are ordinary enrolments; only the refused ones are kept here, for the unit's
report and the file of rows to correct."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class ImportStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # stopped by something other than a row (the service went away): the rows done stay done


COLUMNS = ("id_number", "name", "phone", "start_date")


@dataclass(eq=False)
class UnitImport:
    id: str
    employer_id: str
    started_by: str
    file_name: str
    total_rows: int
    created_at: dt.datetime
    status: str = ImportStatus.RUNNING
    done_rows: int = 0
    enrolled: int = 0  # new enrolments with the unit
    unchanged: int = 0  # already enrolled with the unit: nothing written again
    rejected: int = 0
    finished_at: dt.datetime | None = None

    @property
    def running(self) -> bool:
        return self.status == ImportStatus.RUNNING

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.done_rows * 100 // self.total_rows)

    def count(self, outcome: str) -> None:
        """One row done: enrolled, unchanged or rejected."""
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.done_rows += 1

    def resume(self) -> None:
        """Running again, after it stopped (a retry of its job): the rows done stay done."""
        self.status, self.finished_at = ImportStatus.RUNNING, None

    def finish(self, at: dt.datetime, status: str = ImportStatus.DONE) -> None:
        self.status, self.finished_at = status, at


@dataclass(eq=False)
class ImportRejection:
    import_id: str
    line: int  # the file's line number, the header being line 1
    column_name: str | None  # the cell at fault, when one is
    code: str
    message_zh: str
    message_en: str
    cells: dict = field(default_factory=dict)  # the row as the unit sent it, for the file of rows to correct
