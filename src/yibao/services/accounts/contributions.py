"""Contributions (缴费, R3): each collected month's payment credits the personal account by the region's rule (划入).

Only collection credits (征缴到账): the collector (tax office or bank channel), an administrator and the
crediting job's file. A unit or a flexible worker declares instead (services.collection), and the declaration
credits through this same path once the collector confirms it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.audit import AuditRecord
from yibao.domain.collection import Declaration, payer_key
from yibao.domain.ids import new_id
from yibao.domain.registry import Enrollment, EnrollmentStatus, Person
from yibao.domain.users import Actor
from yibao.ledger import accounts as acct
from yibao.ledger import seals
from yibao.ledger.accounts import AccountKind
from yibao.ledger.entries import EntryKind
from yibao.policy.crediting import (
    CreditDecision,
    Found,
    check_base,
    contribution_key,
    decide_credit,
    month_end,
    parse_period,
)
from yibao.policy.interface import Allocation
from yibao.services import access
from yibao.services.accounts.books import Books
from yibao.services.context import Context
from yibao.services.idempotency import Once, request_hash
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events

SCOPE = "contribution"  # the idempotency scope of credited months


def enrollment_for(uow: UnitOfWork, person_id: str, first: dt.date, employer_id: str | None) -> Enrollment | None:
    """The person's active enrolment that covers the month (through that unit, where one is named)."""
    last = month_end(first)
    for e in uow.all_by(Enrollment, "start_date", person_id=person_id, status=EnrollmentStatus.ACTIVE):
        covers = e.start_date <= last and (e.end_date is None or e.end_date >= first)
        if covers and (employer_id is None or e.employer_id == employer_id):
            return e
    return None


def found_for(uow: UnitOfWork, person: Person, first: dt.date, employer_id: str | None) -> Found:
    """What the store holds for the person's month: the covering enrolment and the person's standing."""
    enrollment = enrollment_for(uow, person.id, first, employer_id)
    return Found(person.id, person.region, person.birth_date, life_events.standing(uow, person.id),
                 employer_id=employer_id, scheme=enrollment.scheme if enrollment else None,
                 flexible=enrollment.flexible if enrollment else False)


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
    decision = decide_credit(found_for(uow, person, first, employer_id), period=period, first=first,
                             base_fen=base_fen, today=ctx.today(), policy=ctx.policy)
    # One contribution per person, month and payer: the natural key makes a re-sent row harmless.
    once = Once(uow, scope=SCOPE, key=decision.key, request=decision.request, now=ctx.now())
    if once.earlier is not None:
        _collect_declaration(ctx, uow, actor, person.id, period, employer_id, once.earlier)
        return once.earlier, True
    allocation = decision.allocate(ctx.policy)
    entry_id, balance = None, 0
    if allocation.amount_fen > 0:
        books.open(decision.account_id, AccountKind.PERSONAL, person.region, person_id=person.id)
        books.open(decision.clearing_id, AccountKind.CONTRIBUTION_CLEARING, person.region)
        postings, memo, details = decision.entry(allocation)
        entry = books.post(EntryKind.CONTRIBUTION, postings, memo=memo, details=details)
        entry_id, balance = entry.id, books.account(decision.account_id).posted_fen
    elif account := books.repo.accounts([decision.account_id]).get(decision.account_id):
        balance = account.posted_fen
    response = once.remember(decision.answer(allocation, entry_id=entry_id, balance_fen=balance))
    _collect_declaration(ctx, uow, actor, person.id, period, employer_id, response)
    return response, False


@dataclass(frozen=True)
class FileRow:
    """One row of a crediting file as the file alone tells it (a bad unit code is reported only if the
    person is found, as on the per-row path)."""

    line: int
    id_number: str
    base_fen: int
    employer_uscc: str | None = None
    uscc_error: errors.DomainError | None = None


@dataclass
class Credited:
    """What became of one file row: refused, a repeat of a month credited before, or credited."""

    error: errors.DomainError | None = None
    repeated: bool = False
    credited_fen: int = 0


@dataclass
class _Claim:
    row: FileRow
    decision: CreditDecision
    request_hash: str
    result: Credited
    allocation: Allocation | None = None


