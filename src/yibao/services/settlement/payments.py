"""Settlement at designated institutions (结算, R10–R15): pay from the personal account within the policy's
limits, cash for the rest; refunds; the institution's own list and daily summary.

One settlement is one unit of work. Its limits are quota accounts of the ledger, locked with the
person's account in one sorted lock and debited in the same entry as the money, so no limit or
balance is exceeded under any concurrency, and a retry with the same key returns the first answer.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.cards import Card, CardAction
from yibao.domain.clock import local_date
from yibao.domain.ids import new_id
from yibao.domain.payment_facts import Claim, SettlementFacts
from yibao.domain.registry import Institution, Person
from yibao.domain.settlement import QUOTA_LIMITS, Refund, Settlement
from yibao.domain.settlement_request import parse_credential, parse_emergency, parse_lines
from yibao.domain.users import Actor
from yibao.ledger import accounts as acct
from yibao.ledger import seals
from yibao.ledger.accounts import Account, AccountKind, Bucket, Unit, quota_account
from yibao.ledger.entries import EntryKind, Posting, debit_personal
from yibao.policy.decision import Decision
from yibao.policy.interface import RefundFacts, SettleFacts
from yibao.services import access, idempotency
from yibao.services.accounts.books import Books
from yibao.services.context import Context, digest
from yibao.services.credentials import cards, payment_codes
from yibao.services.crossregion import family
from yibao.services.policy.decisions import enforce
from yibao.services.ports import UnitOfWork


def _request(institution_code: str, credential: dict, items: list, owner_id: str | None, emergency: bool) -> dict:
    """What a retry must repeat exactly; the PIN and the payment code enter only as digests."""
    shown = {k: (digest(x) if k in ("pin", "code") else x) for k, x in credential.items()}
    return {"institution_code": institution_code, "credential": shown, "account_owner_id": owner_id, "items": items,
            "emergency": emergency}


def _card_holder(uow: UnitOfWork, credential: dict, today: dt.date) -> str | None:
    """The person whose card pays, the card usable today (the PIN already checked); None for a payment code,
    whose holder the settlement's facts name."""
    if credential["type"] != "card":
        return None
    card = uow.get(Card, credential["card_no"])
    if card is None:
        raise errors.CardNotFound()
    card.ensure_can(CardAction.USE, today)  # lost, frozen or expired since the PIN check: refused
    return card.person_id


