"""Life events (死亡、出国（境）定居登记): a person's death or emigration, recorded at the counter or from the
residents register, and what follows from its date.

From the event's date every card and e-voucher of the person is refused (the settlement's facts and the card
and e-voucher services read the person's standing), grants to and from them end, filings end, and
contributions for later months are refused; the account is kept for the cases the policy names (the heirs'
withdrawal, the emigration payout) and closes once the heirs are paid. Settlements already made on or after
the date are never rewritten: the event lists them as findings for review.
"""

from __future__ import annotations

import datetime as dt

from yibao.domain import errors
from yibao.domain.applications import Document
from yibao.domain.filings import Filing, FilingStatus
from yibao.domain.ids import new_id
from yibao.domain.life_events import KIND_ZH, LifeEvent, LifeEventKind, LifeEventSource, Standing
from yibao.domain.registry import Person
from yibao.domain.settlement import Settlement
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context
from yibao.services.crossregion import family
from yibao.services.ports import UnitOfWork


def _invalid(zh: str, en: str, **facts) -> errors.LifeEventInvalid:
    return errors.LifeEventInvalid(reason_zh=zh, reason_en=en, **facts)


def standing(uow: UnitOfWork, person_id: str) -> Standing:
    """The person's life event, freeze and closure, in one statement (`.refusal(day)` says what it refuses)."""
    return uow.persons.standing(person_id)


def event_of(uow: UnitOfWork, person_id: str) -> LifeEvent | None:
    """The person's life event on record, if any."""
    return uow.one_by(LifeEvent, person_id=person_id)


def ensure_usable(uow: UnitOfWork, person_id: str, day: dt.date) -> None:
    """Refuse the person's credentials when a life event or a freeze stops them (`person.deceased`,
    `person.emigrated`, `account.frozen`)."""
    standing(uow, person_id).ensure_usable(day)


def _checked(kind: str, date, source: str) -> tuple[LifeEventKind, dt.date, LifeEventSource]:
    try:
        kind = LifeEventKind(kind)
    except ValueError:
        raise _invalid("事件类型须为 death（死亡）或 emigration（出国（境）定居）",
                       "kind is death or emigration") from None
    try:
        source = LifeEventSource(source)
    except ValueError:
        raise _invalid("来源须为 counter 或 register", "source is counter or register") from None
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            raise _invalid("日期须为 YYYY-MM-DD", "date must be YYYY-MM-DD") from None
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise _invalid("日期须为 YYYY-MM-DD", "date must be YYYY-MM-DD")
    return kind, date, source


def _documents(uow: UnitOfWork, person_id: str, ids: list[str]) -> list[str]:
    for document_id in (ids := list(dict.fromkeys(ids))):
        document = uow.get(Document, document_id)
        if document is None:
            raise errors.DocumentNotFound()
        if document.person_id != person_id:
            raise _invalid(f"材料 {document_id} 不属于该参保人", f"document {document_id} is not this person's",
                           document_id=document_id)
    return ids


def _earlier(ctx: Context, uow: UnitOfWork, person_id: str, kind: LifeEventKind, date: dt.date) -> LifeEvent | None:
    """Refuse an event the person cannot have (no such person, a date ahead or before their birth, another event
    on record); the same event already on record, if it is."""
    person = uow.get(Person, person_id)
    if person is None:
        raise errors.PersonNotFound()
    if date > ctx.today():
        raise _invalid("事件日期不能晚于今天", "the date cannot be in the future")
    if date < person.birth_date:
        raise _invalid("事件日期不能早于出生日期", "the date cannot be before the person's birth")
    earlier = event_of(uow, person_id)
    if earlier is not None and not earlier.same_as(kind, date):
        raise errors.LifeEventConflict(kind=earlier.kind, kind_zh=KIND_ZH[LifeEventKind(earlier.kind)],
                                       event_date=earlier.event_date.isoformat())
    return earlier


def check_event(ctx: Context, *, actor: Actor, person_id: str, kind: str, date) -> None:
    """Whether `record_event` would take this event, writing nothing: so a counter can refuse it before it keeps
    the papers that go with it."""
    access.ensure(actor, "life_event", "record")
    kind, date, _source = _checked(kind, date, "counter")
    with ctx.uow() as uow:
        _earlier(ctx, uow, person_id, kind, date)


def record_event(ctx: Context, *, actor: Actor, person_id: str, kind: str, date, document_ids=None,
                 source: str = "counter") -> LifeEvent:
    """Record a death or emigration; the same event again returns the first, another one is a conflict."""
    access.ensure(actor, "life_event", "record")
    kind, date, source = _checked(kind, date, source)
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        earlier = _earlier(ctx, uow, person_id, kind, date)
        if earlier is not None:
            return earlier
        documents = _documents(uow, person_id, document_ids or [])
        late = _settlements_since(uow, person_id, date)
        event = LifeEvent(new_id("lev"), person_id, kind.value, date, ctx.now(), actor.username, source.value,
                          documents, [s.id for s in late])
        uow.add(event)
        ended = _end_grants(ctx, uow, actor, person_id, event) + _end_filings(ctx, uow, actor, person_id, event)
        ctx.audit(uow, actor, "life_event.record", "life_event", event.id, person_id=person_id, kind=kind.value,
                  event_date=date.isoformat(), source=source.value, document_ids=documents,
                  late_settlement_ids=event.late_settlement_ids, ended=ended)
        uow.commit()
        return event


def _settlements_since(uow: UnitOfWork, person_id: str, day: dt.date) -> list[Settlement]:
    return uow.persons.settlements_since(person_id, day)


def _end_grants(ctx: Context, uow: UnitOfWork, actor: Actor, person_id: str, event: LifeEvent) -> list[str]:
    """Grants to and from the person end (those in force revoked, those awaiting consent cancelled)."""
    return family.end_open_grants(ctx, uow, actor=actor, person_id=person_id,
                                  reason=f"life_event:{event.id}:{event.kind}")


def _end_filings(ctx: Context, uow: UnitOfWork, actor: Actor, person_id: str, event: LifeEvent) -> list[str]:
    """The person's filing in force ends (cancelled), audited with the event behind it."""
    ended = []
    for filing in uow.all_by(Filing, "created_at", person_id=person_id, status=FilingStatus.ACTIVE):
        before, after = filing.apply("cancel", ctx.now())
        ctx.audit(uow, actor, "filing.end", "filing", filing.id, from_status=before, to_status=after,
                  life_event_id=event.id, kind=event.kind)
        ended.append(filing.id)
    return ended


def close_account(ctx: Context, uow: UnitOfWork, actor: Actor, *, person_id: str, application_id: str) -> None:
    """Inside the caller's unit of work: the deceased's account closes once the heirs' withdrawal is paid."""
    event = event_of(uow, person_id)
    if event is None or event.account_closed_at is not None:
        return
    event.account_closed_at, event.closing_application_id = ctx.now(), application_id
    ctx.audit(uow, actor, "account.close", "life_event", event.id, person_id=person_id, application_id=application_id)


def list_events(ctx: Context, *, actor: Actor, person_id: str) -> list[dict]:
    """The person's life events, each with the settlements on or after its date (findings for review)."""
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        event = event_of(uow, person_id)
        if event is None:
            return []
        return [{"event": event, "late_settlements": _settlements_since(uow, person_id, event.event_date)}]
