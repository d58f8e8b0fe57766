"""E-voucher activation (real-name check, channel binding) and bank accounts (R5, R6): linked in the person's
own name after the bank's verification, one holder per number, unlinked by the holder or the agency.

The person is told of every change to their bank accounts, whoever made it; a change of the primary account
sends an approved bank payout not yet sent to the bank back to review (services.applications)."""

from __future__ import annotations

import secrets

from yibao.domain import errors
from yibao.domain.credentials import BankAccount, Channel, EVoucher
from yibao.domain.identity import same_name, validate_bank_account_no, validate_phone
from yibao.domain.ids import new_id
from yibao.domain.life_events import LifeEventKind
from yibao.domain.registry import Enrollment, EnrollmentStatus, Person
from yibao.services import access, notices
from yibao.services.applications import cases
from yibao.services.context import Context, digest
from yibao.services.credentials import bank_verification
from yibao.services.credentials.bank_verification import CardHolder
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events


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
        raise errors.EVoucherChannelInvalid() from None
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        person = _person(uow, person_id)
        life_events.ensure_usable(uow, person_id, ctx.today())  # no new e-voucher for the dead, emigrated, frozen
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
        return uow.all_by(EVoucher, "activated_at", person_id=person_id)


def _linked_elsewhere(uow: UnitOfWork, account_no: str, person_id: str) -> list[BankAccount]:
    """The other persons' links of this number."""
    return uow.bank_accounts.linked_elsewhere(account_no, person_id)


def _deceased(uow: UnitOfWork, account: BankAccount) -> bool:
    return life_events.standing(uow, account.person_id).event_kind == LifeEventKind.DEATH


def _linked_to_someone_living(uow: UnitOfWork, account_no: str, person_id: str) -> bool:
    """Whether another living person holds this number linked (a deceased holder's number may pass to an heir)."""
    return any(not _deceased(uow, a) for a in _linked_elsewhere(uow, account_no, person_id))


def _release_from_the_deceased(ctx: Context, uow: UnitOfWork, actor, account_no: str, person_id: str) -> None:
    """A number a deceased person held passes to its new holder: the dead holder's link ends, audited. Only
    theirs: a living holder's link committed since `_check_link` looked stays, and this link then loses at the
    unique index over linked numbers."""
    for old in _linked_elsewhere(uow, account_no, person_id):
        if not _deceased(uow, old):
            continue
        old.unlink(ctx.now())
        ctx.audit(uow, actor, "bank_account.unlink", "bank_account", old.id, person_id=old.person_id,
                  reason="holder deceased", linked_by=person_id)
    uow.flush()


def _check_link(uow: UnitOfWork, person: Person, number: str, holder_name: str) -> list[BankAccount]:
    """Refuse a holder other than the person, a number already theirs or another living person's; returns the
    person's linked accounts."""
    if not same_name(holder_name, person.name):
        raise errors.BankHolderMismatch()
    linked = uow.all_by(BankAccount, "created_at", person_id=person.id, status="linked")
    if any(a.account_no == number for a in linked):
        raise errors.BankAccountDuplicate()
    if _linked_to_someone_living(uow, number, person.id):
        raise errors.BankAccountLinkedElsewhere()
    return linked


CHANGES = {
    "link": ("已绑定", "was linked"),
    "primary": ("已设为默认收款账户", "was made the primary account (payouts go there)"),
    "unlink": ("已解绑", "was unlinked"),
}


def _changed(ctx: Context, uow: UnitOfWork, actor, account: BankAccount, change: str, *,
             primary_changed: bool) -> None:
    """Tell the person of a change to one of their bank accounts and, when the primary account changed, send
    the approved payouts it no longer matches back to review."""
    by_zh, by_en = ("本人", "you") if actor.person_id == account.person_id else (f"经办人员 {actor.username}",
                                                                             f"agency staff ({actor.username})")
    done_zh, done_en = CHANGES[change]
    tail = account.account_no[-4:]
    reopened = []
    if primary_changed:
        uow.flush()
        reopened = cases.reopen_for_payee_change(ctx, uow, actor, applicant_id=account.person_id)
    body_zh = (f"您在{account.bank_name}尾号 {tail} 的银行账户{done_zh}，操作人：{by_zh}。如非您本人知情的操作，"
               "请立即联系医保经办机构。")
    body_en = (f"Your {account.bank_name} account ending {tail} {done_en}, by {by_en}. If you did not expect "
               "this, contact the medical-insurance agency at once.")
    if reopened:
        body_zh += f"已审核的申请 {'、'.join(reopened)} 将重新审核。"
        body_en += f" Approved application(s) {', '.join(reopened)} will be reviewed again."
    notices.tell(ctx, uow, [account.person_id], kind="bank_account",
                 title=(f"银行账户变更：{done_zh}", f"Bank account change: {done_en}"), body=(body_zh, body_en),
                 data={"bank_account_id": account.id, "change": change, "by": actor.username,
                       "account_tail": tail, "reopened": reopened})


