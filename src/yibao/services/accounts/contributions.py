"""Contributions (缴费, R3): each collected month's payment credits the personal account by the region's rule (划入).

Only collection credits (征缴到账): the collector (tax office or bank channel), an administrator and the
crediting job's file. A unit or a flexible worker declares instead (services.collection), and the declaration
credits through this same path once the collector confirms it."""

from __future__ import annotations

import datetime as dt
import re

from yibao.domain import errors
from yibao.domain.collection import Declaration, payer_key
from yibao.domain.life_events import KIND_ZH, LifeEventKind, Standing
from yibao.domain.registry import Enrollment, EnrollmentStatus, Person
from yibao.domain.users import Actor
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind, Bucket
from yibao.ledger.entries import EntryKind, Posting
from yibao.services import access
from yibao.services.accounts.books import Books
from yibao.services.context import Context
from yibao.services.idempotency import Once
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events

SCOPE = "contribution"  # the idempotency scope of credited months

_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
MAX_BASE_FEN = 10**10  # ¥100,000,000 a month: anything above is a typing error, not a salary


def parse_period(period: str) -> dt.date:
    match = _PERIOD.fullmatch(period or "")
    if not match:
        raise errors.ContributionInvalid(reason_zh=f"缴费月份应为 YYYY-MM：{period!r}",
                                         reason_en=f"period must be YYYY-MM: {period!r}")
    return dt.date(int(match[1]), int(match[2]), 1)


def _month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def contribution_key(person_id: str, period: str, employer_id: str | None) -> str:
    """The natural key of one month's contribution: person, month and payer."""
    return f"{person_id}:{period}:{payer_key(employer_id)}"


def contribution_request(person_id: str, period: str, base_fen: int, employer_id: str | None) -> dict:
    return {"person_id": person_id, "period": period, "base_fen": base_fen, "employer_id": employer_id}


def check_base(base_fen) -> int:
    if type(base_fen) is not int or not 0 < base_fen <= MAX_BASE_FEN:
        raise errors.ContributionInvalid(reason_zh=f"缴费基数须为正整数（分），不超过 {MAX_BASE_FEN}：{base_fen!r}",
                                         reason_en=f"base_fen must be a positive whole number of fen "
                                                   f"up to {MAX_BASE_FEN}: {base_fen!r}")
    return base_fen


def check_month(*, period: str, first: dt.date, today: dt.date, standing: Standing) -> None:
    """Whether a month may be paid, the same for a single contribution and every row of a crediting file: not a
    future month, not a month after the person's death or emigration, nothing into a closed account."""
    if first > today.replace(day=1):
        raise errors.ContributionInvalid(reason_zh=f"不能为未来月份缴费：{period}",
                                         reason_en=f"a future month cannot be paid yet: {period}")
    if standing.closed:
        raise errors.AccountClosed()
    if standing.event_date is not None and first > standing.event_date:
        kind = LifeEventKind(standing.event_kind)
        raise errors.ContributionAfterLifeEvent(period=period, event_date=standing.event_date.isoformat(),
                                                kind=kind.value, kind_zh=KIND_ZH[kind])


def enrollment_for(uow: UnitOfWork, person_id: str, first: dt.date, employer_id: str | None) -> Enrollment | None:
    """The person's active enrolment that covers the month (through that unit, where one is named)."""
    last = _month_end(first)
    for e in uow.all_by(Enrollment, "start_date", person_id=person_id, status=EnrollmentStatus.ACTIVE):
        covers = e.start_date <= last and (e.end_date is None or e.end_date >= first)
        if covers and (employer_id is None or e.employer_id == employer_id):
            return e
    return None


def check_bounds(ctx: Context, *, region: str, scheme: str, flexible: bool, first: dt.date, base_fen: int) -> None:
    """The base lies within the region's floor and ceiling for the period (缴费基数上下限), where the scheme has one."""
    if ctx.policy is None:
        raise errors.PolicyRuleMissing(region=region, date=first.isoformat(), rule="contribution.base_bounds")
    bounds = ctx.policy.contribution_base_bounds(region=region, scheme=scheme, flexible=flexible, period=first)
    if bounds is not None and not bounds.min_fen <= base_fen <= bounds.max_fen:
        raise errors.ContributionBaseOutOfRange(min_fen=bounds.min_fen, max_fen=bounds.max_fen,
                                                rule=bounds.rule.as_dict())