def settle(ctx: Context, *, actor: Actor, idempotency_key: str, institution_code: str, credential: dict,
           items: list, account_owner_id: str | None = None, emergency: bool = False) -> dict:
    """Pay at an institution: the account pays what the policy allows, cash the rest (or the policy refuses).
    `emergency` is the institution's statement of an emergency (急诊抢救), which the policy may count as filed."""
    access.ensure(actor, "settlement", "create", institution_code=institution_code)
    parsed, credential = parse_lines(items), parse_credential(credential)
    emergency = parse_emergency(emergency)
    lines = [(line.category, line.amount_fen) for line in parsed]
    request = _request(institution_code, credential, [line.as_dict() for line in parsed], account_owner_id,
                       emergency)
    scope = f"settlement:{institution_code}"
    if credential["type"] == "card":
        with ctx.uow() as uow:  # a retry gets its first answer before the PIN is checked again
            earlier = idempotency.answered(uow, scope=scope, key=idempotency_key, request=request)
        if earlier is not None:
            return earlier
        # the PIN is looked at only where this payment may be made: elsewhere no guess is counted
        cards.ensure_pin_checked_here(ctx, card_no=credential["card_no"], institution_code=institution_code,
                                      owner_id=account_owner_id, emergency=emergency)
        # its own unit of work: wrong PINs count even when the payment fails
        cards.check_pin_at_payment(ctx, actor=actor, card_no=credential["card_no"], pin=credential["pin"])
    policy, now = ctx.policy, ctx.now()
    today = local_date(now)
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        once, found = _claim_and_find(uow, scope=scope, key=idempotency_key, request=request, now=now,
                                      institution_code=institution_code, credential=credential,
                                      owner_id=account_owner_id)
        if once.earlier is not None:
            return once.earlier
        payment = _plan(uow, policy, found, credential=credential, account_owner_id=account_owner_id, lines=lines,
                        emergency=emergency, now=now)
        institution, payer_id, owner_id = payment.institution, payment.payer_id, payment.owner_id
        region, facts, plan = payment.region, payment.facts, payment.plan
        settlement_id = new_id("stl")
        if credential["type"] == "evoucher_code":  # used by this payment, in its unit of work, before any lock
            payment_codes.use(uow, code=credential["code"], now=now, used_for=settlement_id)
        books = Books(uow, now)
        personal = acct.personal(owner_id)
        quotas, created = _open_accounts(books, owner_id, region, institution, plan, today)
        locked = books.lock([personal, *quotas])
        if locked[personal].pending_fen:  # a hold past its time keeps nothing back: released before deciding
            books.expire_holds(locked[personal])
        _grant_quotas(uow, books, region, quotas, created, plan)
        used = _used(quotas, {q: locked[q].available_fen for q in quotas})
        decision = enforce(policy.decide(replace(facts, used=used, balance_fen=locked[personal].available_fen),
                                         today))
        pay = decision.max_amount_fen
        settlement = Settlement(
            settlement_id, institution_code, idempotency_key, payer_id, owner_id,
            "card" if credential["type"] == "card" else "evoucher",  # a code is the e-voucher's form of payment
            sum(a for _, a in lines), pay, sum(a for _, a in lines) - pay, today, now,
            items=[{"category": c, "amount_fen": a} for c, a in lines], decision=_decision(decision),
            emergency=emergency)
        if pay > 0:
            uses = {q: (unit, 1 if unit == Unit.COUNT else pay) for q, (_, unit, _) in quotas.items()}
            settlement.quotas = {q: n for q, (_, n) in uses.items()}
            legs = debit_personal(locked[personal], pay) + [Posting(acct.institution_payable(institution_code), pay)]
            legs += _quota_legs(region, {q: (unit, -n) for q, (unit, n) in uses.items()})
            entry = books.post(EntryKind.SETTLEMENT, legs, memo=f"{institution.name} 结算"[:200],
                               details={"settlement_id": settlement.id, "institution_code": institution_code,
                                        "payer_id": payer_id})
            settlement.entry_id = entry.id
        response = _view(settlement, locked[personal].available_fen)
        sealed = [seals.seal("settlements", settlement), once.answer_seal(response)]
        if pay > 0:
            sealed.append(seals.entry_seal(entry.id, entry.hash))
        audit = ctx.audit_record(  # the settlement is new: its audit chain starts here
            actor, "settlement.create", "settlement", settlement.id, payer_id=payer_id, owner_id=owner_id,
            total_fen=settlement.total_fen, account_paid_fen=pay, rules=settlement.decision["rules"],
            seals=sealed, **_emergency_audit(emergency, decision))
        uow.settlements.record(settlement, audit, scope=scope, key=idempotency_key, response=response)
        if owner_id != payer_id:  # a grantee paid from a relative's account: the owner is told, in this unit
            family.tell_owner_of_payment(ctx, uow, owner_id=owner_id, payer_id=payer_id, relation=found.relation,
                                         settlement_id=settlement.id, institution_name=institution.name,
                                         paid_fen=pay)
        uow.commit()
        return response


@dataclass(frozen=True)
class _Payment:
    """Who pays at which institution from whose account, the facts its decision takes and its plan."""

    institution: Institution
    payer_id: str
    owner_id: str
    region: str
    facts: SettleFacts
    plan: Decision


def _plan(uow: UnitOfWork, policy, found: SettlementFacts, *, credential: dict, account_owner_id: str | None,
          lines: list[tuple[str, int]], emergency: bool, now: dt.datetime) -> _Payment:
    """The payment's facts checked (a usable code or card holder, the institution, the grant), and the policy's
    plan: which limits apply, or the refusal of anything that refuses whatever the amounts (not designated, no
    filing, ...). Settlement and preview both start here."""
    today = local_date(now)
    if found.payer_id is None:  # the code is unknown, used, expired, or its e-voucher revoked
        raise payment_codes.refusal(uow, code=credential["code"], now=now)
    found.payer_standing.ensure_usable(today)  # dead, emigrated or frozen: no credential of theirs pays
    institution, payer_id = found.institution, found.payer_id
    if institution is None:
        raise errors.InstitutionNotFound()
    owner_id = account_owner_id or payer_id
    if owner_id != payer_id:
        found.owner_standing.ensure_usable(today)  # nor does a grant from such an owner's account
        if found.relation is None:
            raise errors.GrantRequired()
    if found.owner_id is None:
        raise errors.PersonNotFound()
    facts = SettleFacts(
        region=found.owner_region, scheme=found.scheme, designated=institution.designated_on(today),
        institution_region=institution.region, institution_kind=institution.kind,
        institution_cross_region=institution.cross_region,
        has_filing=found.filing is not None and found.filing.covers(institution.region, today),
        relation=found.relation if owner_id != payer_id else None, items=lines, emergency=emergency)
    plan = policy.decide(facts, today)
    if not plan.allowed and not (plan.code or "").startswith("limit."):
        enforce(plan)
    return _Payment(institution, payer_id, owner_id, found.owner_region, facts, plan)


