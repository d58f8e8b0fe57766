"""Test helpers: valid synthetic numbers, sign-in, and a small world with a user of every role."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from yibao.domain.identity import with_luhn_digit, with_ric_digit, with_uscc_digit
from yibao.domain.users import Actor, Role
from yibao.services.credentials import auth, cards, evouchers
from yibao.services.registry import enrolment, institutions

API = "/api/v1"
YIBAO = str(Path(sys.executable).parent / "yibao")
PASSWORD = "correct-horse-9"
PIN = "258369"
# the smallest papers the document checks accept, and the papers a reimbursement claim needs
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
CLAIM_DOCS = ("medical_invoice", "expense_list", "diagnosis", "id_card", "bank_card")
_seq = itertools.count(1)


def new_id_number(place: str = "110105", birth: str | None = None, male: bool = True) -> str:
    """A valid, unused synthetic ID number; without a birth date each call also moves the birth day."""
    n = next(_seq)
    if birth is None:  # the day moves with each call, the sequence with each lap of the days: 1.5 M numbers
        birth = (dt.date(1960, 1, 1) + dt.timedelta(days=n % 15000)).strftime("%Y%m%d")
        n //= 15000
    seq = f"{n % 100:02d}{1 if male else 2}"
    return with_ric_digit(place + birth + seq)


def new_uscc() -> str:
    return with_uscc_digit(f"91110105MA{next(_seq):07d}")


def new_bank_no() -> str:
    return with_luhn_digit(f"622202{next(_seq):012d}")


def new_phone() -> str:
    return f"139{next(_seq):08d}"


def assert_problem(r, status: int, code: str | None = None) -> dict:
    """A problem+json answer: every RFC 9457 field, a stable dotted code, and both messages."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0].strip() == "application/problem+json"
    body = r.json()
    for name in ("type", "title", "status", "detail", "code", "message_zh", "message_en"):
        assert body.get(name) not in (None, ""), f"problem field {name!r} missing: {r.text}"
    assert body["status"] == status
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", body["code"]), body["code"]
    assert body["message_zh"] != body["message_en"]
    if code:
        assert body["code"] == code, r.text
    return body


def count(ctx, table) -> int:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def rows(ctx, table) -> list:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(table)).all()


