"""Disbursement (拨付, R21): approved applications go to the bank as payment files, one file per bank; the
bank's signed return file settles each line.

Making a batch holds each application's amount on the person's account (so it cannot be spent meanwhile)
and moves the application to `disbursing`. The payment file names its batch, a file id of its own and a line
id per line (domain.bank_files), and pays the account fixed at approval (`details["payee"]`). The hold
behind a sent line never lapses and cannot be voided or captured by hand: only the bank's return settles
it, however long the bank takes. A return must carry the bank's signature over its exact bytes (checked with
the bank's public key, services.bank), name this batch, its file and its lines, and be new: a return already
applied, one for another batch or file, or one that would change a line already settled is refused, each
refusal audited in a unit of work of its own (`disbursement.return_refused`) so misuse detection sees it.
A line paid captures the hold into an entry (the account pays the bank clearing account); a line failed
voids it and the amount is available again. From the policy's amount (`disbursement.four_eyes`) the batch
maker neither took the case in nor approved it, and the return is recorded by a fourth person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from yibao.domain import bank_files, errors
from yibao.domain.applications import Application, ApplicationStatus, ApplicationStep
from yibao.domain.disbursement import AppliedReturn, Batch, BatchLine, BatchStatus, LineStatus
from yibao.domain.ids import new_id
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind
from yibao.ledger.holds import UNTIL_SETTLED, HoldStatus
from yibao.policy.engine import four_eyes_from_fen
from yibao.services import access
from yibao.services.accounts.books import Books
from yibao.services.applications import bank, cash_vouchers
from yibao.services.applications.cases import (
    expected_arrival,
    is_death_case,
    primary_bank_account,
    taken_by,
)
from yibao.services.applications.steps import record_step
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events

log = logging.getLogger(__name__)
S = ApplicationStatus
PURPOSE = {"withdrawal": "医保个人账户支取", "reimbursement": "医保零星报销"}
# What refuses a return file; each refusal is audited on its own.
REFUSALS = (errors.ReturnUnsigned, errors.ReturnSignatureInvalid, errors.ReturnFileInvalid, errors.ReturnForeign,
            errors.ReturnReplayed, errors.ReturnLineSettled, errors.FourEyes, errors.BatchNotFound)



def payee(uow: UnitOfWork, app: Application) -> dict | None:
    """The account a bank payout pays: the one fixed at approval; for a case approved before payees were fixed,
    the applicant's primary account."""
    fixed = (app.details or {}).get("payee")
    if fixed:
        return fixed
    found = primary_bank_account(uow, app.applicant_id)
    if found is None:
        return None
    return {"bank_account_id": found.id, "account_no": found.account_no, "bank_name": found.bank_name,
            "holder_name": found.holder_name}


def _case_hands(uow: UnitOfWork, application_id: str) -> set[str]:
    """Who took the case in and who approved it."""
    approvals = uow.all_by(ApplicationStep, application_id=application_id, action="approve")
    return taken_by(uow, application_id) | {step.actor for step in approvals}


def _four_eyes_from(ctx: Context, region: str, kind: str) -> int | None:
    return four_eyes_from_fen(ctx.policy, region=region, kind=kind, day=ctx.today())


# --- making the payment files ----------------------------------------------------------------------------


def make_batches(ctx: Context, *, actor: Actor, bank_name: str | None = None) -> tuple[list[Batch], list[dict]]:
    """A payment file per bank for every approved application (or those of one bank), handed to the bank when
    one is configured; returns the batches and the applications left for later, with why (no bank account,
    the balance no longer covers them, or the maker approved a case that needs four eyes)."""
    access.ensure(actor, "batch", "make")
    now, today = ctx.now(), ctx.today()
    with ctx.uow() as uow:
        approved = uow.disbursements.approved()
        books, per_bank, skipped, planned = Books(uow, now), {}, [], {}
        for app in approved:
            paid_to = payee(uow, app)
            if paid_to is None:
                skipped.append({"application_id": app.id, "code": errors.BankAccountMissing.code})
                continue
            if bank_name and paid_to["bank_name"] != bank_name:
                continue
            person = uow.get(Person, app.person_id)
            amount = app.approved_fen or 0
            from_fen = _four_eyes_from(ctx, person.region, app.kind)
            if from_fen is not None and amount >= from_fen and actor.username in _case_hands(uow, app.id):
                skipped.append({"application_id": app.id, "code": errors.FourEyes.code})
                continue
            if _available(books, app.person_id) - planned.get(app.person_id, 0) < amount:
                skipped.append({"application_id": app.id, "code": errors.BalanceInsufficient.code})
                continue
            planned[app.person_id] = planned.get(app.person_id, 0) + amount
            per_bank.setdefault(paid_to["bank_name"], []).append((app, paid_to, person))
        if not per_bank:
            raise errors.BatchEmpty(skipped=skipped)
        made = []
        for name, members in sorted(per_bank.items()):
            made.append(_batch(ctx, uow, actor, books, name, members, today, now))
        uow.commit()
    for batch in made:
        _hand_over(ctx, batch)
    return made, skipped


