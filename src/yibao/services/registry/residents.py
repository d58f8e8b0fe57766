"""The residents register (人口库) feed: rows imported from the register's extract (CSV file or admin
endpoint), checked row by row, stored with their history, and a deceased or emigrated row recorded as
that person's life event. Importing the same rows again changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from yibao.domain import errors
from yibao.domain.ids import new_id
from yibao.domain.registry import Person
from yibao.domain.residents import COLUMNS, LIFE_EVENT_KIND, Resident, ResidentRow, ResidentStatus
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events

REJECT_COLUMNS = ("line", *COLUMNS, "code", "message_zh", "message_en")
BATCH = 500  # rows per unit of work
SOURCE_MAX = 40


@dataclass
class Rejection:
    line: int
    row: dict
    code: str
    message_zh: str
    message_en: str


@dataclass
class ImportSummary:
    rows: int = 0
    accepted: int = 0  # new in the register
    updated: int = 0  # a changed name, status or event date
    unchanged: int = 0  # already in the register as given
    rejected: int = 0
    life_events: int = 0  # deceased or emigrated rows of persons registered in yibao
    seconds: float = 0.0
    rejections: list[Rejection] = field(default_factory=list)
    rejected_path: Path | None = None

    def reasons(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for r in self.rejections:
            found[r.code] = found.get(r.code, 0) + 1
        return found


@dataclass(frozen=True)
class LifeEvent:
    line: int
    row: dict
    person_id: str
    kind: str  # death | emigration
    date: dt.date


def resident_of(uow: UnitOfWork, id_number: str) -> Resident | None:
    """The register's row for an ID number, if the register knows it."""
    return uow.one_by(Resident, id_number=id_number)


def import_rows(ctx: Context, *, actor: Actor, rows: Iterable[tuple[int, dict]], source: str,
                after_batch: Callable[[ImportSummary], None] = lambda s: None) -> ImportSummary:
    """Import numbered rows of a register extract, a batch per unit of work; bad rows are rejected with
    their line and reason, the others go on."""
    access.ensure(actor, "residents", "import")
    source = _source(source)
    summary = ImportSummary()
    started = time.perf_counter()
    batch: list[tuple[int, dict]] = []
    for numbered in rows:
        batch.append(numbered)
        if len(batch) >= BATCH:
            _import_batch(ctx, actor, batch, source, summary)
            after_batch(summary)
            batch = []
    if batch:
        _import_batch(ctx, actor, batch, source, summary)
        after_batch(summary)
    summary.seconds = time.perf_counter() - started
    return summary


def import_file(ctx: Context, *, actor: Actor, path: Path, rejected_path: Path | None = None,
                on_bytes: Callable[[int], None] = lambda n: None) -> ImportSummary:
    """Import a register extract (CSV, header `id_number,name,status,event_date`); refused rows go to the
    rejected-rows file with their line number and reason."""
    access.ensure(actor, "residents", "import")
    if not path.is_file():
        raise errors.ResidentFileInvalid(reason_zh="找不到文件", reason_en="no such file")
    rejected_path = rejected_path or path.with_name(path.stem + ".rejected.csv")
    with path.open("rb") as raw:
        rows = _csv_rows(raw, on_bytes)
        first = next(rows, None)  # the header is checked before anything is written
        summary = import_rows(ctx, actor=actor, rows=_chain(first, rows), source=f"file:{path.name}"[:SOURCE_MAX])
    _write_rejections(rejected_path, summary.rejections)
    summary.rejected_path = rejected_path
    return summary


IMPORT_JOB = "residents_import"
FILE_MAX_BYTES = 20 * 1024 * 1024  # an extract sent from a page; larger ones go by `yibao registry import-residents`


def _files(ctx: Context) -> Path:
    return ctx.settings.data_dir / "residents"


def submit_file(ctx: Context, *, actor: Actor, file_name: str, data: bytes):
    """Keep an uploaded register extract (by its content's hash) and import it in the background (kind
    "residents_import"): the job as recorded. The header is checked now, so a wrong file starts no job."""
    from yibao.services import blobs
    from yibao.services.jobs import work

    access.ensure(actor, "residents", "import")
    if not data:
        raise errors.ResidentFileInvalid(reason_zh="文件为空", reason_en="the file is empty")
    if len(data) > FILE_MAX_BYTES:
        raise errors.ResidentFileInvalid(reason_zh="文件过大", reason_en="the file is too large")
    next(_csv_rows(io.BytesIO(data), lambda n: None), None)  # a wrong header is refused before anything is kept
    sha256 = hashlib.sha256(data).hexdigest()
    blobs.keep(_files(ctx), sha256, data)
    return work.submit(ctx, actor=actor, kind=IMPORT_JOB, total=len(data), subject_id=sha256[:32],
                       payload={"sha256": sha256, "file_name": Path(file_name or "extract.csv").name[:SOURCE_MAX]})