def bearer(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass
class PersonFixture:
    id: str
    id_number: str
    name: str
    phone: str
    username: str
    card_no: str | None = None


@dataclass
class World:
    """A unit with an employee, another person, an institution, and a user of every role."""

    employer_id: str
    institution_code: str
    person: PersonFixture  # employee of the unit, has a user
    other: PersonFixture  # not an employee of the unit, has a user
    users: dict[str, str] = field(default_factory=dict)  # role -> username


def add_person(ctx, admin: Actor, *, name: str = "张伟", region: str = "110000", username: str | None = None,
               card: bool = True, birth: str = "19850312") -> PersonFixture:
    number = new_id_number(birth=birth)
    phone = new_phone()
    person = enrolment.register_person(ctx, actor=admin, id_number=number, name=name, phone=phone, region=region)
    fixture = PersonFixture(person.id, number, name, phone, username or f"p{person.id[-6:]}")
    auth.add_user(ctx, actor=admin, username=fixture.username, password=PASSWORD, role="person", person_id=person.id)
    if card:
        c = cards.issue_card(ctx, actor=admin, person_id=person.id)
        cards.activate(ctx, actor=admin, card_no=c.card_no, id_number=number, pin=PIN)
        fixture.card_no = c.card_no
    return fixture


def build_world(ctx, admin: Actor) -> World:
    employer = enrolment.register_employer(ctx, actor=admin, uscc=new_uscc(), name="示例单位", region="110000",
                                           contact_name="周敏", contact_phone=new_phone())
    institution = institutions.add_institution(ctx, actor=admin, code="P11000000001", name="示例大药房",
                                               kind="pharmacy", region="110000", designated=True,
                                               cross_region=False, designated_from=dt.date(2024, 1, 1))
    person = add_person(ctx, admin, name="张伟", username="employee")
    enrolment.enroll(ctx, actor=admin, person_id=person.id, scheme="employee", employer_id=employer.id,
                     start_date=dt.date(2024, 1, 1))
    evouchers.link_bank_account(ctx, actor=admin, person_id=person.id, account_no=new_bank_no(),
                                  bank_name="中国工商银行", holder_name="张伟")
    other = add_person(ctx, admin, name="李娜", username="stranger")
    users = {"person": "employee"}
    for role, links in [("unit", {"employer_id": employer.id}),
                        ("institution", {"institution_code": institution.code}),
                        ("counter", {}), ("terminal", {}), ("collector", {}),
                        ("reviewer", {}), ("auditor", {}), ("admin", {})]:
        auth.add_user(ctx, actor=admin, username=f"{role}-user", password=PASSWORD, role=role, **links)
        users[role] = f"{role}-user"
    return World(employer.id, institution.code, person, other, users)


def yibao(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the `yibao` command as an operator would, in the given environment."""
    return subprocess.run([YIBAO, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)


class StoppedClock:
    """Time that moves only when told to: runs that are compared, or a model that counts minutes exactly,
    see the same moments (the settable clock keeps running from the time it was set)."""

    def __init__(self, moment: dt.datetime | None = None) -> None:
        self.moment = moment

    def set(self, moment: dt.datetime) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment


def in_register(ctx, admin: Actor, id_number: str, name: str, status: str = "alive", event_date: str = "") -> None:
    """Put a person in the residents register (人口库), as its extract would."""
    from yibao.services.registry import residents

    summary = residents.import_rows(ctx, actor=admin, source="test", rows=[
        (1, {"id_number": id_number, "name": name, "status": status, "event_date": event_date})])
    assert summary.rejected == 0, summary.rejections


MONTHLY_BASE_FEN = 2_500_000  # ¥25,000 a month: within the floor and ceiling of every shipped region since mid-2023


def fund(ctx, admin: Actor, person_id: str, *, months: int, last: str = "2026-01", employer_id: str | None = None,
         base_fen: int = MONTHLY_BASE_FEN) -> int:
    """Credit `months` collected months up to `last` at a plausible base, as the collector would (an account
    grows month by month: one month's base is bounded by the region's ceiling); the fen credited."""
    from yibao.services.accounts import contributions

    year, month = map(int, last.split("-"))
    credited = 0
    for back in range(months - 1, -1, -1):
        y, m = divmod(year * 12 + month - 1 - back, 12)
        credited += contributions.credit(ctx, actor=admin, person_id=person_id, period=f"{y:04d}-{m + 1:02d}",
                                         base_fen=base_fen, employer_id=employer_id)["credited_fen"]
    return credited


def row_counts(ctx) -> dict:
    """Row counts of every table: what a write would change."""
    from yibao.store.tables import metadata

    counts = [sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name)
              for t in metadata.sorted_tables]
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(*counts)).one()._asdict()


def ledger_hold(ctx, person_id: str, amount_fen: int, *, minutes: int = 60, purpose: str = "test",
                region: str = "110000"):
    """A hold placed on the books directly (no route places one by hand): what a payout or an old free-form
    hold leaves; the Hold."""
    from yibao.ledger import accounts as acct
    from yibao.ledger.accounts import AccountKind
    from yibao.services.accounts.books import Books

    with ctx.uow() as uow:
        books = Books(uow, ctx.now())
        books.open(acct.bank_clearing(region), AccountKind.BANK_CLEARING, region)
        hold = books.reserve(acct.personal(person_id), acct.bank_clearing(region), amount_fen,
                             expires_at=ctx.now() + dt.timedelta(minutes=minutes), purpose=purpose)
        uow.commit()
        return hold


def ledger_capture(ctx, hold_id: str, amount_fen: int | None = None):
    """Capture a hold on the books directly; the Entry."""
    from yibao.services.accounts.books import Books

    with ctx.uow() as uow:
        entry = Books(uow, ctx.now()).capture(hold_id, amount_fen)
        uow.commit()
        return entry


def bank_return(ctx, file_id: str, failed: dict[int, str] | None = None) -> bytes:
    """A new return file signed by the bank (the simulator the test settings name) for a payment file it
    received: every line paid, except those named with the bank's reason."""
    import json
    import urllib.request

    url = ctx.settings.bank_url
    if failed:
        urllib.request.urlopen(urllib.request.Request(
            f"{url}/files/{file_id}/failures", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"lines": {str(n): reason for n, reason in failed.items()}}).encode()), timeout=10)
    with urllib.request.urlopen(urllib.request.Request(f"{url}/files/{file_id}/returns", method="POST", data=b""),
                                timeout=10) as answer:
        return answer.read()


