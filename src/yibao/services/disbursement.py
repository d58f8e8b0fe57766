"""Disbursement (拨付, R21): approved applications go to the bank as payment files, one file per bank; the
bank's return file settles each line.

Making a batch holds each application's amount on the person's account (so it cannot be spent meanwhile)
and moves the application to `disbursing`; a line the bank marks paid captures the hold into an entry
(the account pays the bank clearing account), a failed line voids it and the amount is available again.
Both files are CSV: a header, one row per line, and a trailer with the count, the total and the SHA-256 of
everything above it, so a file cut short or altered is refused whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field

import sqlalchemy as sa

from yibao.domain import errors
from yibao.domain.applications import Application, ApplicationStatus
from yibao.domain.ids import new_id
from yibao.domain.registry import Person
from yibao.domain.users import AGENCY_STAFF, REVIEW_STAFF, Actor, Role
from yibao.ledger import accounts as acct
from yibao.ledger.accounts import AccountKind
from yibao.services import access, cash_vouchers, life_events
from yibao.services.applications import (
    available_fen,
    expected_arrival,
    is_death_case,
    primary_bank_account,
    record_step,
)
from yibao.services.books import Books
from yibao.services.context import Context
from yibao.store.tables import disbursement_batches, disbursement_lines
from yibao.store.uow import UnitOfWork

S = ApplicationStatus
PAYMENT_HEADER = ["line_no", "application_id", "payee_name", "account_no", "bank_name", "amount_fen", "fee_fen",
                  "purpose"]
RETURN_HEADER = ["line_no", "application_id", "amount_fen", "result", "reason"]
TRAILER = "TRAILER"
PURPOSE = {"withdrawal": "医保个人账户支取", "reimbursement": "医保零星报销"}


@dataclass
class Batch:
    batch_id: str
    bank_name: str
    file_name: str
    sha256: str
    file: str
    line_count: int
    total_fen: int
    status: str
    lines: list[dict] = field(default_factory=list)


def _trailed(rows: list[list], amount_column: int) -> str:
    """The CSV text of the rows and their trailer: count, total and the SHA-256 of the text above it."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    body = out.getvalue()
    total = sum(int(r[amount_column]) for r in rows[1:])
    return body + f"{TRAILER},{len(rows) - 1},{total},{hashlib.sha256(body.encode()).hexdigest()}\n"


def _parse(text: str, header: list[str]) -> list[dict]:
    """The rows of a file in either format, its trailer checked; anything wrong refuses the whole file."""
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    if len(lines) < 2 or not lines[-1].startswith(TRAILER + ","):
        raise _bad("缺少尾行（TRAILER,笔数,金额,校验值）", "the trailer line (TRAILER,count,total,sha256) is missing")
    body = "\n".join(lines[:-1]) + "\n"
    parts = lines[-1].split(",")
    if len(parts) != 4 or hashlib.sha256(body.encode()).hexdigest() != parts[3].strip().lower():
        raise _bad("校验值不符：文件不完整或被改动", "the checksum does not match: the file is incomplete or altered")
    reader = csv.reader(io.StringIO(body))
    if next(reader, None) != header:
        raise _bad(f"表头须为 {','.join(header)}", f"the header is {','.join(header)}")
    rows = []
    for n, values in enumerate(reader, start=2):
        if len(values) != len(header):
            raise _bad(f"第 {n} 行应有 {len(header)} 列", f"line {n} has {len(values)} fields, not {len(header)}")
        rows.append(dict(zip(header, values, strict=True)))
    try:
        count, total = int(parts[1]), int(parts[2])
        amounts = sum(int(r["amount_fen"]) for r in rows)
    except (TypeError, ValueError):
        raise _bad("笔数或金额不是整数", "a count or an amount is not a whole number") from None
    if count != len(rows) or total != amounts:
        raise _bad(f"尾行笔数/金额（{count}/{total}）与明细（{len(rows)}/{amounts}）不符",
                   f"the trailer says {count} lines and {total} fen; the lines are {len(rows)} and {amounts}")
    return rows


def _bad(zh: str, en: str) -> errors.ReturnFileInvalid:
    return errors.ReturnFileInvalid(reason_zh=zh, reason_en=en)


def _view(row, lines: list) -> Batch:
    return Batch(row.id, row.bank_name, row.file_name, row.sha256, row.content, row.line_count, row.total_fen,
                 row.status,
                 [line._asdict() for line in lines])


def _lines(uow: UnitOfWork, batch_id: str) -> list:
    return uow.session.execute(sa.select(disbursement_lines).where(disbursement_lines.c.batch_id == batch_id)
                               .order_by(disbursement_lines.c.line_no)).all()


# --- making the payment files ----------------------------------------------------------------------------


