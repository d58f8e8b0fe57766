"""An application's history: each step is one line with its actor, is audited with its seal, and is told to the
person (and the applicant) in the words of domain.application_texts. Every module that moves a case writes here.
"""

from __future__ import annotations

from yibao.domain import application_texts as texts
from yibao.domain.applications import Application, ApplicationStep
from yibao.domain.users import Actor
from yibao.ledger import seals
from yibao.services import notices
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork


def record_step(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application, action: str, before: str | None,
                after: str, *, note: str = "", data: dict | None = None) -> None:
    """One line of history, its audit record, and the message to the person (and the applicant)."""
    data = data or {}
    step = ApplicationStep(None, app.id, ctx.now(), actor.username, action, before, after, note, data)
    uow.add(step)
    uow.flush()  # the step's id, which its seal names
    ctx.audit(uow, actor, f"application.{action}", "application", app.id, from_status=before, to_status=after,
              note=note, **data, seals=[seals.seal("application_steps", step)])
    body = texts.message(app, after, note, data)
    notices.tell(ctx, uow, [app.person_id, app.applicant_id], kind="application", title=texts.title(after, data),
                 body=body, data={"application_id": app.id, "status": after, **data})


def move(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application, action: str, *, note: str = "",
         data: dict | None = None) -> None:
    """Take the step the transition table allows for the action (or refuse it) and record it."""
    before, after = app.apply(action, ctx.now())
    record_step(ctx, uow, actor, app, action, before, after, note=note, data=data)
