"""Messages stored for a person (the inbox): application steps, payouts, and policy changes that concern them."""

from __future__ import annotations

from yibao.domain import errors
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork


def tell(ctx: Context, uow: UnitOfWork, person_ids, *, kind: str, title: tuple[str, str], body: tuple[str, str],
         data: dict) -> None:
    """Store one message, in Chinese and English, for each person named (once each)."""
    rows = [{"person_id": pid, "kind": kind, "created_at": ctx.now(), "title_zh": title[0][:200],
             "title_en": title[1][:200], "body_zh": body[0], "body_en": body[1], "data": data}
            for pid in dict.fromkeys(person_ids)]
    uow.notices.add_all(rows)


def mark_read(ctx: Context, *, actor: Actor, person_id: str, notice_id: int) -> dict:
    """The person marks a message read (reading it again changes nothing)."""
    access.ensure_owner_or_admin(actor, person_id)
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        row = uow.notices.find(notice_id, person_id=person_id)
        if row is None:
            raise errors.NoticeNotFound()
        if row["read_at"] is None:
            uow.notices.mark_read(notice_id, ctx.now())
            uow.commit()
        return uow.notices.find(notice_id)