def _available(books: Books, person_id: str) -> int:
    """What the account has free now: the live holds counted, lapsed ones released first."""
    account_id = acct.personal(person_id)
    if not books.repo.accounts([account_id]):
        return 0
    account = books.account(account_id)
    books.expire_holds(account)
    return account.available_fen


def _hand_over(ctx: Context, batch: Batch) -> None:
    """Send a payment file to the bank, if one is configured; one the bank cannot take now is sent again when
    its return is fetched (or handed over by hand)."""
    port = bank.port(ctx.settings)
    if port is None:
        return
    try:
        port.send(file_id=batch.file_id, content=batch.file.encode())
    except errors.BankUnavailable:
        log.warning("payment file %s not handed to the bank now; it is sent again with the return's fetch",
                    batch.file_id)


def _batch(ctx: Context, uow: UnitOfWork, actor: Actor, books: Books, bank_name: str, members: list, today: dt.date,
           now: dt.datetime) -> Batch:
    batch_id, file_id = new_id("bat"), new_id("fil")
    lines = []
    for n, (app, paid_to, person) in enumerate(members, start=1):
        books.open(acct.bank_clearing(person.region), AccountKind.BANK_CLEARING, person.region)
        hold = books.reserve(acct.personal(app.person_id), acct.bank_clearing(person.region), app.approved_fen,
                             expires_at=UNTIL_SETTLED, purpose=f"disbursement {app.id}")
        arrival = expected_arrival(ctx, person, app, bank_name, today) or today
        lines.append(BatchLine(batch_id, n, new_id("dln"), app.id, hold.id, paid_to["holder_name"],
                               paid_to["account_no"], app.payout_fen, app.fee_fen, LineStatus.PENDING.value, None,
                               arrival))
        app.details = {**app.details, "expected_arrival_date": arrival.isoformat(), "batch_id": batch_id}
        record_step(ctx, uow, actor, app, "disburse", *app.apply("disburse", now),
                    data={"batch_id": batch_id, "line_no": n, "expected_arrival_date": arrival.isoformat(),
                          "bank_account_id": paid_to.get("bank_account_id")})
    content = bank_files.payment_text(
        batch_id=batch_id, file_id=file_id, bank_name=bank_name, business_date=today.isoformat(),
        lines=[{**line.read(), "bank_name": bank_name, "purpose": PURPOSE[app.kind]}
               for line, (app, _paid_to, _person) in zip(lines, members, strict=True)])
    batch = Batch(batch_id, file_id, bank_name, f"{today:%Y%m%d}-{batch_id}.csv",
                  hashlib.sha256(content.encode()).hexdigest(), content, len(lines),
                  sum(line.amount_fen for line in lines), BatchStatus.SENT.value, [line.read() for line in lines],
                  business_date=today, created_at=now, created_by=actor.username)
    books.flush()
    uow.disbursements.add(batch, lines)
    ctx.audit(uow, actor, "disbursement.batch", "disbursement_batch", batch_id, bank_name=bank_name,
              file_id=file_id, lines=len(lines), total_fen=batch.total_fen, sha256=batch.sha256)
    return batch


BATCH_JOB = "bank_batch"


def submit_batches(ctx: Context, *, actor: Actor, bank_name: str | None = None):
    """Make the bank batches in the background (kind "bank_batch"): the job as recorded, which its page follows.
    Who may make batches is checked now, and again as the job acts for the same actor."""
    from yibao.services.jobs import work

    access.ensure(actor, "batch", "make")
    return work.submit(ctx, actor=actor, kind=BATCH_JOB, payload={"bank_name": bank_name}, total=1,
                       subject_id=bank_name or "all")


def run_job(ctx: Context, job, progress) -> dict:
    """The job's handler: make_batches as the reviewer who asked. Run again (a retry after a crash), it batches
    only what is still waiting, so nothing is paid twice; nothing left to batch is a result, not a failure."""
    try:
        made, skipped = make_batches(ctx, actor=job.acting(), bank_name=job.payload.get("bank_name"))
    except errors.BatchEmpty as exc:
        made, skipped = [], exc.facts.get("skipped", [])
    progress(1, 1)
    return {"batches": len(made), "lines": sum(len(batch.lines) for batch in made), "left": len(skipped),
            "batch_ids": [batch.batch_id for batch in made],
            "skipped": [{"application_id": left["application_id"], "code": left["code"]} for left in skipped]}