def preview(ctx: Context, *, actor: Actor, institution_code: str, credential: dict, items: list,
            account_owner_id: str | None = None, emergency: bool = False) -> dict:
    """What `settle` with the same facts would decide now: the account's part, the cash part, the limits that
    kept the account from paying more and the rules cited, without paying. Nothing is written: no money,
    quota, hold or key, and the payment code stays unused. It needs the credential a payment needs, so a
    stranger's balance is not shown: a wrong PIN counts as at a payment, a right one clears no earlier tries."""
    access.ensure(actor, "settlement", "create", institution_code=institution_code)
    parsed, credential = parse_lines(items), parse_credential(credential)
    emergency = parse_emergency(emergency)
    lines = [(line.category, line.amount_fen) for line in parsed]
    if credential["type"] == "card":
        cards.ensure_pin_checked_here(ctx, card_no=credential["card_no"], institution_code=institution_code,
                                      owner_id=account_owner_id, emergency=emergency)
        cards.check_pin_at_payment(ctx, actor=actor, card_no=credential["card_no"], pin=credential["pin"],
                                   clears_tries=False)
    policy, now = ctx.policy, ctx.now()
    today = local_date(now)
    with ctx.uow() as uow:
        code = digest(credential["code"]) if credential["type"] == "evoucher_code" else None
        found = uow.settlements.facts(institution_code=institution_code, day=today, now=now,
                                      owner_id=account_owner_id, payer_id=_card_holder(uow, credential, today),
                                      code_digest=code)
        payment = _plan(uow, policy, found, credential=credential, account_owner_id=account_owner_id, lines=lines,
                        emergency=emergency, now=now)
        used = used_now(uow, owner_id=payment.owner_id, institution_code=institution_code, plan=payment.plan,
                        today=today)
        balance = _available_at(uow, acct.personal(payment.owner_id), now)
        decision = enforce(policy.decide(replace(payment.facts, used=used, balance_fen=balance), today))
    total, pay = sum(a for _, a in lines), decision.max_amount_fen
    return {"institution_code": institution_code, "payer_id": payment.payer_id,
            "account_owner_id": payment.owner_id,
            "credential_type": "card" if credential["type"] == "card" else "evoucher", "total_fen": total,
            "account_paid_fen": pay, "cash_fen": total - pay, "balance_after_fen": balance - pay,
            "items": [{"category": c, "amount_fen": a} for c, a in lines], "decision": _decision(decision),
            "emergency": emergency}


def _available_at(uow: UnitOfWork, account_id: str, now: dt.datetime) -> int:
    """What a payment would find available in the account: holds past their time count as released, as a
    settlement releases them before it decides."""
    account = uow.ledger.accounts({account_id}).get(account_id)
    if account is None:
        return 0
    return account.available_fen + sum(h.amount_fen for h in uow.ledger.expired_holds(account_id, now))


def _claim_and_find(uow: UnitOfWork, *, scope: str, key: str, request: dict, now: dt.datetime, institution_code: str,
                    credential: dict, owner_id: str | None) -> tuple[idempotency.Once, SettlementFacts | None]:
    """Claim the payment's key, then read its facts (none for a retry). An e-voucher's payment on PostgreSQL
    does both in one statement; a card is checked between the two, as it was before: a retry is answered
    whatever happened to the card since."""
    today = local_date(now)
    lookup = {"institution_code": institution_code, "day": today, "now": now, "owner_id": owner_id}
    if credential["type"] == "evoucher_code" and uow.settlements.claims_with_facts():
        read: list[SettlementFacts] = []

        def claim(scope: str, key: str, request_hash: str, at: dt.datetime) -> bool:
            read.append(uow.settlements.facts(**lookup, code_digest=digest(credential["code"]),
                                              claim=Claim(scope, key, request_hash, at)))
            return read[0].claimed

        once = idempotency.Once(uow, scope=scope, key=key, request=request, now=now, claim=claim)
        return once, read[0]
    once = idempotency.Once(uow, scope=scope, key=key, request=request, now=now)
    if once.earlier is not None:
        return once, None
    code = digest(credential["code"]) if credential["type"] == "evoucher_code" else None
    return once, uow.settlements.facts(**lookup, payer_id=_card_holder(uow, credential, today), code_digest=code)


