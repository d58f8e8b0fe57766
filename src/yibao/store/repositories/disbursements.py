"""The bank payment batches, their lines and the returns applied to them, on the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.applications import Application, ApplicationStatus
from yibao.domain.disbursement import AppliedReturn, Batch, BatchLine
from yibao.store.tables import disbursement_batches, disbursement_lines, disbursement_returns


class SqlDisbursements:
    def __init__(self, session: Session) -> None:
        self.session = session

    def approved(self) -> list[Application]:
        return list(self.session.scalars(
            sa.select(Application).where(Application.status == ApplicationStatus.APPROVED.value)
            .order_by(Application.updated_at, Application.id).with_for_update()))

    def add(self, batch: Batch, lines: list[BatchLine]) -> None:
        self.session.execute(disbursement_batches.insert(), [{
            "id": batch.batch_id, "file_id": batch.file_id, "bank_name": batch.bank_name,
            "business_date": batch.business_date, "file_name": batch.file_name, "content": batch.file,
            "sha256": batch.sha256, "line_count": batch.line_count, "total_fen": batch.total_fen,
            "status": batch.status, "created_at": batch.created_at, "created_by": batch.created_by,
            "returned_at": batch.returned_at}])
        self.session.execute(disbursement_lines.insert(), [asdict(line) for line in lines])

    def batch(self, batch_id: str, *, for_update: bool = False) -> Batch | None:
        query = sa.select(disbursement_batches).where(disbursement_batches.c.id == batch_id)
        row = self.session.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            return None
        return Batch(row.id, row.file_id or row.id, row.bank_name, row.file_name, row.sha256, row.content,
                     row.line_count, row.total_fen, row.status, [line.read() for line in self.lines(batch_id)],
                     business_date=row.business_date, created_at=row.created_at, created_by=row.created_by,
                     returned_at=row.returned_at)

    def recent(self, limit: int) -> list[Batch]:
        ids = self.session.scalars(sa.select(disbursement_batches.c.id).order_by(
            disbursement_batches.c.created_at.desc(), disbursement_batches.c.id.desc()).limit(limit))
        return [self.batch(batch_id) for batch_id in list(ids)]

    def lines(self, batch_id: str) -> list[BatchLine]:
        rows = self.session.execute(sa.select(disbursement_lines).where(disbursement_lines.c.batch_id == batch_id)
                                    .order_by(disbursement_lines.c.line_no)).all()
        return [BatchLine(**row._asdict()) for row in rows]

    def save_line(self, line: BatchLine) -> None:
        self.session.execute(disbursement_lines.update().where(
            disbursement_lines.c.batch_id == line.batch_id, disbursement_lines.c.line_no == line.line_no)
            .values(status=line.status, reason=line.reason, hold_id=line.hold_id))

    def save_batch(self, batch: Batch) -> None:
        self.session.execute(disbursement_batches.update().where(disbursement_batches.c.id == batch.batch_id)
                             .values(status=batch.status, returned_at=batch.returned_at))

    def applied_at(self, *, return_id: str, sha256: str) -> dt.datetime | None:
        return self.session.scalar(sa.select(disbursement_returns.c.applied_at).where(sa.or_(
            disbursement_returns.c.id == return_id, disbursement_returns.c.sha256 == sha256)).limit(1))

    def add_return(self, applied: AppliedReturn) -> None:
        row = asdict(applied)
        row["id"] = row.pop("return_id")
        self.session.execute(disbursement_returns.insert(), [row])