def pay_code(client, token: str) -> dict:
    """A settlement credential from an e-voucher: the one-minute payment code its app shows (POST /evouchers/codes)."""
    r = client.post(f"{API}/evouchers/codes", json={"token": token})
    assert r.status_code == 201, r.text
    return {"type": "evoucher_code", "code": r.json()["code"]}


def code_credential(ctx, token: str) -> dict:
    """pay_code through the service, for tests that settle without the HTTP stack."""
    from yibao.services.credentials import payment_codes

    return {"type": "evoucher_code", "code": payment_codes.issue(ctx, token=token).code}


SHANGHAI_HOSPITAL = "H31000000001"  # a Shanghai hospital networked for cross-region settlement


def funded_world(ctx, admin: Actor, *, at: dt.datetime) -> World:
    """build_world with four collected months in the employee's account (¥2,000), the clock then set to `at`."""
    from yibao.domain.clock import SHANGHAI

    ctx.clock.set(dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    world = build_world(ctx, admin)
    fund(ctx, admin, world.person.id, months=4, employer_id=world.employer_id)
    ctx.clock.set(at)
    return world


def add_shanghai_hospital(ctx, admin: Actor, *, username: str = "hospital-sh") -> None:
    """The Shanghai hospital, designated and networked, with a cashier signing in as `username`."""
    from yibao.services.credentials import auth
    from yibao.services.registry import institutions

    institutions.add_institution(ctx, actor=admin, code=SHANGHAI_HOSPITAL, name="上海示例医院", kind="hospital",
                                 region="310104", designated=True, cross_region=True,
                                 designated_from=dt.date(2024, 1, 1))
    auth.add_user(ctx, actor=admin, username=username, password="correct-horse-9", role="institution",
                  institution_code=SHANGHAI_HOSPITAL)


def with_wrong_check_digit(number: str) -> str:
    """An ID number whose last character is not its check digit, whatever that digit is."""
    return number[:-1] + ("1" if number[-1] in "0X" else "0")


def cross_region_claim(ctx, world: World, *, by: Actor | None = None, number: str = "INV-200",
                       amount_fen: int = 15_000, days: int = 1) -> str:
    """The world's employee's cross-region claim on the Shanghai hospital's invoices with its papers, submitted
    (by the person, unless staff takes it in); its id. Over several days, one invoice a day of `amount_fen`."""
    from yibao.services.applications import cases, documents

    by = by or Actor(username="employee", role=Role.PERSON, person_id=world.person.id)
    papers = [documents.upload(ctx, actor=by, person_id=world.person.id, type=kind,
                               content=PNG if kind == "id_card" else PDF).id for kind in CLAIM_DOCS]
    app, _rules = cases.submit(ctx, actor=by, person_id=world.person.id, kind="reimbursement",
                               reason="cross_region", document_ids=papers,
                               invoices=[{"number": f"{number}-{n}", "issuer": SHANGHAI_HOSPITAL,
                                          "date": f"2026-02-{20 - n:02d}",
                                          "items": [{"category": "drug", "amount_fen": amount_fen}]}
                                         for n in range(days)])
    return app.id


def beijing_settlement_proposal(*, institution_daily: tuple[str, int], daily_count: int | None = None) -> str:
    """Beijing's settlement file with a new limit a day at one institution from a day (day, fen) and, if given, a
    test's own limit of payments a day from 2026-03-01, refused beyond: a proposal for the what-if."""
    from yibao.services.policy import sets

    day, fen = institution_daily
    text = (sets.BUNDLED / "110000-beijing" / "settlement.yaml").read_text(encoding="utf-8").replace(
        "      2019-01-01: 50000\n", f"      2019-01-01: 50000\n      {day}: {fen}\n", 1)
    if daily_count is None:
        return text
    return text.replace("parameters:\n", f"""parameters:
  settlement.limit.daily_count:
    description: {{zh: 每日支付笔数上限（测试用）, en: Payments a day (a test's own figure)}}
    unit: count
    reference: 测试
    values:
      2026-03-01: {daily_count}
""", 1) + f"""\
  bj.settlement.daily_count:
    question: settlement.limit.daily_count
    description: {{zh: 每日至多{daily_count}笔（测试用）, en: At most {daily_count} payments a day (a test's own rule)}}
    reference: 测试
    versions:
      2026-03-01: {{limit: settlement.limit.daily_count, on_reach: refuse}}
"""