def _emergency_audit(emergency: bool, decision: Decision) -> dict:
    """What the audit record says of a stated emergency: that it was claimed, and whether the policy counted it
    as filed."""
    return {"emergency_claimed": True,
            "emergency_counted": bool(decision.details.get("emergency_counted"))} if emergency else {}


def _decision(decision: Decision) -> dict:
    shown = decision.as_dict()
    return {"limited_by": shown["limited_by"],
            "rules": [{k: r[k] for k in ("rule_id", "region", "effective_from", "reference")} for r in shown["reasons"]],
            "explanation_zh": shown["explanation_zh"], "explanation_en": shown["explanation_en"]}


def quotas_in_force(*, owner_id: str, institution_code: str, plan: Decision,
                    today: dt.date) -> dict[str, tuple[str, Unit, int]]:
    """The quota accounts of the limits a payment's plan puts in force: {account id: (limit kind, unit, limit)}."""
    quotas = {}
    for kind, limit in plan.details.get("limits", {}).items():
        if kind in QUOTA_LIMITS:
            account_id, unit = quota_account(owner_id, kind, today, institution_code)
            quotas[account_id] = (kind, unit, limit["limit"])
    return quotas


def _open_accounts(books: Books, owner_id: str, region: str, institution: Institution, plan: Decision,
                   today: dt.date) -> tuple[dict[str, tuple[str, Unit, int]], set[str]]:
    """Lock what a payment may touch, opening first what does not exist yet: the person's account, the
    institution's payable account, and the quota accounts of the limits in force with their source.
    Returns the quotas as {account id: (limit kind, unit, limit)}, and the ids this call created."""
    now = books.now
    quotas = quotas_in_force(owner_id=owner_id, institution_code=institution.code, plan=plan, today=today)
    opening = [acct.new_account(acct.personal(owner_id), AccountKind.PERSONAL, region, now, person_id=owner_id),
               acct.new_account(acct.institution_payable(institution.code), AccountKind.INSTITUTION_PAYABLE,
                                institution.region, now, institution_code=institution.code)]
    opening += [acct.new_account(account_id, AccountKind.QUOTA, region, now, unit=unit, person_id=owner_id)
                for account_id, (_, unit, _) in quotas.items()]
    for unit in sorted({u for _, u, _ in quotas.values()}):
        opening.append(acct.new_account(acct.quota_source(region, unit), AccountKind.QUOTA_SOURCE, region, now,
                                        unit=unit))
    return quotas, books.open_and_lock(opening)


def _regrants(uow: UnitOfWork, accounts: Mapping[str, Account], quotas: dict,
              plan: Decision) -> dict[str, tuple[Unit, int]]:
    """What each quota is to be given for its period's limit: in full when it does not exist yet (it is
    not in `accounts`); the difference when the limit changed since it was opened."""
    moves: dict[str, tuple[Unit, int]] = {}
    for account_id, (kind, unit, limit) in quotas.items():
        account = accounts.get(account_id)
        since = plan.details["limits"][kind]["since"]
        if account is None:
            change = limit
        elif since > local_date(account.created_at):  # a new figure took effect within the period
            change = limit - int(uow.settlements.granted(account_id))
            change = max(change, -account.available_fen)  # what is used stays used
        else:
            continue
        if change:
            moves[account_id] = (unit, change)
    return moves


def _grant_quotas(uow: UnitOfWork, books: Books, region: str, quotas: dict, created: set[str],
                  plan: Decision) -> None:
    """Give each quota its period's limit: in full when this payment opened it; the difference when the limit
    changed since it was opened."""
    existing = {q: books.account(q) for q in quotas if q not in created}
    moves = _regrants(uow, existing, quotas, plan)
    if moves:
        books.post(EntryKind.QUOTA_GRANT, _quota_legs(region, moves), memo="额度",
                   details={"limits": {quotas[q][0]: quotas[q][2] for q in moves}})


def _used(quotas: dict, available: Mapping[str, int]) -> dict[str, int]:
    """What is used of each limit: the limit less what its quota has left."""
    return {kind: limit - available[q] for q, (kind, _, limit) in quotas.items()}