def make_batches(ctx: Context, *, actor: Actor, bank_name: str | None = None) -> tuple[list[Batch], list[dict]]:
    """A payment file per bank for every approved application (or those of one bank); returns the batches and
    the applications left for later, with why (no bank account, or the balance no longer covers them)."""
    access.require(actor, *REVIEW_STAFF)
    now, today = ctx.now(), ctx.today()
    with ctx.uow() as uow:
        approved = list(uow.session.scalars(
            sa.select(Application).where(Application.status == S.APPROVED.value)
            .order_by(Application.updated_at, Application.id).with_for_update()))
        books, per_bank, skipped = Books(uow, now), {}, []
        for app in approved:
            bank = primary_bank_account(uow, app.applicant_id)
            if bank is None:
                skipped.append({"application_id": app.id, "code": errors.BankAccountMissing.code})
                continue
            if bank_name and bank.bank_name != bank_name:
                continue
            if available_fen(uow, app.person_id) < (app.approved_fen or 0):
                skipped.append({"application_id": app.id, "code": "balance.insufficient"})
                continue
            per_bank.setdefault(bank.bank_name, []).append((app, bank))
        if not per_bank:
            raise errors.BatchEmpty(skipped=skipped)
        made = []
        for name, members in sorted(per_bank.items()):
            made.append(_batch(ctx, uow, actor, books, name, members, today, now))
        uow.commit()
        return made, skipped


def _batch(ctx: Context, uow: UnitOfWork, actor: Actor, books: Books, bank_name: str, members: list, today: dt.date,
           now: dt.datetime) -> Batch:
    batch_id = new_id("bat")
    rows, lines = [PAYMENT_HEADER], []
    expires = now + dt.timedelta(days=ctx.settings.disbursement_hold_days)
    for n, (app, bank) in enumerate(members, start=1):
        person = uow.get(Person, app.person_id)
        books.open(acct.bank_clearing(person.region), AccountKind.BANK_CLEARING, person.region)
        hold = books.reserve(acct.personal(app.person_id), acct.bank_clearing(person.region), app.approved_fen,
                             expires_at=expires, purpose=f"disbursement {app.id}")
        arrival = expected_arrival(ctx, person, app, bank_name, today) or today
        rows.append([n, app.id, bank.holder_name, bank.account_no, bank_name, app.payout_fen, app.fee_fen,
                     PURPOSE[app.kind]])
        lines.append({"batch_id": batch_id, "line_no": n, "application_id": app.id, "hold_id": hold.id,
                      "payee_name": bank.holder_name, "account_no": bank.account_no, "amount_fen": app.payout_fen,
                      "fee_fen": app.fee_fen, "status": "pending", "reason": None, "expected_arrival_date": arrival})
        app.details = {**app.details, "expected_arrival_date": arrival.isoformat(), "batch_id": batch_id}
        record_step(ctx, uow, actor, app, "disburse", *app.apply("disburse", now),
                    data={"batch_id": batch_id, "line_no": n, "expected_arrival_date": arrival.isoformat()})
    content = _trailed(rows, amount_column=5)
    row = {"id": batch_id, "bank_name": bank_name, "business_date": today,
           "file_name": f"{today:%Y%m%d}-{batch_id}.csv", "content": content,
           "sha256": hashlib.sha256(content.encode()).hexdigest(), "line_count": len(lines),
           "total_fen": sum(line["amount_fen"] for line in lines), "status": "sent", "created_at": now,
           "created_by": actor.username, "returned_at": None}
    books.flush()
    uow.session.execute(disbursement_batches.insert(), [row])
    uow.session.execute(disbursement_lines.insert(), lines)
    ctx.audit(uow, actor, "disbursement.batch", "disbursement_batch", batch_id, bank_name=bank_name,
              lines=len(lines), total_fen=row["total_fen"], sha256=row["sha256"])
    return Batch(batch_id, bank_name, row["file_name"], row["sha256"], content, len(lines), row["total_fen"], "sent",
                 lines)


def get_batch(ctx: Context, *, actor: Actor, batch_id: str) -> Batch:
    access.require(actor, *REVIEW_STAFF, Role.AUDITOR)
    with ctx.uow() as uow:
        row = uow.session.execute(sa.select(disbursement_batches).where(disbursement_batches.c.id == batch_id)).first()
        if row is None:
            raise errors.BatchNotFound()
        return _view(row, _lines(uow, batch_id))


def return_file_for(batch: Batch, failed: dict[int, str] | None = None) -> str:
    """A return file as the bank sends it: every line paid, except those named with the bank's reason."""
    failed = failed or {}
    rows = [RETURN_HEADER] + [[line["line_no"], line["application_id"], line["amount_fen"],
                               "failed" if line["line_no"] in failed else "paid", failed.get(line["line_no"], "")]
                              for line in batch.lines]
    return _trailed(rows, amount_column=2)


# --- the bank's return file -----------------------------------------------------------------------------