def credit_batch(ctx: Context, *, actor: Actor, period: str, first: dt.date, rows: list[FileRow]) -> dict[int, Credited]:
    """Credit a batch of file rows in one unit of work, deciding each as credit_in decides it: the store's facts
    are found, keys claimed and answers kept a batch at a time (set-based where the store can), every entry
    posted at once; by line."""
    _ensure_may_collect(actor)
    results = {row.line: Credited() for row in rows}
    today = ctx.today()
    with ctx.uow() as uow:
        found = uow.contributions.found_rows([(r.line, r.id_number, r.employer_uscc) for r in rows], scope=SCOPE,
                                             period=period, first=first, last=month_end(first))
        claims: list[_Claim] = []
        seen: dict[str, str] = {}  # key -> request hash, of rows credited earlier in this batch
        for row in rows:
            result, f = results[row.line], found[row.line]
            try:
                if f.found is None:
                    raise errors.PersonNotFound()
                if row.uscc_error is not None:
                    raise row.uscc_error
                if row.employer_uscc and f.found.employer_id is None:
                    raise errors.EmployerNotFound()
                decision = decide_credit(f.found, period=period, first=first, base_fen=row.base_fen, today=today,
                                         policy=ctx.policy)
                digest = request_hash(decision.request)
                earlier = seen.get(decision.key, f.earlier_hash)
                if earlier is not None:
                    if earlier != digest:
                        raise errors.IdempotencyConflict()
                    result.repeated = True
                    continue
                claim = _Claim(row, decision, digest, result)
                claim.allocation = decision.allocate(ctx.policy)
            except errors.DomainError as exc:
                result.error = exc
                continue
            seen[decision.key] = digest
            claims.append(claim)

        claimed = uow.contributions.claim_keys(scope=SCOPE, keys={c.decision.key: c.request_hash for c in claims},
                                               now=ctx.now())
        if len(claimed) < len(claims):  # a concurrent run holds some keys: theirs, as on the per-row path
            held = uow.contributions.claimed_with(scope=SCOPE, keys=[c.decision.key for c in claims
                                                                     if c.decision.key not in claimed])
            for c in claims:
                if c.decision.key not in claimed:
                    if held[c.decision.key] != c.request_hash:
                        c.result.error = errors.IdempotencyConflict()
                    else:
                        c.result.repeated = True
            claims = [c for c in claims if c.decision.key in claimed]
        responses = _post_credits(ctx, uow, claims)
        uow.contributions.answer(scope=SCOPE, responses=responses)
        if responses:  # the batch's answers, sealed by one audit record
            uow.audit(AuditRecord(at=ctx.now(), actor=actor.username, action="idempotency.answer",
                                  entity="idempotency", entity_id=new_id("ans"), details={"seals": [
                                      seals.answer_seal(SCOPE, c.decision.key, c.request_hash,
                                                        responses[c.decision.key]) for c in claims]}))
        _collect_credited(ctx, uow, actor=actor, period=period, credited=responses)
        uow.commit()
    return results


def _post_credits(ctx: Context, uow: UnitOfWork, claims: list[_Claim]) -> dict[str, dict]:
    """Open and credit the personal accounts (one entry per row, in file order) through the ledger writer;
    the answer each key keeps, with the balance right after its own entry as credit_in gives it."""
    books = Books(uow, ctx.now())
    rules = {c.allocation.rule: c.allocation.rule.as_dict() for c in claims}  # a file cites few rules
    paying = [c for c in claims if c.allocation.amount_fen > 0]
    books.open_many([(acct.contribution_clearing(r), AccountKind.CONTRIBUTION_CLEARING, r, {})
                     for r in sorted({c.decision.found.region for c in paying})]
                    + [(c.decision.account_id, AccountKind.PERSONAL, c.decision.found.region,
                        {"person_id": c.decision.found.person_id}) for c in paying])
    balances = {a: account.posted_fen for a, account in books.lock(c.decision.account_id for c in paying).items()}
    unpaid = {c.decision.account_id for c in claims} - balances.keys()
    balances |= {a: account.posted_fen for a, account in books.repo.accounts(unpaid).items()}
    entries = iter(books.post_many(EntryKind.CONTRIBUTION, [
        c.decision.entry(c.allocation, rules[c.allocation.rule]) for c in paying]))
    responses = {}
    for c in claims:
        account_id, amount = c.decision.account_id, c.allocation.amount_fen
        entry_id = next(entries).id if amount > 0 else None
        balances[account_id] = balances.get(account_id, 0) + amount
        c.result.credited_fen = amount
        responses[c.decision.key] = c.decision.answer(c.allocation, entry_id=entry_id,
                                                      balance_fen=balances[account_id],
                                                      rule=rules[c.allocation.rule])
    return responses


def _collect_credited(ctx: Context, uow: UnitOfWork, *, actor: Actor, period: str, credited: dict[str, dict]) -> None:
    """After a batch credited months (natural key -> answer), the pending declarations of those months are
    collected, as credit_in collects each one."""
    if not credited:
        return
    for declaration in uow.contributions.pending_declarations(period=period):
        answer = credited.get(contribution_key(declaration.person_id, period, declaration.employer_id))
        if answer is not None:
            _collect(ctx, uow, actor, declaration, period, answer)


def _collect_declaration(ctx: Context, uow: UnitOfWork, actor: Actor, person_id: str, period: str,
                         employer_id: str | None, response: dict) -> None:
    """A pending declaration of the month credited is collected by it: the arrears end with the payment."""
    found = uow.one_by(Declaration, person_id=person_id, period=period, payer=payer_key(employer_id))
    if found is not None and found.pending:
        _collect(ctx, uow, actor, found, period, response)


def _collect(ctx: Context, uow: UnitOfWork, actor: Actor, declaration: Declaration, period: str,
             response: dict) -> None:
    declaration.collect(at=ctx.now(), by=actor.username, contribution_id=response["contribution_id"],
                        credited_fen=response["credited_fen"])
    ctx.audit(uow, actor, "contribution.collected", "contribution_declaration", declaration.id,
              period=period, credited_fen=response["credited_fen"])
