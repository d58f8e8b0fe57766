"""Corrections (冲正) with four eyes: an entry that belongs to a business record is corrected through that record
(a settlement by a refund, a payout by the bank's failed return, a contribution by its correction), never by a
bare reversal; any other entry is reversed only when a second admin approves the first one's request."""

from __future__ import annotations

from yibao.domain import errors
from yibao.domain.ids import new_id
from yibao.domain.settlement import Refund
from yibao.domain.users import Actor
from yibao.ledger.entries import Entry, EntryKind
from yibao.ledger.reversals import ReversalRequest
from yibao.services import access
from yibao.services.accounts.books import Books, reversible
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork

RECORD_KINDS = {"settlement": "结算", "refund": "退费", "payout": "拨付", "contribution": "缴费划入",
                "claim": "零星报销"}


def owning_record(uow: UnitOfWork, entry: Entry) -> tuple[str, str] | None:
    """The business record an entry belongs to, as (kind, id): a settlement, a refund, a payout (the capture of
    a disbursement's or a cash voucher's hold), a contribution or an approved claim's use of the limits; None for
    an entry no record owns."""
    if entry.kind == EntryKind.SETTLEMENT:
        return "settlement", entry.details.get("settlement_id") or entry.id
    if entry.kind == EntryKind.REFUND:
        refund = uow.one_by(Refund, entry_id=entry.id)
        return "refund", (refund.id if refund else None) or entry.details.get("settlement_id") or entry.id
    if entry.kind == EntryKind.CONTRIBUTION:
        return "contribution", entry.id
    if entry.kind == EntryKind.QUOTA_USE:  # reversing it would give the claim's limits back
        return "claim", entry.details.get("application_id") or entry.id
    if entry.kind == EntryKind.HOLD_CAPTURE:
        application_id = uow.ledger.payout_of_hold(entry.details.get("hold_id", ""))
        if application_id is not None:
            return "payout", application_id
    return None


def _reversible(uow: UnitOfWork, entry_id: str) -> Entry:
    """The entry, if a bare reversal may correct it; refused with the reason otherwise."""
    entry = reversible(uow.ledger, entry_id)
    owner = owning_record(uow, entry)
    if owner is not None:
        kind, record_id = owner
        raise errors.EntryOwnedByRecord(record_kind=kind, record_kind_zh=RECORD_KINDS[kind], record_id=record_id)
    return entry


def _view(row: ReversalRequest) -> dict:
    return {"reversal_id": row.id, "status": row.status, "entry_id": row.entry_id, "reason": row.reason,
            "requested_by": row.requested_by, "requested_at": row.requested_at, "decided_by": row.decided_by,
            "decided_at": row.decided_at, "note": row.note, "reversal_entry_id": row.reversal_entry_id}


def _row(uow: UnitOfWork, reversal_id: str, *, lock: bool = False) -> ReversalRequest:
    row = uow.reversals.get(reversal_id, lock=lock)
    if row is None:
        raise errors.ReversalNotFound()
    return row


def request_reversal(ctx: Context, *, actor: Actor, entry_id: str, reason: str) -> dict:
    """An admin asks for an entry no record owns to be reversed; it waits for a second admin (asking again while
    it waits changes nothing)."""
    access.ensure(actor, "reversal", "request")
    reason = (reason or "").strip()
    if not reason:
        raise errors.RequestInvalid(summary="a reversal needs a reason")
    with ctx.uow() as uow:
        _reversible(uow, entry_id)
        waiting = uow.reversals.pending_for(entry_id)
        if waiting is not None:
            return _view(waiting)
        uow.conflict_means(errors.ConcurrentChange())  # a concurrent request for the same entry: one is pending
        reversal_id = new_id("rvr")
        uow.reversals.add(ReversalRequest(id=reversal_id, entry_id=entry_id, reason=reason[:200],
                                          requested_by=actor.username, requested_at=ctx.now(), status="pending"))
        ctx.audit(uow, actor, "reversal.request", "reversal", reversal_id, entry_id=entry_id, reason=reason[:200])
        view = _view(_row(uow, reversal_id))
        uow.commit()
        return view


def _pending(uow: UnitOfWork, actor: Actor, reversal_id: str) -> ReversalRequest:
    row = _row(uow, reversal_id, lock=True)
    if row.status != "pending":
        raise errors.ReversalDecided(status=row.status)
    if row.requested_by == actor.username:
        raise errors.ReversalSameHands()
    return row


def approve_reversal(ctx: Context, *, actor: Actor, reversal_id: str, note: str = "") -> Entry:
    """A second admin approves a pending reversal: its entry's exact opposite is posted."""
    access.ensure(actor, "reversal", "decide")
    with ctx.uow() as uow:
        row = _pending(uow, actor, reversal_id)
        uow.conflict_means(errors.EntryAlreadyReversed(entry_id=row.entry_id))
        _reversible(uow, row.entry_id)
        entry = Books(uow, ctx.now()).reverse(row.entry_id, memo=row.reason)
        uow.reversals.decide(reversal_id, status="approved", decided_by=actor.username, decided_at=ctx.now(),
                             note=(note or "").strip()[:200], reversal_entry_id=entry.id)
        ctx.audit(uow, actor, "reversal.approve", "reversal", reversal_id, entry_id=row.entry_id,
                  reversal_entry_id=entry.id, requested_by=row.requested_by)
        ctx.audit(uow, actor, "entry.reverse", "entry", row.entry_id, reversal_id=entry.id, reason=row.reason,
                  requested_by=row.requested_by, approved_by=actor.username)
        uow.commit()
        return entry


def reject_reversal(ctx: Context, *, actor: Actor, reversal_id: str, note: str) -> dict:
    """A second admin rejects a pending reversal, saying why; nothing is posted."""
    access.ensure(actor, "reversal", "decide")
    note = (note or "").strip()
    if not note:
        raise errors.ReviewNoteRequired(action_zh="驳回冲正申请", action_en="reject a reversal")
    with ctx.uow() as uow:
        row = _pending(uow, actor, reversal_id)
        uow.reversals.decide(reversal_id, status="rejected", decided_by=actor.username, decided_at=ctx.now(),
                             note=note[:200])
        ctx.audit(uow, actor, "reversal.reject", "reversal", reversal_id, entry_id=row.entry_id, note=note[:200],
                  requested_by=row.requested_by)
        view = _view(_row(uow, reversal_id))
        uow.commit()
        return view


def list_reversals(ctx: Context, *, actor: Actor, status: str | None = "pending", limit: int = 100) -> list[dict]:
    """Reversal requests, oldest first (pending ones unless told): the second admin's queue."""
    access.ensure(actor, "reversal", "read")
    with ctx.uow() as uow:
        return [_view(r) for r in uow.reversals.listed(status=status, limit=limit)]
