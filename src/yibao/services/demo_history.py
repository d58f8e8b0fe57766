"""The demo's living history: what each demo person has done since the start, written through the services with
the context's clock set back to the day each thing happened, so the pages show it as a real past on today's date.

Every month's contributions are collected early the next month and each past year is closed (年度结转), so an
account holds this year's money (当年) and money carried over (历年). Persons pay at the hospital and the pharmacy
of their region; one files for care in another region and settles there directly; one settlement is refunded in
part; an owner grants their mother use of the account, she accepts and pays with it; claims stand in each state
(waiting for review, supplement asked, approved and waiting for the bank, paid in cash, rejected); the older
notices are read, the newest are not.

Each step finds its record first (by its idempotency key or natural key), so loading again writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from yibao.domain.applications import REVIEWABLE, Application, ApplicationStatus
from yibao.domain.cards import Card
from yibao.domain.clock import SHANGHAI, SettableClock
from yibao.domain.filings import FamilyGrant, Filing, GrantStatus
from yibao.domain.settlement import Settlement
from yibao.domain.users import Actor, Role
from yibao.services import notices
from yibao.services.accounts import balances, collection, contributions
from yibao.services.applications import cases, cash_vouchers, documents
from yibao.services.context import Context
from yibao.services.credentials import payment_codes
from yibao.services.crossregion import family, filings
from yibao.services.policy import sets
from yibao.services.settlement import payments

START = dt.date(2024, 1, 1)
DEMO_PIN = "258369"
LOADER = Actor.system("demo")
DECLARING_UNIT, DECLARING_UNIT_USER, DECLARED_MONTHS = "bj-tech", "unit_bj", 3
DEMO_BASE_FEN = 1_200_000  # a monthly base of ¥12,000: within every demo region's floor and ceiling
COUNTER = Actor(username="counter", role=Role.COUNTER)  # takes the claims in at the window
REVIEWER = Actor(username="reviewer", role=Role.REVIEWER)  # decides them; reviewer2 makes the bank's file
CLAIM_DOCS = ("medical_invoice", "expense_list", "diagnosis", "id_card", "bank_card")
SCAN = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
UNREAD_DAYS = 14  # notices newer than this stay unread (the supplement asked for among them)


def institution_code(prefix: str, region: str) -> str:
    """The demo institution of a kind (H hospital, C clinic, P pharmacy) in a region."""
    return f"{prefix}{region}00001"


@dataclass(frozen=True)
class Payment:
    """A settlement at an institution, `days` ago, paid with the payer's e-voucher code or card and PIN (from the
    owner's account, by a family grant)."""

    key: str
    payer: str
    institution: str
    days: int
    items: tuple[tuple[str, int], ...]
    owner: str | None = None
    by_card: bool = False


@dataclass(frozen=True)
class Claim:
    """A cross-region claim taken in at the counter `days` ago and moved by the reviewer to `target`."""

    person: str
    invoice: str
    amount_fen: int
    days: int
    target: ApplicationStatus
    payout: str = "bank"
    note: str = ""