def link_bank_account(ctx: Context, *, actor, person_id: str, account_no: str, bank_name: str, holder_name: str,
                      primary: bool | None = None, phone: str | None = None) -> BankAccount:
    """Link a bank account in the person's own name, verified by the bank (四要素); the first one, or one asked
    to be, is primary."""
    access.ensure_owner_or_staff(actor, person_id)
    number = validate_bank_account_no(account_no)
    if not (bank_name or "").strip():
        raise errors.BankNameMissing()
    reserved = validate_phone(phone) if phone else None
    with ctx.uow() as uow:
        person = _person(uow, person_id)
        _check_link(uow, person, number, holder_name)
    # the bank is asked outside any transaction: nothing is held while it answers
    holder = CardHolder(name=person.name, id_number=person.id_number, card_no=number, phone=reserved or person.phone)
    checker = bank_verification.verifier(ctx)
    if not checker.matches(holder):
        raise errors.BankVerificationFailed()
    with ctx.uow() as uow:
        # a concurrent link of the same number loses at the unique index over linked numbers
        uow.conflict_means(errors.BankAccountLinkedElsewhere())
        person = _person(uow, person_id)
        existing = _check_link(uow, person, number, holder_name)
        _release_from_the_deceased(ctx, uow, actor, number, person_id)
        # Disbursements need somewhere to go: with no primary account yet, this one becomes it.
        make_primary = primary is True or not any(a.is_primary for a in existing)
        if make_primary:
            for other in existing:
                other.is_primary = False
            uow.flush()
        account = BankAccount(id=new_id("bnk"), person_id=person_id, account_no=number, bank_name=bank_name.strip(),
                              holder_name=person.name, is_primary=make_primary, created_at=ctx.now())
        uow.add(account)
        ctx.audit(uow, actor, "bank_account.link", "bank_account", account.id, person_id=person_id,
                  primary=make_primary, verified_by=type(checker).__name__)
        _changed(ctx, uow, actor, account, "link", primary_changed=make_primary)
        uow.commit()
        return account


def set_primary(ctx: Context, *, actor, account_id: str) -> BankAccount:
    """Make one linked account the primary one (disbursements go there); asking again changes nothing."""
    with ctx.uow() as uow:
        account = uow.get(BankAccount, account_id)
        if account is None:
            raise errors.BankAccountNotFound()
        access.ensure_owner_or_staff(actor, account.person_id)
        if not account.linked:
            raise errors.BankAccountUnlinked()
        uow.conflict_means(errors.ConcurrentChange())
        if account.is_primary:
            return account  # already primary: nothing changes, nobody is told twice
        for other in uow.all_by(BankAccount, person_id=account.person_id):
            other.is_primary = False
        uow.flush()
        account.is_primary = True
        ctx.audit(uow, actor, "bank_account.primary", "bank_account", account.id)
        _changed(ctx, uow, actor, account, "primary", primary_changed=True)
        uow.commit()
        return account


def unlink_bank_account(ctx: Context, *, actor, account_id: str) -> BankAccount:
    """Unlink an account (the holder or staff); its number may then be linked by whoever holds it now. A primary
    account's place goes to the person's earliest other linked account, if any. Unlinking again changes nothing."""
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        account = uow.get(BankAccount, account_id, for_update=True)
        if account is None:
            raise errors.BankAccountNotFound()
        access.ensure_owner_or_staff(actor, account.person_id)
        if not account.linked:
            return account
        was_primary = account.is_primary
        account.unlink(ctx.now())
        uow.flush()
        promoted = None
        if was_primary:
            promoted = next(iter(uow.all_by(BankAccount, "created_at", "id",
                                            person_id=account.person_id, status="linked")), None)
            if promoted is not None:
                promoted.is_primary = True
        ctx.audit(uow, actor, "bank_account.unlink", "bank_account", account.id, person_id=account.person_id,
                  was_primary=was_primary, primary_now=promoted.id if promoted else None)
        if promoted is not None:
            ctx.audit(uow, actor, "bank_account.primary", "bank_account", promoted.id, reason="primary unlinked")
        _changed(ctx, uow, actor, account, "unlink", primary_changed=was_primary)
        uow.commit()
        return account


def list_bank_accounts(ctx: Context, *, actor, person_id: str) -> list[BankAccount]:
    """The person's linked accounts, oldest first (unlinked ones stay in the audit trail)."""
    with ctx.uow() as uow:
        _person(uow, person_id)
        access.ensure_can_read_owned(uow, actor, person_id)
        return uow.all_by(BankAccount, "created_at", person_id=person_id, status="linked")
