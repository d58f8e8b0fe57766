"""Claims within the settlement limits (零星报销与个人账户支付限额): a reimbursement claim pays from the account
only what a direct settlement at the invoice's issuer on the invoice's day would have paid, counting what the
account already paid that day and that year, by settlements and by the person's other claims.

The limits are not written twice: each invoice is put to the policy's one settlement decision as a claim (the
gates of direct settlement, designation and cross-region permission, do not apply: a claim is the way for what
could not be settled directly; categories and the per-transaction, institution daily, daily and yearly limits
do). An approved claim takes what it pays from the same quota accounts a settlement debits (an entry of its
own, moving no money: the money leaves by the claim's payout), so a later settlement or claim finds them used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from yibao.domain import errors
from yibao.domain.applications import Application, ApplicationStatus
from yibao.domain.registry import Institution, Person
from yibao.domain.users import Actor
from yibao.ledger import seals
from yibao.policy.decision import Decision, Reason
from yibao.policy.interface import SettleFacts
from yibao.services.accounts.books import Books
from yibao.services.context import Context
from yibao.services.policy.decisions import enforce, refusal
from yibao.services.ports import UnitOfWork
from yibao.services.registry import enrollments
from yibao.services.settlement.payments import take_quotas, used_now

S = ApplicationStatus
COUNTED = (S.APPROVED.value, S.DISBURSING.value, S.PAID.value, S.FAILED.value)  # claims that pay, or will


@dataclass
class ClaimLimits:
    """What the invoices' settlement decisions allow the account to pay, and why less than asked."""

    allowed_fen: int
    uses: list[dict]  # per invoice: {date, institution_code, paid_fen}
    limited_by: list[str] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    last: Decision | None = None
    plans: list[tuple[Institution, Decision, dt.date]] = field(default_factory=list)  # per invoice, as uses


def _use(day: dt.date, code: str, paid: int) -> dict:
    return {"date": day.isoformat(), "institution_code": code, "paid_fen": paid}


def _counted_claims(uow: UnitOfWork, app: Application) -> list[dict]:
    """What the person's other approved (or paying, paid, failed and to be retried) claims take from the limits."""
    others = [other for other in uow.all_by(Application, person_id=app.person_id, kind="reimbursement")
              if other.id != app.id and other.status in COUNTED]
    uses = []
    for other in others:
        if other.details.get("limits_taken"):  # its use is in the quotas settlements read
            continue
        if "limits_use" in other.details:
            uses += other.details["limits_use"]
        elif other.event_date is not None and other.approved_fen:  # a claim decided before limits were kept
            issuer = (other.details.get("invoices") or [{}])[0].get("issuer", "")
            uses.append(_use(other.event_date, issuer, other.approved_fen))
    return uses


def _claimed(uses: list[dict], day: dt.date, code: str) -> dict[str, int]:
    """What claims took of each limit's period containing `day` at institution `code`."""
    on_day = [u for u in uses if u["date"] == day.isoformat() and u["paid_fen"] > 0]
    return {"institution_daily": sum(u["paid_fen"] for u in on_day if u["institution_code"] == code),
            "daily": sum(u["paid_fen"] for u in on_day),
            "yearly": sum(u["paid_fen"] for u in uses if u["date"][:4] == str(day.year)),
            "daily_count": len(on_day)}


def _scheme(uow: UnitOfWork, person_id: str, day: dt.date, default: str | None) -> str | None:
    enrollment = enrollments.enrollment_on(uow, person_id, day)
    return enrollment.scheme if enrollment else default


def within_limits(ctx: Context, uow: UnitOfWork, *, app: Application, person: Person,
                  scheme: str | None) -> ClaimLimits:
    """What the settlement decision allows the account to pay for each of the claim's invoices, oldest first;
    a limit whose rule refuses rather than pays part is raised as that refusal."""
    invoices = sorted(app.details.get("invoices") or [], key=lambda i: str(i["date"]))
    uses = _counted_claims(uow, app)
    found = ClaimLimits(0, [])
    for position, invoice in enumerate(invoices, start=1):
        institution = uow.get(Institution, invoice["issuer"])
        if institution is None:
            raise errors.InvoiceIssuerUnknown(position=position)
        day = dt.date.fromisoformat(str(invoice["date"]))
        facts = SettleFacts(region=person.region, scheme=_scheme(uow, person.id, day, scheme), claim=True,
                            institution_region=institution.region, institution_kind=institution.kind,
                            institution_cross_region=institution.cross_region, has_filing=False,
                            emergency=app.reason == "emergency", relation=None,
                            items=[(item["category"], item["amount_fen"]) for item in invoice["items"]])
        plan = ctx.policy.decide(facts, day)
        used = used_now(uow, owner_id=person.id, institution_code=institution.code, plan=plan, today=day)
        claimed = _claimed(uses + found.uses, day, institution.code)
        decision = ctx.policy.decide(replace(facts, used={k: n + claimed[k] for k, n in used.items()}), day)
        enforce(decision)
        paid = decision.max_amount_fen or 0
        found.allowed_fen += paid
        found.uses.append(_use(day, institution.code, paid))
        found.plans.append((institution, plan, day))
        found.last = decision
        if decision.limited_by:
            found.limited_by += [k for k in decision.limited_by if k not in found.limited_by]
            known = {r.rule_id for r in found.reasons}
            found.reasons += [r for r in decision.reasons if r.rule_id not in known]
    return found


def share_out(uses: list[dict], payable: int) -> list[dict]:
    """The invoices' uses of the limits as the claim pays them: what it pays, counted oldest invoice first."""
    shared = []
    for use in uses:
        paid = min(use["paid_fen"], payable)
        payable -= paid
        shared.append({**use, "paid_fen": paid})
    return shared


def take(ctx: Context, uow: UnitOfWork, actor: Actor, *, app: Application, person: Person,
         limits: ClaimLimits) -> None:
    """An approved claim takes what it pays from the quotas of the limits, as the settlements it stands for
    would have: a later settlement or claim that day or year finds them used."""
    uses = [(institution, plan, day, use["paid_fen"])
            for (institution, plan, day), use in zip(limits.plans, app.details["limits_use"], strict=True)]
    entry = take_quotas(uow, Books(uow, ctx.now()), owner_id=person.id, region=person.region, uses=uses,
                        memo="零星报销占用支付额度", details={"application_id": app.id})
    app.details = {**app.details, "limits_taken": True}
    if entry is not None:
        ctx.audit(uow, actor, "application.limits_take", "application", app.id, entry_id=entry.id,
                  seals=[seals.entry_seal(entry.id, entry.hash)])


def nothing_payable(limits: ClaimLimits) -> errors.RuleRefused:
    """The refusal of a claim the limits leave nothing of: the first limit it met, with the rules cited."""
    decision = limits.last
    code = limits.limited_by[0] if limits.limited_by else "policy.refused"
    decision.allowed, decision.code, decision.max_amount_fen = False, code, 0
    decision.reasons = limits.reasons or decision.reasons
    return refusal(decision)