S = ApplicationStatus
BJ, DL, HA, SH = "110000", "210200", "410000", "310000"
# demo-zhangwei-1, -2 and demo-lina-1 keep the keys the demo has always loaded them with.
PAYMENTS = [
    Payment("demo-zhangwei-1", "zhangwei", institution_code("P", BJ), 75, (("drug", 3_680),), by_card=True),
    Payment("demo-zhangwei-2", "zhangwei", institution_code("P", BJ), 33, (("drug", 12_450),)),
    Payment("demo-zhangwei-h1", "zhangwei", institution_code("H", BJ), 52, (("medical_service", 21_600),
                                                                            ("drug", 4_320))),
    Payment("demo-lina-1", "lina", institution_code("P", BJ), 41, (("drug", 8_800),)),
    Payment("demo-lina-h1", "lina", institution_code("H", BJ), 27, (("medical_service", 15_800),
                                                                    ("consumable", 2_400))),
    Payment("demo-lina-c1", "lina", institution_code("C", BJ), 12, (("medical_service", 3_500),)),
    Payment("demo-zhangxiuying-1", "zhangxiuying", institution_code("P", BJ), 18, (("drug", 6_750),),
            owner="zhangwei"),
    Payment("demo-wangfang-h1", "wangfang", institution_code("H", DL), 96, (("medical_service", 18_900),)),
    Payment("demo-wangfang-p1", "wangfang", institution_code("P", DL), 64, (("drug", 5_260),)),
    Payment("demo-wangfang-x1", "wangfang", institution_code("H", BJ), 22, (("medical_service", 32_000),
                                                                           ("drug", 7_700))),
    Payment("demo-liuyang-h1", "liuyang", institution_code("H", HA), 58, (("medical_service", 11_200),)),
    Payment("demo-liuyang-p1", "liuyang", institution_code("P", HA), 20, (("drug", 4_580),)),
    Payment("demo-zhaoqiang-c1", "zhaoqiang", institution_code("C", HA), 47, (("medical_service", 2_800),)),
    Payment("demo-zhaoqiang-p1", "zhaoqiang", institution_code("P", HA), 9, (("drug", 3_150),)),
]
Refund = namedtuple("Refund", "payment key amount_fen days")  # of the payment with that key, `days` ago
REFUND = Refund("demo-lina-h1", "demo-lina-h1-refund", 2_400, 25)
Grant = namedtuple("Grant", "owner grantee relation days")  # made online `days` ago, accepted a day later
GRANT = Grant("zhangwei", "zhangxiuying", "parent", 60)
FilingPlan = namedtuple("FilingPlan", "person type reason destination days")
FILING = FilingPlan("wangfang", "long_term", "posted_worker", BJ, 120)
CLAIMS = [
    Claim("lina", "DEMO-SH-0002", 18_500, 4, S.SUBMITTED),
    Claim("zhangwei", "DEMO-SH-0001", 26_000, 9, S.APPROVED, note="材料齐全 papers complete"),
    Claim("wangfang", "DEMO-SH-0003", 9_600, 14, S.SUPPLEMENT_REQUESTED,
          note="请补充费用明细清单 please add the itemised expense list"),
    Claim("liuyang", "DEMO-SH-0004", 12_300, 40, S.PAID, payout="cash_voucher", note="材料齐全 papers complete"),
    Claim("zhaoqiang", "DEMO-SH-0005", 7_400, 30, S.REJECTED,
          note="发票与费用清单金额不符 the invoice and the expense list disagree"),
]
CASH_AT = institution_code("H", HA)  # where liuyang's cash voucher is paid out
CASHIER = Actor(username="hospital_ha", role=Role.INSTITUTION, institution_code=CASH_AT)
REVIEW_ACTION = {S.APPROVED: "approve", S.PAID: "approve", S.REJECTED: "reject",
                 S.SUPPLEMENT_REQUESTED: "request_supplement"}


# What each person's history shows (the demo's logins list it).
STORIES = {
    "zhangwei": "pays at the Beijing hospital and pharmacy; his mother 张秀英 pays from his account (family grant); "
                "a claim approved, waiting for the bank",
    "lina": "paid at three Beijing institutions, one payment refunded in part; a claim waiting for review",
    "zhangxiuying": "residents' scheme, no personal account of her own; pays from her son 张伟's account",
    "wangfang": "filed for long-term care in Beijing and settled there directly; a claim asked for a supplement",
    "liuyang": "paid at the Henan hospital and pharmacy; a claim paid in cash at the Henan hospital",
    "chenjing": "residents' scheme in Shanghai: newly registered, no history yet",
    "zhaoqiang": "flexible employment in Henan; paid at a clinic and a pharmacy; a claim rejected",
}


@dataclass
class Cast:
    """Who the history is about, by person key: their id, scheme, employer's id, and the e-voucher token of
    those whose e-voucher this load activated (they pay with its codes; the others with card and PIN); and the
    units' ids by their key."""

    persons: dict[str, str]
    schemes: dict[str, str]
    employers: dict[str, str | None]
    tokens: dict[str, str]
    units: dict[str, str]


# --- the clock ----------------------------------------------------------------------------------------------


@contextmanager
def _at(ctx: Context, moment: dt.datetime) -> Iterator[None]:
    """The services see `moment` as now while the block runs."""
    kept = ctx.clock
    ctx.clock = SettableClock(moment)
    try:
        yield
    finally:
        ctx.clock = kept


def _moment(day: dt.date, hour: int, latest: dt.datetime) -> dt.datetime:
    """That day at that hour in China, but never after `latest`."""
    return min(dt.datetime.combine(day, dt.time(hour), SHANGHAI), latest)


def _person_actor(cast: Cast, key: str) -> Actor:
    return Actor(username=key, role=Role.PERSON, person_id=cast.persons[key])


# --- the timeline -------------------------------------------------------------------------------------------


def live(ctx: Context, cast: Cast, count: Callable[[str], None]) -> None:
    """Write the whole history in the order it happened; `count` is told of each record newly made."""
    History(ctx, cast, count).write()


