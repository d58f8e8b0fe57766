"""The insured person's home page, /me: what the account holds now, what happened lately, what is unread.
The other pages of the person are in `money` (history, e-voucher, cards, bank) and `cases` (family, filings,
applications, help)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from yibao.domain.users import Actor, Role
from yibao.services.accounts import balances
from yibao.services.policy import sets
from yibao.services.registry import enrolment
from yibao.web import csrf, labels, render, session

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])

Person = Annotated[Actor, Depends(session.role(Role.PERSON))]
RECENT = 5


@router.get("/me")
def me(request: Request, actor: Person):
    ctx = request.app.state.ctx
    person = enrolment.get_person(ctx, actor=actor, person_id=actor.person_id)
    account = balances.get_account(ctx, actor=actor, person_id=actor.person_id)
    since = ctx.today() - dt.timedelta(days=366)
    lines = balances.statement(ctx, actor=actor, person_id=actor.person_id, date_from=since).lines
    notices = sets.notices_of(ctx, actor=actor, person_id=actor.person_id)
    unread = [n for n in notices if n.get("read_at") is None]
    return render.page(request, "me/index.html", person=person, account=account,
                       recent=list(reversed(lines))[:RECENT], unread=unread[:3], unread_count=len(unread),
                       kinds=labels.ENTRY_KINDS)
