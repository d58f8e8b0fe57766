"""A unit enrols its employees from a CSV file (批量增员): columns id_number, name, phone, start_date.

The file is read whole before anything is written: UTF-8 (with or without the byte-order mark Excel writes) or
else GB18030 (which reads GBK); a binary file, another encoding, a wrong header, too many rows or too large a
file is refused with the reason. Then `run` takes the rows one by one through the same one-step enrolment as
the unit's form (enrolment.enrol_employee), each in its own transaction, so one bad row never blocks the
others; the import's progress and each refused row (its line, the column at fault, the code and the message in
both languages) are stored as it goes. Running the same file again enrols nobody twice: an employee already
enrolled with the unit is counted as unchanged. `submit` runs an import as a background job (services.jobs):
a retry after a crash goes on from the first row not counted.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from dataclasses import asdict, dataclass

from yibao.domain import errors
from yibao.domain.ids import new_id
from yibao.domain.jobs import Job
from yibao.domain.registry import Employer
from yibao.domain.unit_imports import COLUMNS, ImportRejection, ImportStatus, UnitImport
from yibao.domain.users import Actor, Role
from yibao.services import access
from yibao.services.context import Context
from yibao.services.jobs import work
from yibao.services.jobs.ports import Progress
from yibao.services.registry import enrolment

MAX_BYTES = 512 * 1024
MAX_ROWS = 2000
NAME_MAX = 120
JOB_KIND = "unit_import"
REPORT_COLUMNS = ("line", "column", "code", "message", *COLUMNS)
SAMPLE = ("id_number,name,phone,start_date\r\n"
          "110105198503120119,张伟,13800138000,2026-03-01\r\n"
          "110105199003070025,李娜,13900139000,2026/3/1\r\n")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    line: int  # the file's line where the row starts, the header being line 1
    cells: dict[str, str]  # the four columns, as sent
    complete: bool  # as many cells as the header has


def _refuse(zh: str, en: str) -> errors.EmployeeFileInvalid:
    return errors.EmployeeFileInvalid(reason_zh=zh, reason_en=en)


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without the byte-order mark), else GB18030; anything else is refused."""
    if not data.strip():
        raise _refuse("文件为空", "the file is empty")
    if len(data) > MAX_BYTES:
        raise _refuse(f"文件超过 {MAX_BYTES // 1024} KB", f"the file is larger than {MAX_BYTES // 1024} KB")
    if b"\x00" in data:
        raise _refuse("不是文本文件（CSV）；请在 Excel 中另存为“CSV UTF-8”或“CSV（逗号分隔）”",
                      "it is not a text (CSV) file; in Excel, save it as CSV UTF-8 or CSV (comma delimited)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _readable(text):
            return text
    raise _refuse("文件编码无法识别；请使用 UTF-8 或 GBK 编码", "its encoding is not UTF-8 or GBK; save it in one of them")


def _readable(text: str) -> bool:
    """No control character but tabs and line ends, no private-use or unassigned code point."""
    return all(ch in "\t\r\n" or unicodedata.category(ch) not in ("Cc", "Co", "Cn", "Cs") for ch in text)


def read(data: bytes) -> list[Row]:
    """The file's rows under a header naming at least the four columns (any order; other columns are ignored);
    blank lines are skipped. Refused whole when it cannot be read or has no rows or too many."""
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        named_columns = [c for c in header if c]  # Excel may end every line with empty cells
        if len(set(named_columns)) != len(named_columns) or not set(COLUMNS) <= set(named_columns):
            raise _refuse("表头应为 id_number,name,phone,start_date（各一次）",
                          "the header must name id_number, name, phone and start_date, each once")
        rows, line = [], reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(rows) == MAX_ROWS:
                    raise _refuse(f"超过 {MAX_ROWS} 行；请分成多个文件", f"it has more than {MAX_ROWS} rows; split it")
                rows.append(_row(line, header, cells))
            line = reader.line_num + 1
    except csv.Error:
        raise _refuse("CSV 格式不正确（引号未闭合或字段过长）", "it is not well-formed CSV (a quote not closed, or a field "
                      "too long)") from None
    if not rows:
        raise _refuse("表头之后没有数据行", "it has no rows after the header")
    return rows


def _row(line: int, header: list[str], cells: list[str]) -> Row:
    """A row is complete when it has a cell for each of the four columns and nothing past the header's end."""
    named = {name: cell for name, cell in zip(header, cells, strict=False) if name}
    complete = all(c in named for c in COLUMNS) and not any(cell.strip() for cell in cells[len(header):])
    return Row(line, {c: named.get(c, "") for c in COLUMNS}, complete)


def _ensure_unit(actor: Actor) -> str:
    access.ensure(actor, "enrollment", "create", employer_id=actor.employer_id)
    if actor.role != Role.UNIT or not actor.employer_id:
        raise errors.AccessForbidden()
    return actor.employer_id


def start(ctx: Context, *, actor: Actor, file_name: str, data: bytes) -> tuple[UnitImport, list[Row]]:
    """Read the unit's file and record the import as running; (the import, its rows for `run`). A file that cannot
    be read, or a unit whose data is incomplete, is refused before anything is written."""
    employer_id = _ensure_unit(actor)
    rows = read(data)
    with ctx.uow() as uow:
        employer = uow.get(Employer, employer_id)
        if employer is None:
            raise errors.EmployerNotFound()
        employer.ensure_complete()
        started = UnitImport(id=new_id("imp"), employer_id=employer_id, started_by=actor.username,
                             file_name=(file_name or "employees.csv").strip()[:NAME_MAX] or "employees.csv",
                             total_rows=len(rows), created_at=ctx.now())
        uow.add(started)
        ctx.audit(uow, actor, "unit_import.start", "unit_import", started.id, rows=len(rows))
        uow.commit()
    return started, rows


def _take_on(ctx: Context, actor: Actor, row: Row) -> tuple[str, errors.DomainError | None, str | None]:
    """(enrolled | unchanged | rejected, the refusal, the column at fault)."""
    if not row.complete:
        return "rejected", errors.EmployeeRowInvalid(reason_zh="单元格数与表头不一致",
                                                     reason_en="its number of cells differs from the header's"), None
    problems = enrolment.check_employee(ctx, **row.cells)
    if problems:
        column = next(c for c in COLUMNS if c in problems)
        return "rejected", problems[column], column
    try:
        _, new = enrolment.enrol_employee(ctx, actor=actor, id_number=row.cells["id_number"],
                                          name=row.cells["name"], phone=row.cells["phone"],
                                          start_date=enrolment.parse_start_date(row.cells["start_date"]))
    except errors.DomainError as exc:
        return "rejected", exc, enrolment.field_of(exc)
    return ("enrolled" if new else "unchanged"), None, None


def run(ctx: Context, *, actor: Actor, import_id: str, rows: list[Row], progress: Progress | None = None
        ) -> UnitImport:
    """Take the rows one by one, each in its own transaction, keeping the progress and the refused rows; the
    import is done at the end. Run again (a retry after a crash), it goes on from the first row not counted; once
    done, it does nothing. Something other than a row that stops it leaves it failed, keeping what was done, and
    is raised."""
    _ensure_unit(actor)
    with ctx.uow() as uow:
        found = uow.get(UnitImport, import_id, for_update=True)
        if found.status == ImportStatus.DONE:
            return found
        found.resume()
        uow.commit()
    try:
        for row in rows[found.done_rows:]:
            outcome, refusal, column = _take_on(ctx, actor, row)
            with ctx.uow() as uow:
                found = uow.get(UnitImport, import_id, for_update=True)
                found.count(outcome)
                if refusal is not None:
                    uow.add(ImportRejection(import_id=import_id, line=row.line, column_name=column, code=refusal.code,
                                            message_zh=refusal.zh[:500], message_en=refusal.en[:500],
                                            cells=dict(row.cells)))
                uow.commit()
            if progress is not None:
                progress(found.done_rows, found.total_rows)
    except Exception:
        log.exception("the import %s stopped", import_id)
        _finish(ctx, actor, import_id, ImportStatus.FAILED)
        raise
    return _finish(ctx, actor, import_id, ImportStatus.DONE)


def _finish(ctx: Context, actor: Actor, import_id: str, status: ImportStatus) -> UnitImport:
    with ctx.uow() as uow:
        found = uow.get(UnitImport, import_id, for_update=True)
        found.finish(ctx.now(), status)
        ctx.audit(uow, actor, "unit_import.finish", "unit_import", import_id, status=status.value,
                  enrolled=found.enrolled, unchanged=found.unchanged, rejected=found.rejected)
        uow.commit()
        return found


def submit(ctx: Context, *, actor: Actor, file_name: str, data: bytes) -> UnitImport:
    """Read the unit's file, record the import (see `start`) and hand it to a background job (kind
    "unit_import"), which the import's page follows."""
    started, rows = start(ctx, actor=actor, file_name=file_name, data=data)
    work.submit(ctx, actor=actor, kind=JOB_KIND, subject_id=started.id, total=started.total_rows,
                payload={"import_id": started.id, "rows": [asdict(row) for row in rows]})
    return started


def run_job(ctx: Context, job: Job, progress: Progress) -> dict:
    """The job's handler: the import's rows as the job keeps them, run as the unit that sent them."""
    rows = [Row(**row) for row in job.payload["rows"]]
    found = run(ctx, actor=job.acting(), import_id=job.payload["import_id"], rows=rows, progress=progress)
    return {"import_id": found.id, "enrolled": found.enrolled, "unchanged": found.unchanged,
            "rejected": found.rejected}


def job_of(ctx: Context, *, actor: Actor, import_id: str) -> Job | None:
    """The background job carrying the import out, when there is one."""
    return work.of_subject(ctx, actor=actor, kind=JOB_KIND, subject_id=import_id)


def get(ctx: Context, *, actor: Actor, import_id: str) -> UnitImport:
    """An import and its progress: the unit that started it (and agency staff) only."""
    with ctx.uow() as uow:
        found = uow.get(UnitImport, import_id)
        if found is None:
            raise errors.UnitImportNotFound()
        access.ensure_employer_access(actor, found.employer_id, write=False)
        return found


def rejections(ctx: Context, *, actor: Actor, import_id: str) -> list[ImportRejection]:
    """The rows an import refused, in the file's order."""
    get(ctx, actor=actor, import_id=import_id)
    with ctx.uow() as uow:
        return uow.all_by(ImportRejection, "line", import_id=import_id)


def recent(ctx: Context, *, actor: Actor, employer_id: str, limit: int = 10) -> list[UnitImport]:
    """The unit's latest imports, newest first."""
    access.ensure_employer_access(actor, employer_id, write=False)
    with ctx.uow() as uow:
        return list(reversed(uow.all_by(UnitImport, "created_at", "id", employer_id=employer_id)))[:limit]


def rejected_rows_csv(found: list[ImportRejection], *, chinese: bool) -> str:
    """The refused rows as a CSV file (line, column, code, message, then the row as sent) to correct and send again:
    the file's own columns come last, so the corrected file imports as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for r in found:
        writer.writerow([r.line, r.column_name or "", r.code, r.message_zh if chinese else r.message_en,
                         *(_defused(r.cells.get(c, "")) for c in COLUMNS)])
    return out.getvalue()


def _defused(cell: str) -> str:
    """A cell a spreadsheet would run as a formula is written as text."""
    risky = cell[:1] in ("=", "@", "\t", "\r") or (cell[:1] in ("+", "-") and not cell[1:].strip().isdigit())
    return "'" + cell if risky else cell
