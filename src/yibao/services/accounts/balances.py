"""Personal accounts (个人账户, R8, R9): balances, statements, open holds, and the year-end carry-over."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import Account, Bucket
from yibao.ledger.entries import Entry, EntryKind, Posting
from yibao.ledger.holds import UNTIL_SETTLED, Hold
from yibao.services import access
from yibao.services.accounts.books import Books
from yibao.services.context import Context
from yibao.services.idempotency import Once
from yibao.services.ports import UnitOfWork

STATEMENT_MAX_LINES = 5000


@dataclass
class AccountView:
    person_id: str
    region: str
    balance_fen: int
    held_fen: int
    available_fen: int
    current_year_fen: int
    carried_over_fen: int
    holds: list[dict]  # open holds, as hold_view gives them


@dataclass
class StatementLine:
    entry_id: str
    kind: str
    at: dt.datetime
    business_date: dt.date
    memo: str
    amount_fen: int
    current_year_fen: int
    balance_after_fen: int
    reverses_id: str | None
    details: dict


@dataclass
class Statement:
    person_id: str
    date_from: dt.date | None
    date_to: dt.date | None
    opening_balance_fen: int
    closing_balance_fen: int
    lines: list[StatementLine]


def _person(uow: UnitOfWork, person_id: str) -> Person:
    person = uow.get(Person, person_id)
    if person is None:
        raise errors.PersonNotFound()
    return person


def get_account(ctx: Context, *, actor: Actor, person_id: str) -> AccountView:
    """Balance, what holds keep back, and the current-year and carried-over parts."""
    with ctx.uow() as uow:
        person = _person(uow, person_id)
        access.ensure_can_read_owned(uow, actor, person_id)
        repo = uow.ledger
        account = repo.accounts([acct.personal(person_id)]).get(acct.personal(person_id))
        if account is None:  # nothing credited yet: the account opens with its first entry
            return AccountView(person_id, person.region, 0, 0, 0, 0, 0, [])
        now = ctx.now()
        live = [h for h in repo.pending_holds(account.id) if not h.is_expired(now)]
        held = sum(h.amount_fen for h in live)
        return AccountView(person_id, account.region, account.posted_fen, held, account.posted_fen - held,
                           account.current_year_fen, account.carried_over_fen, [hold_view(h) for h in live])


def statement(ctx: Context, *, actor: Actor, person_id: str, date_from: dt.date | None = None,
              date_to: dt.date | None = None) -> Statement:
    """Every entry on the account in the period, oldest first, with the balance after each (R9)."""
    if date_from and date_to and date_from > date_to:
        raise errors.RequestInvalid(summary="from must not be after to")
    with ctx.uow() as uow:
        _person(uow, person_id)
        access.ensure_can_read_owned(uow, actor, person_id)
        opening, rows = uow.ledger.account_lines(acct.personal(person_id), date_from=date_from,
                                                 date_to=date_to, limit=STATEMENT_MAX_LINES + 1)
    if len(rows) > STATEMENT_MAX_LINES:  # a cut statement would end on a wrong closing balance
        raise errors.StatementTooLong(max_lines=STATEMENT_MAX_LINES)
    balance, lines = opening, []
    for row in rows:
        balance += row.amount_fen
        lines.append(StatementLine(row.id, row.kind, row.at, row.business_date, row.memo, row.amount_fen,
                                   row.current_year_fen, balance, row.reverses_id, row.details))
    return Statement(person_id, date_from, date_to, opening, balance, lines)


# --- holds (two-phase): placed only by the services that pay out (settlement, payouts) ------


def hold_view(hold: Hold, entry: Entry | None = None) -> dict:
    return {"hold_id": hold.id, "account_id": hold.account_id, "amount_fen": hold.amount_fen,
            "captured_fen": hold.captured_fen, "status": str(hold.status), "purpose": hold.purpose,
            "expires_at": None if hold.expires_at >= UNTIL_SETTLED else hold.expires_at.isoformat(),
            "entry_id": entry.id if entry else hold.entry_id}


def expire_holds(ctx: Context) -> int:
    """Release every hold whose time is up (the job; reads and writers also expire holds they meet)."""
    released = 0
    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        for account_id in books.repo.accounts_with_expired_holds(ctx.now()):
            released += len(books.expire_holds(books.account(account_id)))
        uow.commit()
    return released


# --- the turn of the year (corrections: services.corrections) ---------------------------


def year_end(ctx: Context, *, year: int, batch: int = 500) -> int:
    """Move each account's current-year part (当年) to carried over (历年); re-running moves nothing twice."""
    if ctx.today() <= dt.date(year, 12, 31):
        raise errors.YearEndNotDue(year=year)
    moved, after = 0, ""
    while True:
        with ctx.uow() as uow:
            books = Books(uow, ctx.now())
            ids = books.repo.personal_accounts_with_current_year(after_id=after, limit=batch)
            if not ids:
                return moved
            for account_id in ids:
                moved += _carry_over(uow, books, account_id, year, ctx.now())
            after = ids[-1]
            uow.commit()


def _carry_over(uow: UnitOfWork, books: Books, account_id: str, year: int, now: dt.datetime) -> int:
    once = Once(uow, scope="year_end", key=f"{year}:{account_id}", request={"year": year}, now=now)
    if once.earlier is not None:
        return 0
    account: Account = books.account(account_id)
    # Only this year's money moves: credits of the new year that arrived before the job stay current.
    amount = max(0, account.current_year_fen - books.repo.current_credits_after(account_id, dt.date(year, 12, 31)))
    if amount:
        books.post(EntryKind.YEAR_END, [Posting(account_id, -amount, Bucket.CURRENT_YEAR),
                                        Posting(account_id, amount, Bucket.CARRIED_OVER)],
                   memo=f"{year} 年度结转", details={"year": year})
    once.remember({"moved_fen": amount})
    return 1 if amount else 0