def apply_returns(ctx: Context, *, actor: Actor, batch_id: str, content: str | None = None,
                  rows: list[dict] | None = None) -> Batch:
    """Settle each line the return file (or its rows, already read) names: paid captures the hold, failed voids
    it. Sending the same file again changes nothing; a line already settled the other way refuses the file."""
    access.require(actor, *REVIEW_STAFF)
    if rows is None:
        rows = _parse(content or "", RETURN_HEADER)
    now = ctx.now()
    with ctx.uow() as uow:
        batch = uow.session.execute(sa.select(disbursement_batches).where(disbursement_batches.c.id == batch_id)
                                    .with_for_update()).first()
        if batch is None:
            raise errors.BatchNotFound()
        lines = {line.line_no: line for line in _lines(uow, batch_id)}
        books = Books(uow, now)
        for row in rows:
            _settle_line(ctx, uow, actor, books, lines, row, now)
        books.flush()
        open_lines = uow.session.scalar(sa.select(sa.func.count()).select_from(disbursement_lines).where(
            disbursement_lines.c.batch_id == batch_id, disbursement_lines.c.status == "pending"))
        if open_lines == 0 and batch.status == "sent":
            uow.session.execute(disbursement_batches.update().where(disbursement_batches.c.id == batch_id)
                                .values(status="returned", returned_at=now))
        ctx.audit(uow, actor, "disbursement.returns", "disbursement_batch", batch_id, lines=len(rows),
                  paid=sum(r["result"] == "paid" for r in rows), failed=sum(r["result"] == "failed" for r in rows))
        uow.commit()
        row = uow.session.execute(sa.select(disbursement_batches).where(disbursement_batches.c.id == batch_id)).first()
        return _view(row, _lines(uow, batch_id))


def _settle_line(ctx: Context, uow: UnitOfWork, actor: Actor, books: Books, lines: dict, row: dict,
                 now: dt.datetime) -> None:
    try:
        line = lines[int(row["line_no"])]
    except (KeyError, ValueError):
        raise _bad(f"批次中没有第 {row['line_no']} 笔", f"the batch has no line {row['line_no']}") from None
    if row["application_id"] != line.application_id or int(row["amount_fen"]) != line.amount_fen:
        raise _bad(f"第 {line.line_no} 笔的申请号或金额与付款文件不符",
                   f"line {line.line_no} names another application or amount than the payment file")
    result = row["result"].strip()
    if result not in ("paid", "failed"):
        raise _bad(f"第 {line.line_no} 笔结果须为 paid 或 failed", f"the result of line {line.line_no} is paid or failed")
    if line.status != "pending":
        if line.status != result:
            raise _bad(f"第 {line.line_no} 笔已记为 {line.status}", f"line {line.line_no} was already {line.status}")
        return  # the same file again
    app = uow.get(Application, line.application_id, for_update=True)
    reason = (row.get("reason") or "").strip()
    if result == "paid":
        entry = books.capture(line.hold_id, memo=f"disbursement {app.id}")
        data = {"entry_id": entry.id, "paid_fen": line.amount_fen, "account_tail": line.account_no[-4:],
                "batch_id": line.batch_id}
        record_step(ctx, uow, actor, app, "paid", *app.apply("paid", now), data=data)
        if is_death_case(app.kind, app.reason):  # the heirs have the whole balance: the account closes
            life_events.close_account(ctx, uow, actor, person_id=app.person_id, application_id=app.id)
    else:
        books.void(line.hold_id)
        app.details = {**app.details, "bank_reason": reason}
        record_step(ctx, uow, actor, app, "fail", *app.apply("fail", now), note=reason,
                    data={"bank_reason": reason, "batch_id": line.batch_id})
    uow.session.execute(disbursement_lines.update().where(
        disbursement_lines.c.batch_id == line.batch_id, disbursement_lines.c.line_no == line.line_no)
        .values(status=result, reason=reason or None))


def retry(ctx: Context, *, actor: Actor, application_id: str) -> Application:
    """A failed payout goes back to approved (after the bank account is fixed), for the next batch; a cash
    payout gets a new voucher at once."""
    with ctx.uow() as uow:
        app = uow.get(Application, application_id, for_update=True)
        if app is None:
            raise errors.ApplicationNotFound()
        if not (actor.role in AGENCY_STAFF or (actor.person_id and actor.person_id == app.applicant_id)):
            raise errors.AccessForbidden()
        if app.payout == "cash_voucher":  # a new voucher with a new code; one run out unused fails first
            cash_vouchers.lapse_if_due(ctx, uow, actor, app)
            record_step(ctx, uow, actor, app, "retry", *app.apply("retry", ctx.now()))
            books = Books(uow, ctx.now())
            cash_vouchers.place(ctx, uow, actor, books, app)
            books.flush()
            uow.commit()
            return app
        if app.status == S.FAILED and primary_bank_account(uow, app.applicant_id) is None:
            raise errors.BankAccountMissing(applicant_id=app.applicant_id)
        record_step(ctx, uow, actor, app, "retry", *app.apply("retry", ctx.now()))
        uow.commit()
        return app

