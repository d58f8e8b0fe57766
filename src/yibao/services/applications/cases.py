"""Applications (申请, R17–R20, R23): withdrawals a region allows and reimbursement claims, with their documents,
through review to approval; disbursement (services.disbursement) pays them.

On submission and again on approval the region's policy decides: whether the case is allowed at all, by whom
and through which channel, which documents are needed, within which window, and how much. Every step is one
line of the application's history with its actor, is audited, and is told to the person (applications.steps,
in the words of domain.application_texts).

A death case (the heirs' withdrawal) needs the death on record (services.life_events); the heir applies, with
their own ID number, name and relation checked (services.heirs) and their own proof of inheritance; the whole
balance is paid, once, to the heir's own bank account, and the account then closes. A deceased, emigrated or
frozen person's account pays no other case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from yibao.domain import application_texts as texts
from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.applications import (
    ACTION_OF_KIND,
    KINDS,
    PAYOUTS,
    REASONS,
    REVIEWABLE,
    Application,
    ApplicationStatus,
    ApplicationStep,
    CashVoucher,
    Document,
    may_pay_in_cash,
)
from yibao.domain.audit import AuditRecord
from yibao.domain.credentials import BankAccount
from yibao.domain.ids import new_id
from yibao.domain.invoices import keys_of, normal_issuer, normal_number
from yibao.domain.life_events import LifeEventKind, Standing
from yibao.domain.registry import Enrollment, Institution, Person
from yibao.domain.users import Actor, Role
from yibao.ledger import accounts as acct
from yibao.policy.interface import FACTS, ApplicationFacts, DisburseFacts
from yibao.services import access
from yibao.services.accounts.books import Books
from yibao.services.applications import cash_vouchers, claim_limits, vouchers
from yibao.services.applications import invoices as invoice_claims
from yibao.services.applications.steps import move, record_step
from yibao.services.context import Context
from yibao.services.credentials import channels
from yibao.services.policy.decisions import citations, enforce
from yibao.services.ports import UnitOfWork
from yibao.services.registry import enrollments, heirs, life_events

S = ApplicationStatus
REVIEW_ACTIONS = ("approve", "reject", "request_supplement")


@dataclass
class ApplicationView:
    application: Application
    documents: list[Document]
    history: list[ApplicationStep]
    expected_arrival_date: dt.date | None = None
    rules: list[dict] = field(default_factory=list)
    cash_voucher: CashVoucher | None = None


def _invalid(reason_zh: str, reason_en: str, **facts) -> errors.ApplicationInvalid:
    return errors.ApplicationInvalid(reason_zh=reason_zh, reason_en=reason_en, **facts)


def _person(uow: UnitOfWork, person_id: str) -> Person:
    person = uow.get(Person, person_id)
    if person is None:
        raise errors.PersonNotFound()
    return person


def _scheme(uow: UnitOfWork, person_id: str, day: dt.date) -> str | None:
    """The scheme in force on the day, or the last one the person had (a deceased person's ended enrolment)."""
    enrollment = enrollments.enrollment_on(uow, person_id, day)
    if enrollment is None:
        every = uow.all_by(Enrollment, "start_date", person_id=person_id)
        enrollment = every[-1] if every else None
    return enrollment.scheme if enrollment else None


def available_fen(uow: UnitOfWork, person_id: str) -> int:
    account = uow.ledger.accounts([acct.personal(person_id)]).get(acct.personal(person_id))
    return account.available_fen if account else 0


def primary_bank_account(uow: UnitOfWork, person_id: str) -> BankAccount | None:
    return uow.one_by(BankAccount, person_id=person_id, is_primary=True)


def _documents(uow: UnitOfWork, ids: list[str], owners: set[str]) -> list[Document]:
    found = []
    for document_id in dict.fromkeys(ids):
        document = uow.get(Document, document_id)
        if document is None:
            raise errors.DocumentNotFound(document_id=document_id)
        if document.person_id not in owners:
            raise _invalid(f"材料 {document_id} 不属于申请人或参保人", f"document {document_id} belongs to someone else",
                           document_id=document_id)
        found.append(document)
    return found


def _attached(uow: UnitOfWork, application_id: str) -> list[Document]:
    return uow.applications.attached(application_id)


def _attach(ctx: Context, uow: UnitOfWork, application_id: str, documents: list[Document]) -> None:
    already = {d.id for d in _attached(uow, application_id)}
    uow.applications.attach(application_id, [d.id for d in documents if d.id not in already], ctx.now())


def _counted(app: Application, documents: list[Document]) -> list[Document]:
    """The documents that count for the case: in a death case the proof of inheritance is the heir's own."""
    if not is_death_case(app.kind, app.reason):
        return documents
    return [d for d in documents if d.type != "heir_proof" or d.person_id == app.applicant_id]


def _facts(uow: UnitOfWork, app: Application, person: Person, day: dt.date,
           documents: list[Document]) -> ApplicationFacts:
    return FACTS[ACTION_OF_KIND[app.kind]](
        region=person.region, scheme=_scheme(uow, person.id, day), reason=app.reason,
        balance_fen=available_fen(uow, person.id), amount_fen=app.requested_fen, channel=app.channel,
        by_proxy=app.by_proxy, documents=sorted({d.type for d in _counted(app, documents)}),
        event_date=app.event_date)


def _decide(ctx: Context, uow: UnitOfWork, app: Application, person: Person, documents: list[Document],
            approver: Actor | None = None):
    """The policy's decision on the application as it stands; a refusal is raised with its explanation. On
    approval (approver), a claim takes what it pays from the settlement limits."""
    facts = _facts(uow, app, person, ctx.today(), documents)
    decision = ctx.policy.decide(facts, ctx.today())
    enforce(decision)
    _ensure_window_known(decision)
    payable = decision.details.get("approved_fen", app.requested_fen)
    if payable <= 0:
        raise _invalid("个人账户没有可支付的余额", "the account has nothing it can pay", max_amount_fen=0)
    if app.kind == "reimbursement":
        payable = _within_settlement_limits(ctx, uow, app, person, decision, payable, facts.scheme, approver)
    return decision, payable


def _within_settlement_limits(ctx: Context, uow: UnitOfWork, app: Application, person: Person, decision,
                              payable: int, scheme: str | None, approver: Actor | None) -> int:
    """A claim pays no more than settlements at its invoices' issuers on their days would have paid, counting
    what the account paid then (services.claim_limits); the limits that cut it are cited in the decision."""
    if not app.details.get("invoices"):
        return payable
    limits = claim_limits.within_limits(ctx, uow, app=app, person=person, scheme=scheme)
    if limits.allowed_fen <= 0:
        raise claim_limits.nothing_payable(limits)
    if limits.allowed_fen < payable:
        payable = limits.allowed_fen
        decision.limited_by += [k for k in limits.limited_by if k not in decision.limited_by]
        decision.reasons += limits.reasons
        decision.details["approved_fen"] = decision.max_amount_fen = payable
    app.details = {**app.details, "limits_use": claim_limits.share_out(limits.uses, payable),
                   "limited_by": limits.limited_by}
    if approver is not None:
        claim_limits.take(ctx, uow, approver, app=app, person=person, limits=limits)
    return payable


def _ensure_window_known(decision) -> None:
    """A rule with a window (申请期限) counts it from the day the case arose: without that day the window
    cannot be checked, so the case is not filed (leaving event_date out is no way around the window)."""
    for requirement in decision.requirements:
        if requirement.kind == "within":
            count, unit = requirement.value
            zh, en = texts.WINDOW_UNITS[unit]
            raise errors.EventDateRequired(window_zh=zh.format(count), window_en=en.format(count))


# --- deceased, emigrated, frozen: which cases stay open ------------------------------------------------------


def is_death_case(kind: str, reason: str) -> bool:
    return kind == "withdrawal" and reason == "death"


def _case_standing(uow: UnitOfWork, person_id: str, kind: str, reason: str) -> Standing:
    """What the person's life event and any freeze leave open: a death case needs the death on record; a deceased
    person's account pays only the heirs' withdrawal, an emigrated person's only the emigration payout; a frozen
    or closed account pays nothing."""
    state = life_events.standing(uow, person_id)
    if state.closed:
        raise errors.AccountClosed()
    if is_death_case(kind, reason) and state.event_kind != LifeEventKind.DEATH:
        raise errors.PersonNotDeceased()
    if state.event_kind == LifeEventKind.DEATH and not is_death_case(kind, reason):
        raise errors.PersonDeceased()
    if state.event_kind == LifeEventKind.EMIGRATION and not (kind == "withdrawal" and reason == "emigration"):
        raise errors.PersonEmigrated()
    if state.frozen:
        raise errors.AccountFrozen()
    return state


def _first_death_case(uow: UnitOfWork, person_id: str) -> None:
    """The balance goes to the heirs once: a second death case while one is open is refused."""
    earlier = uow.applications.open_death_case(person_id)
    if earlier is not None:
        raise errors.DeathCaseExists(application_id=earlier)


def _whole_balance(uow: UnitOfWork, person_id: str, amount_fen: int | None) -> int:
    """A death case pays the whole balance: the amount asked, if any, is that balance."""
    balance = available_fen(uow, person_id)
    if balance <= 0:
        raise _invalid("个人账户没有可支付的余额", "the account has nothing it can pay", max_amount_fen=0)
    if amount_fen is not None and amount_fen != balance:
        raise _invalid("死亡情形一次支付全部余额，申请金额须为账户余额", "a death case pays the whole balance at once: "
                       "amount_fen is the balance (or left out)", balance_fen=balance)
    return balance


def _heir(ctx: Context, uow: UnitOfWork, deceased: Person, applicant: Person, heir: dict | None) -> dict:
    if applicant.id == deceased.id or not heir:
        raise errors.HeirRequired()
    heirs.check_heir_identity(uow, deceased=deceased, heir=applicant, id_number=heir.get("id_number", ""),
                              name=heir.get("name", ""), relation=heir.get("relation", ""))
    heirs.check_heir_relation(ctx.policy, deceased=deceased, heir=applicant, relation=heir["relation"],
                              day=ctx.today())
    return {"relation": heir["relation"]}



# --- submission ----------------------------------------------------------------------------------------------


def _ensure_may_apply(actor: Actor, person_id: str, applicant_id: str, reason: str,
                      holder_id: str | None = None) -> None:
    """The person for their own account; the heir for a deceased person's; agency staff at the counter; a
    self-service terminal for the person who proved themselves on it with card and PIN (holder_id)."""
    own_or_heir = applicant_id == person_id or reason == "death"
    access.ensure(actor, "application", "apply", owners=(applicant_id,) if own_or_heir else (), holder_id=holder_id)


def _check_request(kind: str, reason: str, amount_fen, applicant_id: str, person_id: str,
                   invoices: list[dict] | None) -> int | None:
    if kind not in KINDS:
        raise _invalid(f"申请类型须为 {'、'.join(KINDS)}", f"kind is one of {', '.join(KINDS)}")
    if reason not in REASONS[kind]:
        raise _invalid(f"{kind} 的原因须为 {'、'.join(REASONS[kind])}",
                       f"the reason of a {kind} is one of {', '.join(REASONS[kind])}")
    if applicant_id != person_id and not (kind == "withdrawal" and reason == "death"):
        raise _invalid("仅参保人死亡时可由他人（继承人）为其账户申请",
                       "only an heir applies for another person's account, after the person's death")
    if kind == "reimbursement" and not invoices:
        raise _invalid("零星报销须列明所报销的发票（invoices：号码、开票单位、日期、明细）",
                       "a reimbursement claim lists the invoices it claims (invoices: number, issuer, date, items)")
    if invoices:
        _check_invoices(invoices)
        total = sum(item["amount_fen"] for invoice in invoices for item in invoice["items"])
        if amount_fen is None:
            amount_fen = total
        elif amount_fen != total:
            raise _invalid(f"申请金额 {amount_fen} 分与发票合计 {total} 分不一致",
                           f"amount_fen {amount_fen} differs from the invoices' total {total}",
                           invoices_total_fen=total)
    if amount_fen is None and is_death_case(kind, reason):
        return None  # the whole balance, found when the case is filed
    if type(amount_fen) is not int or amount_fen <= 0:
        raise errors.AmountInvalid()
    return amount_fen


def _check_invoices(invoices: list[dict]) -> None:
    """Each invoice names its number and issuer (the national e-invoice code besides, where it has one), and a
    claim lists each invoice once."""
    seen: set[str] = set()
    for invoice in invoices:
        if not normal_number(invoice.get("number") or "") or not normal_issuer(invoice.get("issuer") or ""):
            raise _invalid("每张发票须写明发票号码（number）和开票单位（issuer）",
                           "every invoice names its number and its issuer")
        keys = {k.key for k in keys_of(invoice)}
        if keys & seen:
            raise _invalid("同一张发票在申请中重复列出", "the same invoice is listed twice in the claim")
        seen |= keys


def _event_day(invoices: list[dict] | None, event_date: dt.date | None, today: dt.date) -> dt.date | None:
    """The day the case arose: for a claim, its earliest invoice's date (a later event_date would stretch the
    window); never a day after today."""
    if invoices:
        earliest = min(dt.date.fromisoformat(str(i["date"])) for i in invoices)
        if earliest > today:
            raise _invalid("发票日期不能晚于今天", "an invoice is not dated after today")
        if event_date is not None and event_date > earliest:
            raise _invalid("发生日期（event_date）不能晚于最早的发票日期",
                           "event_date is not later than the earliest invoice's date")
        event_date = earliest
    if event_date is not None and event_date > today:
        raise _invalid("发生日期（event_date）不能晚于今天", "event_date is not after today")
    return event_date


def _check_payout(kind: str, reason: str, payout: str, institution_code: str | None) -> None:
    if payout not in PAYOUTS:
        raise _invalid(f"支付方式须为 {'、'.join(PAYOUTS)}", f"payout is one of {', '.join(PAYOUTS)}")
    if payout == "cash_voucher" and not may_pay_in_cash(kind, reason):
        raise _invalid("仅异地就医零星报销（reimbursement / cross_region）可凭取现凭证支取现金，其他申请拨付至银行账户",
                       "only a cross-region reimbursement (reimbursement / cross_region) may be paid in cash against a "
                       "voucher; every other application is paid to the bank account", payout=payout)
    if institution_code and payout != "cash_voucher":
        raise _invalid("兑付机构（institution_code）仅用于取现凭证", "institution_code names where a cash voucher is "
                       "redeemed; it goes with payout cash_voucher only")


def _redeeming_institution(uow: UnitOfWork, code: str, day: dt.date) -> Institution:
    institution = uow.get(Institution, code)
    if institution is None:
        raise errors.InstitutionNotFound()
    if not institution.designated_on(day):
        raise _invalid(f"机构 {code} 当前不是定点医疗机构，不能兑付取现凭证",
                       f"{code} is not a designated institution today; it cannot redeem cash vouchers")
    return institution


def submit(ctx: Context, *, actor: Actor, person_id: str, kind: str, reason: str, channel: str | None = None,
           amount_fen: int | None = None, in_person: bool | None = None, by_proxy: bool | None = None,
           document_ids: list[str] | None = None, applicant_id: str | None = None,
           event_date: dt.date | None = None, invoices: list[dict] | None = None, draft: bool = False,
           payout: str = "bank", institution_code: str | None = None,
           heir: dict | None = None, credential: dict | None = None) -> tuple[Application, list[dict]]:
    """File an application; unless it is a draft, the policy decides now and a refusal writes nothing. Its
    channel, in-person and by-proxy facts are the session's (services.channels); at a terminal the person
    proves themselves with card and PIN (credential) and is the applicant."""
    holder_id = None
    if actor.role == Role.TERMINAL:
        holder_id = channels.terminal_holder(ctx, actor=actor, credential=credential)
        if applicant_id not in (None, holder_id):
            raise errors.ChannelMismatch(field="applicant_id", expected="the card holder")
        applicant_id = holder_id
    applicant_id = applicant_id or person_id
    _ensure_may_apply(actor, person_id, applicant_id, reason, holder_id)
    amount_fen = _check_request(kind, reason, amount_fen, applicant_id, person_id, invoices)
    _check_payout(kind, reason, payout, institution_code)
    if heir and not is_death_case(kind, reason):
        raise _invalid("仅死亡情形的支取由继承人申请（heir）", "heir goes with a death-case withdrawal only")
    event_date = _event_day(invoices, event_date, ctx.today())
    with ctx.uow() as uow:
        presence = channels.of_session(uow, actor, applicant_id=applicant_id, channel=channel,
                                       in_person=in_person, by_proxy=by_proxy)
        person = _person(uow, person_id)
        applicant = _person(uow, applicant_id)
        state = _case_standing(uow, person_id, kind, reason)
        invoices = invoice_claims.with_issuers(uow, invoices or [])
        details = {"invoices": _plain(invoices)} if invoices else {}
        if is_death_case(kind, reason):
            details["heir"] = _heir(ctx, uow, person, applicant, heir)
            _first_death_case(uow, person_id)
            amount_fen, event_date = _whole_balance(uow, person_id, amount_fen), state.event_date
        documents = _documents(uow, document_ids or [], {person_id, applicant_id})
        now = ctx.now()
        if payout == "cash_voucher":
            if institution_code:
                _redeeming_institution(uow, institution_code, ctx.today())
            details |= {"payout": payout, "institution_code": institution_code}
        app = Application(new_id("apl"), person_id, applicant_id, kind, reason, presence.channel,
                          presence.in_person, presence.by_proxy, amount_fen, None, 0, S.DRAFT.value, "", event_date,
                          now, now, details)
        rules: list[dict] = []
        if not draft:
            decision, payable = _decide(ctx, uow, app, person, documents)
            app.rule_id, app.fee_fen = decision.reasons[0].rule_id, decision.details.get("fee_fen", 0)
            app.details["payable_fen"], rules = payable, citations(decision)
        uow.add(app)
        uow.flush()  # the application's row before the rows that refer to it
        invoice_claims.claim(ctx, uow, actor, app, invoices)
        if draft:
            record_step(ctx, uow, actor, app, "create", None, S.DRAFT.value)
        else:
            move(ctx, uow, actor, app, "submit", data={"rules": [r["rule_id"] for r in rules]})
        _attach(ctx, uow, app.id, documents)
        uow.commit()
        return app, rules


def _plain(invoices: list[dict]) -> list[dict]:
    return [{**i, "date": str(i["date"])} for i in invoices]


def _require_bank(uow: UnitOfWork, applicant_id: str) -> BankAccount:
    account = primary_bank_account(uow, applicant_id)
    if account is None:
        raise errors.BankAccountMissing(applicant_id=applicant_id)
    return account


def submit_draft(ctx: Context, *, actor: Actor, application_id: str) -> tuple[Application, list[dict]]:
    with ctx.uow() as uow:
        app = _locked(uow, application_id)
        _ensure_may_apply(actor, app.person_id, app.applicant_id, app.reason)
        app.ensure_may("submit")
        _case_standing(uow, app.person_id, app.kind, app.reason)
        presence = channels.of_session(uow, actor, applicant_id=app.applicant_id)  # the session that submits
        app.channel, app.in_person, app.by_proxy = presence.channel, presence.in_person, presence.by_proxy
        person = _person(uow, app.person_id)
        decision, payable = _decide(ctx, uow, app, person, _attached(uow, app.id))
        app.rule_id, app.fee_fen = decision.reasons[0].rule_id, decision.details.get("fee_fen", 0)
        app.details = {**app.details, "payable_fen": payable}
        rules = citations(decision)
        move(ctx, uow, actor, app, "submit", data={"rules": [r["rule_id"] for r in rules]})
        uow.commit()
        return app, rules


def add_documents(ctx: Context, *, actor: Actor, application_id: str, document_ids: list[str]) -> Application:
    """The applicant adds papers to a draft before submitting it (a submitted case takes papers only when the
    reviewer asks for them: `supplement`)."""
    with ctx.uow() as uow:
        app = _locked(uow, application_id)
        _ensure_may_apply(actor, app.person_id, app.applicant_id, app.reason)
        if app.status != S.DRAFT:
            raise errors.ApplicationWrongState(status=app.status, action="add_documents")
        documents = _documents(uow, document_ids, {app.person_id, app.applicant_id})
        _attach(ctx, uow, app.id, documents)
        ctx.audit(uow, actor, "application.documents_added", "application", app.id,
                  document_ids=[d.id for d in documents])
        uow.commit()
        return app


def _locked(uow: UnitOfWork, application_id: str) -> Application:
    app = uow.get(Application, application_id, for_update=True)
    if app is None:
        raise errors.ApplicationNotFound()
    return app


# --- review -------------------------------------------------------------------------------------------------


def review(ctx: Context, *, actor: Actor, application_id: str, action: str, note: str = "",
           missing: list[str] | None = None) -> tuple[Application, list[dict]]:
    """A reviewer approves (the policy decides again, on today's balance), rejects with a reason, or asks for a
    supplement naming the documents missing, with guidance."""
    access.ensure(actor, "application", "review")
    if action not in REVIEW_ACTIONS:
        raise _invalid(f"审核操作须为 {'、'.join(REVIEW_ACTIONS)}", f"action is one of {', '.join(REVIEW_ACTIONS)}")
    note = (note or "").strip()
    if action == "reject" and not note:
        raise errors.ReviewNoteRequired(action_zh="驳回申请", action_en="reject an application")
    if action == "request_supplement":
        if not missing:
            raise _invalid("补件须列明所缺材料（missing）", "a supplement request names the documents missing")
        unknown = [m for m in missing if m not in v.DocumentType]
        if unknown:
            raise _invalid(f"未知的材料类型：{'、'.join(unknown)}", f"unknown document types: {', '.join(unknown)}",
                           unknown=unknown)
    with ctx.uow() as uow:
        app = _locked(uow, application_id)
        if app.status not in REVIEWABLE:
            raise errors.ApplicationWrongState(status=app.status, action=action)
        if actor.username in _hands(uow, app):
            raise errors.SameHands()
        if app.may("start_review"):
            move(ctx, uow, actor, app, "start_review")
        rules: list[dict] = []
        if action == "approve":
            rules = _approve(ctx, uow, actor, app, note)
        elif action == "reject":
            move(ctx, uow, actor, app, "reject", note=note)
            invoice_claims.release(ctx, uow, actor, app)
        else:
            app.details = {**app.details, "supplement": {"missing": list(missing), "guidance": note}}
            move(ctx, uow, actor, app, "request_supplement", note=note, data={"missing": list(missing)})
        uow.commit()
        return app, rules


INTAKE_ACTIONS = ("create", "submit", "supplement")  # the steps that take a case (or its papers) in


def taken_by(uow: UnitOfWork, application_id: str) -> set[str]:
    """The users who took the application in: whoever created, submitted or supplemented it (its history)."""
    return {step.actor for step in uow.all_by(ApplicationStep, application_id=application_id)
            if step.action in INTAKE_ACTIONS}


BANK_CHOICES = ("bank_account.link", "bank_account.primary")  # the steps that choose where a payout goes


def payee_hands(uow: UnitOfWork, applicant_id: str) -> set[str]:
    """Whoever linked the applicant's primary bank account, or made it primary (its audit trail)."""
    account = primary_bank_account(uow, applicant_id)
    if account is None:
        return set()
    return {record.actor for record in uow.all_by(AuditRecord, entity="bank_account", entity_id=account.id)
            if record.action in BANK_CHOICES}


def _hands(uow: UnitOfWork, app: Application) -> set[str]:
    """Who may not review the case: whoever took it in or uploaded its papers, whoever chose the bank account
    it pays to and, for a death case, whoever recorded the death at the counter (recording a death and paying
    out its balance are never one person's doing)."""
    hands = taken_by(uow, app.id) | {d.uploaded_by for d in _attached(uow, app.id)}
    if app.payout == "bank":
        hands |= payee_hands(uow, app.applicant_id)
    if is_death_case(app.kind, app.reason):
        event = life_events.event_of(uow, app.person_id)
        if event is not None and event.source == "counter":
            hands.add(event.recorded_by)
    return hands


def _approve(ctx: Context, uow: UnitOfWork, actor: Actor, app: Application, note: str) -> list[dict]:
    """The policy decides again; a bank payout waits for the next payment file, a cash payout gets its voucher
    (and its hold) at once. Either way the approval's voucher is printed."""
    person = _person(uow, app.person_id)
    _case_standing(uow, app.person_id, app.kind, app.reason)
    if is_death_case(app.kind, app.reason):  # the whole balance as it stands today
        app.requested_fen = _whole_balance(uow, app.person_id, None)
    decision, payable = _decide(ctx, uow, app, person, _attached(uow, app.id), approver=actor)
    app.approved_fen, app.fee_fen = payable, decision.details.get("fee_fen", 0)
    app.rule_id, rules = decision.reasons[0].rule_id, citations(decision)
    if app.payout == "cash_voucher":
        if app.payout_fen <= 0:
            raise _invalid("扣除手续费后没有可支取的现金", "nothing is left to pay in cash after the fee")
        app.details = {**app.details, "expected_arrival_date": None}
    else:
        bank = _require_bank(uow, app.applicant_id)
        arrival = expected_arrival(ctx, person, app, bank.bank_name, ctx.today())
        payee = {"bank_account_id": bank.id, "account_no": bank.account_no, "bank_name": bank.bank_name,
                 "holder_name": bank.holder_name}  # the account approved is the one paid, whatever is primary later
        app.details = {**app.details, "expected_arrival_date": arrival.isoformat() if arrival else None,
                       "payee": payee}
    move(ctx, uow, actor, app, "approve", note=note,
          data={"approved_fen": payable, "fee_fen": app.fee_fen, "rules": [r["rule_id"] for r in rules],
                "expected_arrival_date": app.details["expected_arrival_date"], "payout": app.payout})
    vouchers.issue(ctx, uow, actor, app, "approval")
    if app.payout == "cash_voucher":
        books = Books(uow, ctx.now())
        cash_vouchers.place(ctx, uow, actor, books, app)
        books.flush()
    return rules


def reopen_for_payee_change(ctx: Context, uow: UnitOfWork, actor: Actor, *, applicant_id: str) -> list[str]:
    """After a change of the applicant's primary bank account, every approved bank payout not yet on a payment
    file that no longer goes to the account its approval fixed goes back to review; the ids reopened."""
    account = primary_bank_account(uow, applicant_id)
    reopened = []
    for app in uow.applications.approved_for(applicant_id):
        if app.payout != "bank" or app.pays_to(account.id if account else None):
            continue
        move(ctx, uow, actor, app, "reopen", note=texts.PAYEE_CHANGED_NOTE,
              data={"reason": texts.PAYEE_CHANGED})
        reopened.append(app.id)
    return reopened


def expected_arrival(ctx: Context, person: Person, app: Application, bank_name: str, day: dt.date) -> dt.date | None:
    """The working day a payout sent on `day` is expected at the bank, by the policy for that bank and channel."""
    decision = ctx.policy.decide(DisburseFacts(region=person.region, channel=app.channel, bank=bank_name), day)
    return decision.details.get("expected_arrival_date") if decision.allowed else None


def supplement(ctx: Context, *, actor: Actor, application_id: str, document_ids: list[str]) -> Application:
    """The applicant adds what the reviewer asked for; the application goes back to the queue."""
    with ctx.uow() as uow:
        app = _locked(uow, application_id)
        _ensure_may_apply(actor, app.person_id, app.applicant_id, app.reason)
        app.ensure_may("supplement")
        documents = _documents(uow, document_ids, {app.person_id, app.applicant_id})
        wanted = app.details.get("supplement", {}).get("missing", [])
        given = {d.type for d in documents}  # new papers: the reviewer may ask again for a type already given
        if missing := [m for m in wanted if m not in given]:
            labels = texts.labels(v.DocumentType, missing)
            raise errors.RuleRefused("application.documents_missing", missing=missing,
                                     explanation_zh=f"仍缺少材料：{labels[0]}",
                                     explanation_en=f"still missing: {labels[1]}")
        _attach(ctx, uow, app.id, documents)
        move(ctx, uow, actor, app, "supplement", data={"document_ids": [d.id for d in documents]})
        uow.commit()
        return app


def withdraw(ctx: Context, *, actor: Actor, application_id: str) -> Application:
    """The applicant takes the application back before it is decided."""
    with ctx.uow() as uow:
        app = _locked(uow, application_id)
        _ensure_may_apply(actor, app.person_id, app.applicant_id, app.reason)
        move(ctx, uow, actor, app, "withdraw")
        invoice_claims.release(ctx, uow, actor, app)
        uow.commit()
        return app


# --- reading -----------------------------------------------------------------------------------------------


def _may_read(uow: UnitOfWork, actor: Actor, app: Application) -> None:
    if actor.role == Role.PERSON and actor.person_id == app.applicant_id:
        return
    access.ensure_can_read_owned(uow, actor, app.person_id)


def get(ctx: Context, *, actor: Actor, application_id: str) -> ApplicationView:
    with ctx.uow() as uow:
        app = uow.get(Application, application_id)
        if app is None:
            raise errors.ApplicationNotFound()
        _may_read(uow, actor, app)
        return _view(uow, app)


def _view(uow: UnitOfWork, app: Application) -> ApplicationView:
    history = uow.all_by(ApplicationStep, "id", application_id=app.id)
    arrival = app.details.get("expected_arrival_date")
    return ApplicationView(app, _attached(uow, app.id), history, dt.date.fromisoformat(arrival) if arrival else None,
                           cash_voucher=cash_vouchers.current(uow, app.id))


def documents_asked(ctx: Context, *, actor: Actor, application_id: str) -> list[str]:
    """The documents the policy names for the case as it stands, in its order (a read: nothing is decided or
    recorded)."""
    with ctx.uow() as uow:
        app = uow.get(Application, application_id)
        if app is None:
            raise errors.ApplicationNotFound()
        _may_read(uow, actor, app)
        facts = _facts(uow, app, _person(uow, app.person_id), ctx.today(), _attached(uow, app.id))
    decision = ctx.policy.decide(facts, ctx.today())
    return [r["value"] for r in decision.as_dict()["requirements"] if r["kind"] == "document"]


def decision_now(ctx: Context, *, actor: Actor, application_id: str) -> dict:
    """The policy's decision on the case as it stands today, with its requirements and the rules it cites, for
    the reviewer to weigh (a read: approval decides again, with the settlement limits)."""
    with ctx.uow() as uow:
        app = uow.get(Application, application_id)
        if app is None:
            raise errors.ApplicationNotFound()
        _may_read(uow, actor, app)
        facts = _facts(uow, app, _person(uow, app.person_id), ctx.today(), _attached(uow, app.id))
    return ctx.policy.decide(facts, ctx.today()).as_dict()


def arrival_if_approved_today(ctx: Context, *, actor: Actor, application_id: str) -> dt.date | None:
    """For a case still being decided and paid to the bank: the day its payout would arrive were it approved and
    sent today (by the policy for the applicant's primary bank); None when it is decided, paid in cash, or has
    no bank account yet."""
    with ctx.uow() as uow:
        app = uow.get(Application, application_id)
        if app is None:
            raise errors.ApplicationNotFound()
        _may_read(uow, actor, app)
        bank = primary_bank_account(uow, app.applicant_id)
        deciding = app.status in REVIEWABLE or app.status == S.SUPPLEMENT_REQUESTED
        if not deciding or app.payout != "bank" or bank is None:
            return None
        return expected_arrival(ctx, _person(uow, app.person_id), app, bank.bank_name, ctx.today())


def submit_with_receipt(ctx: Context, *, actor: Actor, **request) -> tuple[ApplicationView, list[dict]]:
    """Submit (as `submit`) and show the application as filed: the receipt for whoever filed it, a self-service
    terminal included (which reads no application afterwards)."""
    app, rules = submit(ctx, actor=actor, **request)
    with ctx.uow() as uow:
        return _view(uow, uow.get(Application, app.id)), rules


def queue(ctx: Context, *, actor: Actor, status: str | None = None, person_id: str | None = None,
          limit: int = 100) -> list[Application]:
    """Reviewers see the queue (oldest first); a person sees their own applications (newest first)."""
    with ctx.uow() as uow:
        if person_id is not None:
            _person(uow, person_id)
            if not (actor.role == Role.PERSON and actor.person_id == person_id):
                access.ensure_can_read_owned(uow, actor, person_id)
            return uow.applications.of_person(person_id, status, limit)
        access.ensure(actor, "application", "read_queue")
        return uow.applications.queue([status] if status else [s.value for s in REVIEWABLE], limit)