def used_now(uow: UnitOfWork, *, owner_id: str, institution_code: str, plan: Decision,
             today: dt.date) -> dict[str, int]:
    """What a payment from the owner's account at the institution would find used now of each limit in force
    (today's at that institution, today's, this year's, today's payments), read from the same quota accounts a
    settlement debits, without locking or opening them."""
    quotas = quotas_in_force(owner_id=owner_id, institution_code=institution_code, plan=plan, today=today)
    accounts = uow.ledger.accounts(quotas)
    moves = _regrants(uow, accounts, quotas, plan)
    return _used(quotas, {q: (accounts[q].available_fen if q in accounts else 0) + moves.get(q, (None, 0))[1]
                          for q in quotas})


def _quota_legs(region: str, moves: dict[str, tuple[Unit, int]]) -> list[Posting]:
    """Postings that move quota accounts, each unit balanced against the region's quota source."""
    legs, per_unit = [], defaultdict(int)
    for account_id, (unit, amount) in sorted(moves.items()):
        legs.append(Posting(account_id, amount))
        per_unit[unit] -= amount
    legs += [Posting(acct.quota_source(region, unit), amount) for unit, amount in per_unit.items() if amount]
    return legs


def _view(s: Settlement, balance_fen: int | None) -> dict:
    view = {"settlement_id": s.id, "receipt_no": s.id, "institution_code": s.institution_code, "payer_id": s.payer_id,
            "account_owner_id": s.owner_id, "credential_type": s.credential_type, "total_fen": s.total_fen,
            "account_paid_fen": s.account_paid_fen, "cash_fen": s.cash_fen, "refunded_fen": s.refunded_fen,
            "status": s.status, "business_date": s.business_date.isoformat(), "at": s.at.isoformat(),
            "items": s.items, "decision": s.decision, "entry_id": s.entry_id, "emergency": s.emergency}
    if balance_fen is not None:
        view["balance_after_fen"] = balance_fen
    return view


# --- refunds ---------------------------------------------------------------------------------


def refund(ctx: Context, *, actor: Actor, settlement_id: str, idempotency_key: str,
           amount_fen: int | None = None) -> dict:
    """Return all or part of what the account paid, by the institution that settled; frees the period's quota
    unless the policy says otherwise."""
    now = ctx.now()
    policy = ctx.policy
    with ctx.uow() as uow:
        uow.conflict_means(errors.ConcurrentChange())
        found = uow.get(Settlement, settlement_id, for_update=True)
        if found is None:
            raise errors.SettlementNotFound()
        access.ensure(actor, "settlement", "refund", institution_code=found.institution_code)
        once = idempotency.Once(uow, scope=f"refund:{found.institution_code}", key=idempotency_key,
                                request={"settlement_id": settlement_id, "amount_fen": amount_fen}, now=now)
        if once.earlier is not None:
            return once.earlier
        if uow.persons.standing(found.owner_id).closed:
            raise errors.AccountClosed()
        amount = found.refundable_fen if amount_fen is None else amount_fen
        found.refund(amount)
        owner = uow.get(Person, found.owner_id)
        institution = uow.get(Institution, found.institution_code)
        restores = policy.decide(RefundFacts(region=owner.region, institution_kind=institution.kind),
                                 local_date(now)).details["restores_quota"]
        books = Books(uow, now)
        legs = [Posting(acct.institution_payable(found.institution_code), -amount),
                *_back_to_person(found, amount, local_date(now))]
        restored = {}
        if restores:
            for account_id, used in found.quotas.items():
                unit = Unit(books.account(account_id).unit)
                back = (1 if found.refundable_fen == 0 else 0) if unit == Unit.COUNT else min(used, amount)
                if back:
                    restored[account_id] = (unit, back)
            legs += _quota_legs(owner.region, restored)
        entry = books.post(EntryKind.REFUND, legs, memo=f"{institution.name} 退费"[:200],
                           details={"settlement_id": found.id, "restores_quota": restores})
        record = Refund(new_id("rfd"), found.id, amount, entry.id, now, actor.username)
        uow.add(record)
        response = {"refund_id": record.id, "settlement_id": found.id, "amount_fen": amount,
                    "refunded_fen": found.refunded_fen, "status": found.status, "restores_quota": restores,
                    "balance_after_fen": books.account(acct.personal(found.owner_id)).available_fen}
        ctx.audit(uow, actor, "settlement.refund", "settlement", found.id, amount_fen=amount, refund_id=record.id,
                  restores_quota=restores,
                  seals=[seals.seal("settlements", found), seals.seal("refunds", record),
                         seals.entry_seal(entry.id, entry.hash), once.answer_seal(response)])
        once.remember(response, sealed=True)
        uow.commit()
        return response


