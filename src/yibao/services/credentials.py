"""E-voucher activation (real-name check, channel binding) and bank-account linking (R5, R6)."""

from __future__ import annotations

import secrets

from yibao.domain import errors
from yibao.domain.credentials import BankAccount, Channel, EVoucher
from yibao.domain.identity import same_name, validate_bank_account_no
from yibao.domain.ids import new_id
from yibao.domain.registry import Enrollment, EnrollmentStatus, Person
from yibao.services import access
from yibao.services.context import Context, digest
from yibao.store.uow import UnitOfWork


def _person(uow: UnitOfWork, person_id: str) -> Person:
    person = uow.get(Person, person_id)
    if person is None:
        raise errors.PersonNotFound()
    return person


def activate_evoucher(ctx, *, actor, person_id: str, id_number: str, name: str, channel: str) -> tuple[EVoucher, str]:
    """Activate the e-voucher on a channel after a real-name check; returns it and its one-time token."""
    access.ensure_owner_or_admin(actor, person_id)
    try:
        channel = Channel(channel).value
    except ValueError:
        raise errors.EVoucherChannelInvalid(channel=channel) from None
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        person = _person(uow, person_id)
        if _enrolment_pending(uow, person_id):
            raise errors.EVoucherEnrolmentPending()
        if (id_number or "").strip().upper() != person.id_number or not same_name(name, person.name):
            ctx.audit(uow, actor, "evoucher.real_name_failed", "person", person_id, channel=channel)
            uow.commit()
            raise errors.EVoucherIdentityMismatch()
        now = ctx.now()
        for old in uow.all_by(EVoucher, person_id=person_id, channel=channel, status="active"):
            old.revoke(now)
            ctx.audit(uow, actor, "evoucher.revoke", "evoucher", old.id, reason="reactivated")
        uow.flush()
        token = secrets.token_urlsafe(32)
        voucher = EVoucher(id=new_id("evc"), person_id=person_id, channel=channel, token_digest=digest(token),
                           status="active", activated_at=now)
        uow.add(voucher)
        ctx.audit(uow, actor, "evoucher.activate", "evoucher", voucher.id, channel=channel)
        uow.commit()
        return voucher, token


def _enrolment_pending(uow: UnitOfWork, person_id: str) -> bool:
    """A self-registration the agency has not approved yet: no e-voucher before it is (R1)."""
    statuses = {e.status for e in uow.all_by(Enrollment, person_id=person_id)}
    return EnrollmentStatus.REQUESTED in statuses and EnrollmentStatus.ACTIVE not in statuses


def evoucher_holder(ctx: Context, *, token: str) -> EVoucher:
    """The active e-voucher behind a token (an indexed lookup of its digest)."""
    with ctx.uow() as uow:
        voucher = uow.one_by(EVoucher, token_digest=digest(token or ""), status="active")
        if voucher is None:
            raise errors.EVoucherInvalid()
        return voucher


def list_evouchers(ctx: Context, *, actor, person_id: str) -> list[EVoucher]:
    with ctx.uow() as uow:
        _person(uow, person_id)
        access.ensure_can_read_owned(uow, actor, person_id)
        return uow.all_by(EVoucher, EVoucher.activated_at, person_id=person_id)


def link_bank_account(ctx: Context, *, actor, person_id: str, account_no: str, bank_name: str, holder_name: str,
                      primary: bool | None = None) -> BankAccount:
    """Link a bank account in the person's own name; the first one, or one asked to be, is primary."""
    access.ensure_owner_or_staff(actor, person_id)
    number = validate_bank_account_no(account_no)
    if not (bank_name or "").strip():
        raise errors.BankNameMissing()
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        person = _person(uow, person_id)
        if not same_name(holder_name, person.name):
            raise errors.BankHolderMismatch()
        existing = uow.all_by(BankAccount, BankAccount.created_at, person_id=person_id)
        if any(a.account_no == number for a in existing):
            raise errors.BankAccountDuplicate()
        # Disbursements need somewhere to go: with no primary account yet, this one becomes it.
        make_primary = primary is True or not any(a.is_primary for a in existing)
        if make_primary:
            for other in existing:
                other.is_primary = False
            uow.flush()
        account = BankAccount(id=new_id("bnk"), person_id=person_id, account_no=number, bank_name=bank_name.strip(),
                              holder_name=person.name, is_primary=make_primary, created_at=ctx.now())
        uow.add(account)
        ctx.audit(uow, actor, "bank_account.link", "bank_account", account.id, primary=make_primary)
        uow.commit()
        return account


def set_primary(ctx: Context, *, actor, account_id: str) -> BankAccount:
    """Make one linked account the primary one (disbursements go there)."""
    with ctx.uow() as uow:
        account = uow.get(BankAccount, account_id)
        if account is None:
            raise errors.BankAccountNotFound()
        access.ensure_owner_or_staff(actor, account.person_id)
        uow.conflict_means(errors.ConcurrentChange())
        for other in uow.all_by(BankAccount, person_id=account.person_id):
            other.is_primary = False
        uow.flush()
        account.is_primary = True
        ctx.audit(uow, actor, "bank_account.primary", "bank_account", account.id)
        uow.commit()
        return account


def list_bank_accounts(ctx: Context, *, actor, person_id: str) -> list[BankAccount]:
    with ctx.uow() as uow:
        _person(uow, person_id)
        access.ensure_can_read_owned(uow, actor, person_id)
        return uow.all_by(BankAccount, BankAccount.created_at, person_id=person_id)
