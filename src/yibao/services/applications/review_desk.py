"""The reviewer's desk (审核台): the queue narrowed by region, kind, reason, days waiting and amount; a case's
papers shown to its reviewer while the case is in review; and the bank batches made lately."""

from __future__ import annotations

from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.applications import REVIEWABLE, Application, Document
from yibao.domain.clock import local_date
from yibao.domain.disbursement import Batch
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.applications import documents
from yibao.services.context import Context

SCANNED = 2000  # the oldest cases of the queue looked through by a filter


@dataclass(frozen=True)
class QueueFilter:
    """What narrows the queue; None leaves a criterion out."""

    region: str | None = None
    kind: str | None = None
    reason: str | None = None
    min_days: int | None = None  # waiting at least this many days
    min_fen: int | None = None  # amount asked, at least
    max_fen: int | None = None  # amount asked, at most


@dataclass(frozen=True)
class QueueRow:
    """A case in the queue, with its person's region and the days it has waited since it came in."""

    application: Application
    region: str
    days_waiting: int


def _matches(row: QueueRow, wanted: QueueFilter) -> bool:
    app = row.application
    return ((wanted.region is None or row.region == wanted.region)
            and (wanted.kind is None or app.kind == wanted.kind)
            and (wanted.reason is None or app.reason == wanted.reason)
            and (wanted.min_days is None or row.days_waiting >= wanted.min_days)
            and (wanted.min_fen is None or app.requested_fen >= wanted.min_fen)
            and (wanted.max_fen is None or app.requested_fen <= wanted.max_fen))


def queue(ctx: Context, *, actor: Actor, wanted: QueueFilter, limit: int = 200) -> list[QueueRow]:
    """The cases waiting for a reviewer that match the filter, the longest waiting first."""
    access.ensure(actor, "application", "read_queue")
    today = ctx.today()
    with ctx.uow() as uow:
        rows = []
        for app in uow.applications.queue([s.value for s in REVIEWABLE], SCANNED):
            region = uow.get(Person, app.person_id).region
            row = QueueRow(app, region, (today - local_date(app.updated_at)).days)
            if _matches(row, wanted):
                rows.append(row)
        return rows[:limit]


def document(ctx: Context, *, actor: Actor, application_id: str, document_id: str) -> tuple[Document, bytes]:
    """A paper of a case in review, with its content, for a reviewer: a document not attached to the case, or of
    a case not in review, is not found."""
    access.ensure(actor, "application", "review")
    with ctx.uow() as uow:
        app = uow.get(Application, application_id)
        if app is None or app.status not in REVIEWABLE:
            raise errors.DocumentNotFound()
        if document_id not in {d.id for d in uow.applications.attached(app.id)}:
            raise errors.DocumentNotFound()
    return documents.get(ctx, actor=actor, document_id=document_id)


def batches(ctx: Context, *, actor: Actor, limit: int = 20) -> list[Batch]:
    """The bank batches made lately, newest first, with their lines."""
    access.ensure(actor, "batch", "read")
    with ctx.uow() as uow:
        return uow.disbursements.recent(limit)