def _back_to_person(found: Settlement, amount: int, today: dt.date) -> list[Posting]:
    """Money returns to the part it came from: this year's, if the payment was this year, else carried over."""
    bucket = Bucket.CURRENT_YEAR if found.business_date.year == today.year else Bucket.CARRIED_OVER
    return [Posting(acct.personal(found.owner_id), amount, bucket)]


# --- reading -------------------------------------------------------------------------------------


def get_settlement(ctx: Context, *, actor: Actor, settlement_id: str) -> dict:
    with ctx.uow() as uow:
        found = uow.get(Settlement, settlement_id)
        if found is None:
            raise errors.SettlementNotFound()
        access.ensure(actor, "settlement", "read", owners=(found.payer_id, found.owner_id),
                      institution_code=found.institution_code)
        return _view(found, None)


def _day(uow: UnitOfWork, actor: Actor, code: str, day: dt.date) -> list[Settlement]:
    access.ensure(actor, "settlement", "read_day", institution_code=code)
    if uow.get(Institution, code) is None:
        raise errors.InstitutionNotFound()
    return uow.all_by(Settlement, "at", institution_code=code, business_date=day)


def institution_settlements(ctx: Context, *, actor: Actor, code: str, day: dt.date | None = None) -> list[dict]:
    """An institution's settlements of a day, oldest first (its own, or any for the agency and auditors)."""
    with ctx.uow() as uow:
        return [_view(s, None) for s in _day(uow, actor, code, day or ctx.today())]


def daily_summary(ctx: Context, *, actor: Actor, code: str, day: dt.date | None = None) -> dict:
    """What an institution reconciles against: count, totals, refunds and per category, for one day."""
    day = day or ctx.today()
    with ctx.uow() as uow:
        found = _day(uow, actor, code, day)
    per_category: dict[str, dict] = {c.value: {"total_fen": 0, "lines": 0} for c in v.Category}
    for s in found:
        for item in s.items:
            per_category[item["category"]]["total_fen"] += item["amount_fen"]
            per_category[item["category"]]["lines"] += 1
    return {"institution_code": code, "date": day.isoformat(), "count": len(found),
            "total_fen": sum(s.total_fen for s in found),
            "account_paid_fen": sum(s.account_paid_fen for s in found),
            "cash_fen": sum(s.cash_fen for s in found), "refunded_fen": sum(s.refunded_fen for s in found),
            "per_category": {c: x for c, x in per_category.items() if x["lines"]}}


def person_settlements(ctx: Context, *, actor: Actor, person_id: str) -> list[dict]:
    """A person's settlements, as payer or as the owner of the account that paid, newest first."""
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        return [_view(s, None) for s in uow.settlements.of_person(person_id)]


def emergency_claims(ctx: Context, *, actor: Actor, from_day: dt.date, to_day: dt.date) -> list[dict]:
    """Settlements whose institution stated an emergency within the days, oldest first: candidates for a misuse
    review, whether or not the policy counted the emergency as filed."""
    access.ensure(actor, "settlement", "read_emergencies")
    with ctx.uow() as uow:
        return [_view(s, None) for s in uow.settlements.emergencies(from_day, to_day)]


# --- claims: the limits a payment out of the account takes, without a settlement ---------------------------


def take_quotas(uow: UnitOfWork, books: Books, *, owner_id: str, region: str,
                uses: list[tuple[Institution, Decision, dt.date, int]], memo: str, details: dict):
    """Take from the quotas of the limits in force what payments of the owner's account at these institutions
    on these days use, as settlements there would (a claim paid by its payout, services.claim_limits): the
    quota accounts are opened, given their period's limit and locked with the owner's account as a settlement
    locks them. Returns the entry written, or None when nothing is used."""
    moves: dict[str, tuple[Unit, int]] = {}
    for institution, plan, day, amount_fen in uses:
        if amount_fen <= 0:
            continue
        quotas, created = _open_accounts(books, owner_id, region, institution, plan, day)
        books.lock([acct.personal(owner_id), *quotas])
        _grant_quotas(uow, books, region, quotas, created, plan)
        for account_id, (_, unit, _) in quotas.items():
            used = moves.get(account_id, (unit, 0))[1]
            moves[account_id] = (unit, used - (1 if unit == Unit.COUNT else amount_fen))
    if not moves:
        return None
    return books.post(EntryKind.QUOTA_USE, _quota_legs(region, moves), memo=memo[:200], details=details)