def get_batch(ctx: Context, *, actor: Actor, batch_id: str) -> Batch:
    """A batch with its payment file and lines."""
    access.ensure(actor, "batch", "read")
    with ctx.uow() as uow:
        found = uow.disbursements.batch(batch_id)
        if found is None:
            raise errors.BatchNotFound()
        return found


# --- the bank's return file -----------------------------------------------------------------------------


def fetch_returns(ctx: Context, *, actor: Actor, batch_id: str) -> Batch:
    """Fetch the bank's signed return file for a batch from the bank (handing its payment file over again,
    harmlessly, first) and apply it as apply_returns does."""
    access.ensure(actor, "batch", "take_returns")
    port = bank.port(ctx.settings)
    if port is None:
        raise errors.BankUnavailable()
    found = get_batch(ctx, actor=actor, batch_id=batch_id)
    port.send(file_id=found.file_id, content=found.file.encode())
    content = port.fetch_return(file_id=found.file_id)
    if content is None:
        raise errors.ReturnNotReady()
    return apply_returns(ctx, actor=actor, batch_id=batch_id, content=content)


def apply_returns(ctx: Context, *, actor: Actor, batch_id: str, content: bytes) -> Batch:
    """Settle each line the bank's signed return file names: paid captures the hold, failed voids it. Refused
    whole, and audited, when unsigned, not signed by the bank, foreign, replayed or changing a settled line."""
    access.ensure(actor, "batch", "take_returns")
    try:
        signed, signature = bank_files.split_signed(content)
        bank.verify(ctx.settings, signed=signed, signature=signature)
        returned = bank_files.read_return(signed)
        return _apply(ctx, actor, batch_id, returned, content)
    except REFUSALS as refused:
        _refused(ctx, actor, batch_id, refused)
        raise


def _refused(ctx: Context, actor: Actor, batch_id: str, refused: errors.DomainError) -> None:
    with ctx.uow() as uow:
        ctx.audit(uow, actor, "disbursement.return_refused", "disbursement_batch", batch_id[:24], reason=refused.code,
                  **{k: v for k, v in refused.facts.items() if k in ("line_no", "line_status", "applied_at")})
        uow.commit()


def _apply(ctx: Context, actor: Actor, batch_id: str, returned: bank_files.ReturnFile, content: bytes) -> Batch:
    now, digest = ctx.now(), hashlib.sha256(content).hexdigest()
    with ctx.uow() as uow:
        batch = uow.disbursements.batch(batch_id, for_update=True)
        if batch is None:
            raise errors.BatchNotFound()
        if returned.batch_id != batch_id or returned.file_id != batch.file_id:
            raise errors.ReturnForeign()
        applied_at = uow.disbursements.applied_at(return_id=returned.return_id, sha256=digest)
        if applied_at is not None:
            raise errors.ReturnReplayed(applied_at=applied_at.isoformat(), batch_status=batch.status)
        lines = {line.line_no: line for line in uow.disbursements.lines(batch_id)}
        for row in returned.lines:
            _check_line(lines, row)
        _check_four_eyes(ctx, uow, actor, batch, [lines[row["line_no"]] for row in returned.lines])
        books = Books(uow, now)
        for row in returned.lines:
            _settle_line(ctx, uow, actor, books, lines[row["line_no"]], row, now)
        books.flush()
        uow.disbursements.add_return(AppliedReturn(returned.return_id, batch_id, returned.file_id, digest,
                                                   content.decode(), len(returned.lines), now, actor.username))
        batch.close_if_settled(list(lines.values()), now)
        uow.disbursements.save_batch(batch)
        rows = returned.lines
        ctx.audit(uow, actor, "disbursement.returns", "disbursement_batch", batch_id, return_id=returned.return_id,
                  file_id=returned.file_id, sha256=digest, lines=len(rows),
                  paid=sum(r["result"] == LineStatus.PAID for r in rows),
                  failed=sum(r["result"] == LineStatus.FAILED for r in rows))
        uow.commit()
        return uow.disbursements.batch(batch_id)