def _ensure_may_collect(actor: Actor) -> None:
    access.ensure(actor, "contribution", "collect")


def credit(ctx: Context, *, actor: Actor, person_id: str, period: str, base_fen: int,
           employer_id: str | None = None) -> dict:
    """Record one collected month's contribution and credit the personal account by the region's allocation rule."""
    first = parse_period(period)
    check_base(base_fen)
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        response, _ = credit_in(ctx, uow, Books(uow, ctx.now()), actor=actor, person=person, period=period,
                                first=first, base_fen=base_fen, employer_id=employer_id)
        uow.commit()
        return response


def credit_in(ctx: Context, uow: UnitOfWork, books: Books, *, actor: Actor, person: Person, period: str,
              first: dt.date, base_fen: int, employer_id: str | None) -> tuple[dict, bool]:
    """Credit one contribution inside the caller's unit of work; (the answer, whether it was a repeat)."""
    _ensure_may_collect(actor)
    enrollment = enrollment_for(uow, person.id, first, employer_id)
    check_month(period=period, first=first, today=ctx.today(), standing=life_events.standing(uow, person.id))
    if enrollment is None:
        raise errors.ContributionNotEnrolled(period=period)
    check_bounds(ctx, region=person.region, scheme=enrollment.scheme, flexible=enrollment.flexible, first=first,
                 base_fen=base_fen)
    # One contribution per person, month and payer: the natural key makes a re-sent row harmless.
    once = Once(uow, scope=SCOPE, key=contribution_key(person.id, period, employer_id),
                request=contribution_request(person.id, period, base_fen, employer_id), now=ctx.now())
    if once.earlier is not None:
        _collect_declaration(ctx, uow, actor, person.id, period, employer_id, once.earlier)
        return once.earlier, True
    allocation = ctx.policy.personal_account_allocation(
        region=person.region, scheme=enrollment.scheme, flexible=enrollment.flexible,
        birth_date=person.birth_date, period=first, base_fen=base_fen)
    account_id, clearing = acct.personal(person.id), acct.contribution_clearing(person.region)
    entry_id, balance = None, 0
    if allocation.amount_fen > 0:
        books.open(account_id, AccountKind.PERSONAL, person.region, person_id=person.id)
        books.open(clearing, AccountKind.CONTRIBUTION_CLEARING, person.region)
        entry = books.post(EntryKind.CONTRIBUTION, [
            Posting(account_id, allocation.amount_fen, Bucket.CURRENT_YEAR),
            Posting(clearing, -allocation.amount_fen),
        ], memo=f"{period} 缴费划入", details={"period": period, "base_fen": base_fen,
                                             "employer_id": employer_id, "rule": allocation.rule.as_dict()})
        entry_id, balance = entry.id, books.account(account_id).posted_fen
    elif account := books.repo.accounts([account_id]).get(account_id):
        balance = account.posted_fen
    response = once.remember({
        "contribution_id": entry_id, "person_id": person.id, "period": period, "base_fen": base_fen,
        "employer_id": employer_id, "credited_fen": allocation.amount_fen, "balance_fen": balance,
        "rule": allocation.rule.as_dict(), "explanation_zh": allocation.explanation_zh,
        "explanation_en": allocation.explanation_en,
    })
    _collect_declaration(ctx, uow, actor, person.id, period, employer_id, response)
    return response, False


def _collect_declaration(ctx: Context, uow: UnitOfWork, actor: Actor, person_id: str, period: str,
                         employer_id: str | None, response: dict) -> None:
    """A pending declaration of the month credited is collected by it: the arrears end with the payment."""
    found = uow.one_by(Declaration, person_id=person_id, period=period, payer=payer_key(employer_id))
    if found is not None and found.pending:
        found.collect(at=ctx.now(), by=actor.username, contribution_id=response["contribution_id"],
                      credited_fen=response["credited_fen"])
        ctx.audit(uow, actor, "contribution.collected", "contribution_declaration", found.id,
                  period=period, credited_fen=response["credited_fen"])