class History:
    """The steps of the history, each done on its own day."""

    def __init__(self, ctx: Context, cast: Cast, count: Callable[[str], None]) -> None:
        self.ctx, self.cast, self.count = ctx, cast, count
        self.latest = ctx.now() - dt.timedelta(minutes=1)
        self.today = ctx.today()
        self.settled: dict[str, str] = {}  # a payment's idempotency key → its settlement id

    def _day(self, days_ago: int, hour: int) -> dt.datetime:
        return _moment(self.today - dt.timedelta(days=days_ago), hour, self.latest)

    def write(self) -> None:
        """Every step in the order it happened, then the older notices read."""
        steps = self._contribution_steps()
        steps += [(self._day(p.days, 11), partial(self._pay, p)) for p in PAYMENTS]
        steps.append((self._day(REFUND.days, 15), self._refund))
        steps.append((self._day(GRANT.days, 20), self._grant))
        steps.append((self._day(GRANT.days - 1, 9), self._accept))
        steps.append((self._day(FILING.days, 10), self._file))
        for claim in CLAIMS:
            steps.append((self._day(claim.days, 10), partial(self._take_in, claim)))
            if claim.target != S.SUBMITTED:
                steps.append((self._day(claim.days - 2, 14), partial(self._decide, claim)))
            if claim.target == S.PAID:
                steps.append((self._day(claim.days - 4, 10), partial(self._pay_cash, claim)))
        for moment, step in sorted(steps, key=lambda s: s[0]):
            with _at(self.ctx, moment):
                step()
        self._read_older_notices()

    # --- contributions and the turn of the year ---

    def _contribution_steps(self) -> list:
        """Each month since the start collected on the 5th of the next; each past year closed on 1 January."""
        today = self.today
        months = [(y, m) for y in range(START.year, today.year + 1) for m in range(1, 13)
                  if (START.year, START.month) <= (y, m) < (today.year, today.month)]
        steps = []
        for y, m in months:
            collected = dt.date(y + m // 12, m % 12 + 1, 5)
            steps.append((_moment(collected, 10, self.latest), partial(self._collect, f"{y:04d}-{m:02d}")))
        for year in range(START.year, today.year):
            steps.append((_moment(dt.date(year + 1, 1, 1), 2, self.latest), partial(self._close_year, year)))
        for y, m in months[-DECLARED_MONTHS:]:  # the unit's declarations: these collected the day before ...
            declared = dt.date(y + m // 12, m % 12 + 1, 6)
            steps.append((_moment(declared, 9, self.latest), partial(self._declare, f"{y:04d}-{m:02d}")))
        steps.append((self.latest, partial(self._declare, f"{today.year:04d}-{today.month:02d}")))  # ... this one owed
        return steps

    def _collect(self, period: str) -> None:
        for key, person_id in self.cast.persons.items():
            if self.cast.schemes[key] == "resident":  # the residents' scheme has no personal account to credit
                continue
            contributions.credit(self.ctx, actor=LOADER, person_id=person_id, period=period,
                                 base_fen=DEMO_BASE_FEN, employer_id=self.cast.employers[key])  # again: no change

    def _declare(self, period: str) -> None:
        """The Beijing unit declares the month for each of its employees (the same declaration again: no change)."""
        unit = Actor(username=DECLARING_UNIT_USER, role=Role.UNIT, employer_id=self.cast.units[DECLARING_UNIT])
        for key, person_id in self.cast.persons.items():
            if self.cast.employers[key] == unit.employer_id:
                collection.declare(self.ctx, actor=unit, person_id=person_id, period=period, base_fen=DEMO_BASE_FEN,
                                   employer_id=unit.employer_id)

    def _close_year(self, year: int) -> None:
        balances.year_end(self.ctx, year=year)  # moves nothing twice

    # --- paying at institutions ---

    def _card_of(self, key: str) -> Card:
        with self.ctx.uow() as uow:
            return uow.one_by(Card, person_id=self.cast.persons[key], status="active")

    def _credential(self, key: str, *, by_card: bool = False) -> dict:
        """A fresh payment code of the person's e-voucher (cheap) or, without its token, the card and PIN."""
        token = self.cast.tokens.get(key)
        if token and not by_card:
            return {"type": "evoucher_code", "code": payment_codes.issue(self.ctx, token=token, address="demo").code}
        return {"type": "card", "card_no": self._card_of(key).card_no, "pin": DEMO_PIN}

    def _pay(self, p: Payment) -> None:
        with self.ctx.uow() as uow:
            found = uow.one_by(Settlement, institution_code=p.institution, idempotency_key=p.key)
        if found is not None:
            self.settled[p.key] = found.id
            return
        paid = payments.settle(self.ctx, actor=LOADER, idempotency_key=p.key, institution_code=p.institution,
                               credential=self._credential(p.payer, by_card=p.by_card),
                               items=[{"category": c, "amount_fen": fen} for c, fen in p.items],
                               account_owner_id=self.cast.persons[p.owner] if p.owner else None)
        self.settled[p.key] = paid["settlement_id"]
        self.count("settlements")

    def _refund(self) -> None:
        payments.refund(self.ctx, actor=LOADER, settlement_id=self.settled[REFUND.payment],
                        idempotency_key=REFUND.key, amount_fen=REFUND.amount_fen)

    # --- the family grant and the filing ---

    def _grant(self) -> None:
        owner, grantee = self.cast.persons[GRANT.owner], self.cast.persons[GRANT.grantee]
        with self.ctx.uow() as uow:
            if uow.one_by(FamilyGrant, owner_id=owner, grantee_id=grantee):
                return
        family.grant(self.ctx, actor=_person_actor(self.cast, GRANT.owner), owner_id=owner, grantee_id=grantee,
                     relation=GRANT.relation)
        self.count("family grants")

    def _accept(self) -> None:
        owner, grantee = self.cast.persons[GRANT.owner], self.cast.persons[GRANT.grantee]
        with self.ctx.uow() as uow:
            pending = uow.one_by(FamilyGrant, owner_id=owner, grantee_id=grantee, status=GrantStatus.PENDING)
        if pending is not None:
            family.accept(self.ctx, actor=_person_actor(self.cast, GRANT.grantee), grant_id=pending.id)

    def _file(self) -> None:
        person_id = self.cast.persons[FILING.person]
        with self.ctx.uow() as uow:
            if uow.one_by(Filing, person_id=person_id):
                return
        filings.file(self.ctx, actor=_person_actor(self.cast, FILING.person), person_id=person_id,
                     type=FILING.type, reason=FILING.reason, destination_region=FILING.destination,
                     start_date=self.ctx.today())
        self.count("filings")

    # --- claims: taken in on their day, decided two days later, a cash voucher paid two days after that ---

    def _application(self, claim: Claim) -> Application | None:
        with self.ctx.uow() as uow:
            return uow.one_by(Application, person_id=self.cast.persons[claim.person], kind="reimbursement")

    def _take_in(self, claim: Claim) -> None:
        if self._application(claim) is not None:
            return
        person_id = self.cast.persons[claim.person]
        papers = [documents.upload(self.ctx, actor=COUNTER, person_id=person_id, type=kind, content=SCAN).id
                  for kind in CLAIM_DOCS]
        day = self.ctx.today() - dt.timedelta(days=6)
        cash = {"institution_code": CASH_AT} if claim.payout == "cash_voucher" else {}
        cases.submit(self.ctx, actor=COUNTER, person_id=person_id, kind="reimbursement", reason="cross_region",
                     document_ids=papers, event_date=day, payout=claim.payout, **cash,
                     invoices=[{"number": claim.invoice, "issuer": institution_code("H", SH),
                                "date": day.isoformat(),
                                "items": [{"category": "medical_service", "amount_fen": claim.amount_fen}]}])
        self.count("applications")

    def _decide(self, claim: Claim) -> None:
        app = self._application(claim)
        if app is None or app.status not in REVIEWABLE:
            return
        extra = {"missing": ["expense_list"]} if claim.target == S.SUPPLEMENT_REQUESTED else {}
        cases.review(self.ctx, actor=REVIEWER, application_id=app.id, action=REVIEW_ACTION[claim.target],
                     note=claim.note, **extra)

    def _pay_cash(self, claim: Claim) -> None:
        app = self._application(claim)
        if app is None or app.status != S.DISBURSING:
            return
        with self.ctx.uow() as uow:
            voucher = cash_vouchers.current(uow, app.id)
        cash_vouchers.redeem(self.ctx, actor=CASHIER, code=voucher.code, institution_code=CASH_AT,
                             credential=self._credential(claim.person))

    # --- the inbox ---

    def _read_older_notices(self) -> None:
        """The person has read what came before the last days; the newest notices wait unread."""
        before = self.latest - dt.timedelta(days=UNREAD_DAYS)
        for key, person_id in self.cast.persons.items():
            reader = _person_actor(self.cast, key)
            for notice in sets.notices_of(self.ctx, actor=reader, person_id=person_id):
                if notice.get("read_at") is None and notice["created_at"] < before:
                    notices.mark_read(self.ctx, actor=reader, person_id=person_id, notice_id=notice["id"])
