"""An application's vouchers (凭证, R9): its approval, its bank payment, its cash voucher (取现凭证) and the cash
redemption, each a Chinese PDF with a verification code that GET /vouchers/{code} confirms.

A voucher states the facts of a step already taken (from the application's history or its cash voucher), so it
can be issued at the step or later with the same content. The approval, the cash voucher and the redemption
are issued in the step's own unit of work (one person's step, one small PDF); a bank payment is issued the
first time it is asked for, since a return file settles thousands of lines at once and rendering each inside
that transaction would hold the batch for minutes. The rendered PDF is kept by its SHA-256 under the data
directory, so a reprint is the same document with the same code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from yibao.domain import application_texts as texts
from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.applications import Application, ApplicationStep, CashVoucher, KeptVoucher
from yibao.domain.masking import mask_id_number
from yibao.domain.money import yuan
from yibao.domain.regions import region_name
from yibao.domain.registry import Institution, Person
from yibao.domain.users import READ_ALL, Actor
from yibao.services import access, blobs, vouchers
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
TITLES = texts.VOUCHER_TITLES
KINDS = tuple(TITLES)
REASONS = {"withdrawal": v.WithdrawalReason, "reimbursement": v.ReimbursementReason}
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


@dataclass
class Issued:
    kind: str
    code: str  # as printed: groups of four
    issued_at: dt.datetime
    sha256: str
    subject: dict


@dataclass
class Listed:
    kind: str
    title_zh: str
    title_en: str
    issued: Issued | None  # None: the step happened, the voucher is issued when first asked for


def store_dir(ctx: Context) -> Path:
    return Path(ctx.settings.data_dir) / "vouchers"


def qr_svg(code: str) -> str:
    """The code as a QR image (SVG) for a terminal or counter scanner to read."""
    return segno.make(vouchers.display(code), error="m").svg_inline(scale=4, omitsize=False)


# --- what a voucher states ----------------------------------------------------------------------------------


def _last_step(uow: UnitOfWork, app: Application, action: str) -> ApplicationStep | None:
    steps = uow.all_by(ApplicationStep, "id", application_id=app.id, action=action)
    return steps[-1] if steps else None


def current_cash_voucher(uow: UnitOfWork, application_id: str) -> CashVoucher | None:
    return uow.one_by(CashVoucher, application_id=application_id)


def _subject(uow: UnitOfWork, app: Application, kind: str) -> dict | None:
    """The facts the voucher of this kind states, or None while its step has not happened."""
    base = {"application_id": app.id, "application_kind": app.kind, "reason": app.reason,
            "person_id": app.person_id}
    cash = current_cash_voucher(uow, app.id)
    if kind == "approval":
        step = _last_step(uow, app, "approve")
        if step is None:
            return None
        return {**base, "approved_fen": step.data.get("approved_fen"), "fee_fen": step.data.get("fee_fen", 0),
                "payout_fen": max(0, step.data.get("approved_fen", 0) - step.data.get("fee_fen", 0)),
                "payout": app.payout, "approved_at": step.at.isoformat(), "approved_by": step.actor,
                "rules": step.data.get("rules", []), "expected_arrival_date": step.data.get("expected_arrival_date")}
    if kind == "payment":
        step = _last_step(uow, app, "paid")
        if step is None or "batch_id" not in step.data:
            return None
        return {**base, "paid_fen": step.data["paid_fen"], "account_tail": step.data.get("account_tail"),
                "batch_id": step.data["batch_id"], "entry_id": step.data.get("entry_id"),
                "paid_at": step.at.isoformat()}
    if kind == "cash_voucher":
        if cash is None:
            return None
        return {**base, "amount_fen": cash.amount_fen, "institution_code": cash.institution_code,
                "issued_at": cash.issued_at.isoformat(), "valid_until": cash.valid_until.isoformat()}
    if kind == "redemption":
        if cash is None or cash.redeemed_at is None:
            return None
        step = _last_step(uow, app, "paid")
        return {**base, "amount_fen": cash.amount_fen, "cash_voucher_code": vouchers.display(cash.code),
                "institution_code": cash.redeemed_at_institution, "redeemed_at": cash.redeemed_at.isoformat(),
                "redeemed_by": cash.redeemed_by, "entry_id": step.data.get("entry_id") if step else None}
    raise errors.VoucherNotIssued(kind=kind[:40])


# --- rendering ----------------------------------------------------------------------------------------------


def _render(uow: UnitOfWork, kind: str, subject: dict, code: str, printed: dt.datetime, holder: Person) -> bytes:
    from weasyprint import HTML  # heavy: loaded only when a PDF is made

    def institution(code_: str | None) -> str:
        found = uow.get(Institution, code_) if code_ else None
        return f"{found.name}（{found.code}）" if found else (code_ or "")

    def when(iso: str | None) -> str:
        return texts.local_minute(dt.datetime.fromisoformat(iso)) if iso else ""

    html = _env.get_template("application_voucher_pdf.html").render(
        kind=kind, title=TITLES[kind], s=subject, holder=holder, masked_id=mask_id_number(holder.id_number),
        region=region_name(holder.region) or holder.region, application_kind=texts.VOUCHER_KIND_LABELS[subject[
            "application_kind"]], reason=v.label(REASONS[subject["application_kind"]], subject["reason"]),
        yuan=yuan, when=when, institution=institution, code=vouchers.display(code),
        qr=qr_svg(code) if kind == "cash_voucher" else None,
        printed=texts.local_minute(printed))
    return HTML(string=html).write_pdf()


def issue(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application, kind: str, *,
          code: str | None = None) -> Issued:
    """Render the voucher of a step taken in this unit of work (or earlier), record its code and keep the PDF.
    The cash voucher's code is the cash voucher's own, so the code that pays also confirms the paper."""
    subject = _subject(uow, app, kind)
    if subject is None:
        raise errors.VoucherNotIssued(kind=kind)
    code, at = code or vouchers.new_code(), ctx.now()
    holder = uow.get(Person, app.applicant_id)
    document = _render(uow, kind, subject, code, at, holder)
    vouchers.record(ctx, uow, actor, code=code, kind=kind, person_id=app.applicant_id, subject=subject,
                    document=document, created_at=at)
    sha256 = _sha256(document)
    blobs.keep(store_dir(ctx), sha256, document)
    return Issued(kind, vouchers.display(code), at, sha256, subject)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _issued(uow: UnitOfWork, app: Application) -> dict[str, KeptVoucher]:
    """The latest voucher of each kind issued for the application (a reissued cash voucher replaces the old)."""
    rows = uow.applications.vouchers_of(app.applicant_id, KINDS)
    return {row.kind: row for row in rows if row.subject.get("application_id") == app.id}


def _as_issued(row: KeptVoucher) -> Issued:
    return Issued(row.kind, vouchers.display(row.code), row.created_at, row.sha256, row.subject)


# --- reading and reprinting ------------------------------------------------------------------------------------


def _readable(uow: UnitOfWork, actor: Actor, application_id: str, *, lock: bool = False) -> Application:
    app = uow.get(Application, application_id, for_update=lock)
    if app is None:
        raise errors.ApplicationNotFound()
    if not (actor.role in READ_ALL or access.is_owner(actor, app.applicant_id)):
        access.ensure_can_read_owned(uow, actor, app.person_id)
    return app


def list_for(ctx: Context, *, actor: Actor, application_id: str) -> list[Listed]:
    """The vouchers the application's steps so far give, issued or still to be issued on first request."""
    with ctx.uow() as uow:
        app = _readable(uow, actor, application_id)
        issued = _issued(uow, app)
        found = []
        for kind in KINDS:
            if kind in issued or _subject(uow, app, kind) is not None:
                row = issued.get(kind)
                found.append(Listed(kind, *TITLES[kind], _as_issued(row) if row else None))
        return found


def pdf(ctx: Context, *, actor: Actor, application_id: str, kind: str) -> tuple[bytes, Issued]:
    """The voucher's PDF: the one kept when it was issued, or issued now if this is its first request."""
    if kind not in KINDS:
        raise errors.VoucherNotIssued(kind=kind[:40])
    with ctx.uow() as uow:
        app = _readable(uow, actor, application_id)
        row = _issued(uow, app).get(kind)
        if row is None:
            app = _readable(uow, actor, application_id, lock=True)  # two first requests issue one voucher
            row = _issued(uow, app).get(kind)
        if row is None:
            made = issue(ctx, uow, actor, app, kind)
            uow.commit()
            return blobs.path(store_dir(ctx), made.sha256).read_bytes(), made
        found = _as_issued(row)
        kept = blobs.path(store_dir(ctx), row.sha256)
        if kept.exists():
            return kept.read_bytes(), found
        # the file is gone (a data directory restored without it): the same facts, code and time again
        document = _render(uow, kind, row.subject, row.code, row.created_at, uow.get(Person, row.person_id))
        blobs.keep(store_dir(ctx), _sha256(document), document)
        return document, found