def _check_line(lines: dict[int, BatchLine], row: dict) -> None:
    line = lines.get(row["line_no"])
    if line is None or row["line_id"] != line.line_id:
        raise errors.ReturnForeign()
    if row["application_id"] != line.application_id or row["amount_fen"] != line.amount_fen:
        raise bank_files.invalid(f"第 {line.line_no} 笔的申请号或金额与付款文件不符",
                                 f"line {line.line_no} names another application or amount than the payment file")
    line.settled_as(row["result"])  # a line the bank settled stays as it settled it: paid is never failed later


def _check_four_eyes(ctx: Context, uow: UnitOfWork, actor: Actor, batch: Batch, lines: list[BatchLine]) -> None:
    """From the policy's amount, the return is recorded by none of who took the case in, approved it or made
    the batch."""
    for line in lines:
        app = uow.get(Application, line.application_id)
        from_fen = _four_eyes_from(ctx, uow.get(Person, app.person_id).region, app.kind)
        if from_fen is None or line.amount_fen + line.fee_fen < from_fen:
            continue
        if actor.username == batch.created_by or actor.username in _case_hands(uow, app.id):
            raise errors.FourEyes(from_fen=from_fen, step_zh="回盘须由受理、审核、制盘以外的人员入账",
                                  step_en="the return is recorded by someone other than who took the case in, "
                                          "approved it or made the batch")


def _live_hold(books: Books, line: BatchLine) -> str:
    """The line's hold; one that lapsed under the former time limit (before sent lines' holds stopped lapsing)
    is placed again, since the bank did pay: the books then show the payment, or refuse if the money is gone."""
    hold = books.repo.hold(line.hold_id)
    if hold is None or hold.status != HoldStatus.EXPIRED:
        return line.hold_id
    renewed = books.reserve(hold.account_id, hold.counter_account_id, hold.amount_fen, expires_at=UNTIL_SETTLED,
                            purpose=hold.purpose)
    line.hold_id = renewed.id
    return renewed.id


def _settle_line(ctx: Context, uow: UnitOfWork, actor: Actor, books: Books, line: BatchLine, row: dict,
                 now: dt.datetime) -> None:
    app = uow.get(Application, line.application_id, for_update=True)
    reason = row["reason"]
    if row["result"] == LineStatus.PAID:
        entry = books.capture(_live_hold(books, line), memo=f"disbursement {app.id}", bank_return=True)
        data = {"entry_id": entry.id, "paid_fen": line.amount_fen, "account_tail": line.account_no[-4:],
                "batch_id": line.batch_id}
        record_step(ctx, uow, actor, app, "paid", *app.apply("paid", now), data=data)
        if is_death_case(app.kind, app.reason):  # the heirs have the whole balance: the account closes
            life_events.close_account(ctx, uow, actor, person_id=app.person_id, application_id=app.id)
    else:
        books.void(line.hold_id, bank_return=True)
        app.details = {**app.details, "bank_reason": reason}
        record_step(ctx, uow, actor, app, "fail", *app.apply("fail", now), note=reason,
                    data={"bank_reason": reason, "batch_id": line.batch_id})
    line.settle(row["result"], reason)
    uow.disbursements.save_line(line)


def retry(ctx: Context, *, actor: Actor, application_id: str) -> Application:
    """A failed payout goes back to approved for the next batch, paid to the account approved; when the person
    has since fixed their bank account, back to review, which approves the new payee. A cash payout gets a new
    voucher at once."""
    with ctx.uow() as uow:
        app = uow.get(Application, application_id, for_update=True)
        if app is None:
            raise errors.ApplicationNotFound()
        access.ensure(actor, "application", "retry", owners=(app.applicant_id,))
        if app.payout == "cash_voucher":  # a new voucher with a new code; one run out unused fails first
            cash_vouchers.lapse_if_due(ctx, uow, actor, app)
            record_step(ctx, uow, actor, app, "retry", *app.apply("retry", ctx.now()))
            books = Books(uow, ctx.now())
            cash_vouchers.place(ctx, uow, actor, books, app)
            books.flush()
            uow.commit()
            return app
        primary = primary_bank_account(uow, app.applicant_id)
        if app.status == S.FAILED and primary is None:
            raise errors.BankAccountMissing(applicant_id=app.applicant_id)
        fixed = (app.details or {}).get("payee")
        if app.status == S.FAILED and fixed and fixed.get("bank_account_id") != primary.id:
            # another account than the one approved: a reviewer approves the new payee first
            record_step(ctx, uow, actor, app, "review_again", *app.apply("review_again", ctx.now()),
                        note="收款账户已变更，须重新审核", data={"bank_account_id": primary.id})
            uow.commit()
            return app
        record_step(ctx, uow, actor, app, "retry", *app.apply("retry", ctx.now()))
        uow.commit()
        return app