def run_job(ctx: Context, job, progress) -> dict:
    """The job's handler: the kept extract imported as the administrator who sent it, its progress counted in
    bytes read; run again (a retry), the same rows change nothing. Refused rows go to the job's own file."""
    from yibao.services import blobs

    read = 0

    def on_bytes(n: int) -> None:
        nonlocal read
        read += n
        progress(read, job.total)

    summary = import_file(ctx, actor=job.acting(), path=blobs.path(_files(ctx), job.payload["sha256"]),
                          rejected_path=rejected_file(ctx, job.id), on_bytes=on_bytes)
    progress(job.total, job.total)
    return {"rows": summary.rows, "accepted": summary.accepted, "updated": summary.updated,
            "unchanged": summary.unchanged, "rejected": summary.rejected, "life_events": summary.life_events}


def rejected_file(ctx: Context, job_id: str) -> Path:
    """Where an import job keeps the rows it refused (with their line and reason)."""
    folder = _files(ctx) / "rejected"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job_id}.csv"


def rejected_of_job(ctx: Context, *, actor: Actor, job_id: str) -> bytes:
    """The refused rows of an import job, for whoever may follow the job."""
    from yibao.services.jobs import work

    job = work.progress(ctx, actor=actor, job_id=job_id)
    if job.kind != IMPORT_JOB:
        raise errors.JobNotFound()
    path = rejected_file(ctx, job.id)
    return path.read_bytes() if path.is_file() else b""


def _chain(first, rest: Iterator) -> Iterator:
    if first is not None:
        yield first
        yield from rest


def _csv_rows(raw, on_bytes: Callable[[int], None]) -> Iterator[tuple[int, dict]]:
    def lines():
        for line in raw:
            on_bytes(len(line))
            yield line.decode("utf-8-sig", errors="replace")

    reader = csv.DictReader(lines())
    header = [(name or "").strip() for name in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    unknown = sorted(set(header) - set(COLUMNS))
    if missing or unknown:
        raise errors.ResidentFileInvalid(
            reason_zh=f"表头须为 {','.join(COLUMNS)}（缺少 {missing}，多余 {unknown}）",
            reason_en=f"the header must be {','.join(COLUMNS)} (missing {missing}, unknown {unknown})")
    reader.fieldnames = header
    for row in reader:
        if None in row:  # more fields than the header names
            yield reader.line_num, {"__extra__": True, **{k: v for k, v in row.items() if k in COLUMNS}}
            continue
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


def _write_rejections(path: Path, rejections: list[Rejection]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(REJECT_COLUMNS)
        for r in rejections:
            writer.writerow([r.line, *(r.row.get(c) or "" for c in COLUMNS), r.code, r.message_zh, r.message_en])


def _source(source: str) -> str:
    source = (source or "").strip()
    if not 0 < len(source) <= SOURCE_MAX:
        raise errors.RequestInvalid(summary=f"source must be 1 to {SOURCE_MAX} characters")
    return source


def _check(row: dict, today: dt.date) -> ResidentRow:
    if row.get("__extra__"):
        raise errors.RequestInvalid(summary="the row has more fields than the header")
    return ResidentRow.parse(row, today=today)


def _import_batch(ctx: Context, actor: Actor, batch: list[tuple[int, dict]], source: str,
                  summary: ImportSummary) -> None:
    today, now = ctx.today(), ctx.now()
    events: list[LifeEvent] = []
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())  # another import stored the same number meanwhile
        for line, raw in batch:
            summary.rows += 1
            try:
                row = _check(raw, today)
            except errors.DomainError as exc:
                summary.rejected += 1
                summary.rejections.append(Rejection(line, raw, exc.code, exc.zh, exc.en))
                continue
            resident = resident_of(uow, row.id_number)
            if resident is not None and resident.same_as(row):
                summary.unchanged += 1
                continue
            became_event = row.status in LIFE_EVENT_KIND and (resident is None or resident.status != row.status)
            if resident is None:
                resident = Resident(id=new_id("rsd"), id_number=row.id_number, name=row.name, status=row.status,
                                    event_date=row.event_date, source=source, imported_at=now, updated_at=now)
                uow.add(resident)
                summary.accepted += 1
                action = "resident.import"
            else:
                resident.name, resident.status, resident.event_date = row.name, row.status, row.event_date
                resident.source, resident.updated_at = source, now
                summary.updated += 1
                action = "resident.update"
            uow.flush()
            ctx.version(uow, actor, "resident", resident.id, resident.snapshot())
            ctx.audit(uow, actor, action, "resident", resident.id, status=resident.status, source=source)
            if became_event:
                person = uow.one_by(Person, id_number=resident.id_number)
                if person is not None:
                    events.append(LifeEvent(line, raw, person.id, LIFE_EVENT_KIND[ResidentStatus(row.status)], row.event_date))
        uow.commit()
    for event in events:  # each in its own unit of work, once the register rows are stored
        try:
            _record_life_event(ctx, actor=actor, event=event)
        except errors.DomainError as exc:  # e.g. another event already on record: the row stays, the clash shows
            summary.rejections.append(Rejection(event.line, event.row, exc.code, exc.zh, exc.en))
            summary.rejected += 1
            continue
        summary.life_events += 1


def _record_life_event(ctx: Context, *, actor: Actor, event: LifeEvent) -> None:
    """A deceased or emigrated register row of a person registered in yibao is that person's life event from the
    row's date: their credentials stop (recording it again changes nothing)."""
    life_events.record_event(ctx, actor=actor, person_id=event.person_id, kind=event.kind, date=event.date,
                             source="register")
