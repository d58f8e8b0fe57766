"""Demo data: the seed regions, institutions of each kind, units, persons with cards,
e-vouchers and bank accounts, a user of every role, and the residents register (人口库)
that knows them (and a few people not registered here yet); then each person's living
history (services.demo_history): contributions, settlements, a refund, a family grant, a
filing, claims in every state and notices.

Loading is idempotent: each record is looked up by its natural key first, so a second
run changes nothing. ID numbers, credit codes and bank numbers are generated with
valid check digits; they are synthetic, not anyone's real numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yibao.domain.cards import Card
from yibao.domain.credentials import BankAccount, EVoucher
from yibao.domain.identity import with_luhn_digit, with_ric_digit, with_uscc_digit
from yibao.domain.registry import Employer, Enrollment, Institution, Person
from yibao.domain.users import User
from yibao.services import demo_history
from yibao.services.context import Context
from yibao.services.credentials import auth, cards, evouchers
from yibao.services.demo_history import DEMO_PIN, LOADER, START, institution_code
from yibao.services.policy import sets
from yibao.services.registry import enrolment, institutions, residents

DEMO_PASSWORD = "yibao-demo-2026"

REGIONS = {"110000": "北京市", "210200": "大连市", "410000": "河南省", "310000": "上海市"}

# (key, name, birth place, birth date, sequence, phone, region, employer key or None, scheme)
PERSONS = [
    ("zhangwei", "张伟", "110105", "19850312", "011", "13910000001", "110000", "bj-tech", "employee"),
    ("lina", "李娜", "110108", "19900721", "022", "13910000002", "110000", "bj-tech", "employee"),
    ("zhangxiuying", "张秀英", "110105", "19580403", "082", "13910000003", "110000", None, "resident"),
    ("wangfang", "王芳", "210202", "19841105", "042", "13910000004", "210200", "dl-port", "employee"),
    ("liuyang", "刘洋", "410105", "19860214", "053", "13910000005", "410000", "ha-food", "employee"),
    ("chenjing", "陈静", "310104", "19950930", "064", "13910000006", "310000", None, "resident"),
    ("zhaoqiang", "赵强", "410102", "19880518", "071", "13910000007", "410000", None, "flexible"),
]

# The register also knows people not registered here: one who may self-register online, one deceased and
# one emigrated (name, birth place, birth date, sequence, status, event date). docs/guide/residents-sample.csv
# is this register as an extract.
RESIDENTS_ONLY = [
    ("孙悦", "110105", "19960815", "035", "alive", ""),
    ("周德明", "110108", "19401120", "091", "deceased", "2025-11-02"),
    ("郑华", "210202", "19791203", "046", "emigrated", "2025-06-15"),
]

# (key, first 17 characters of the credit code, name, region, contact name, contact phone)
EMPLOYERS = [
    ("bj-tech", "91110105MA0000001", "北京示例科技有限公司", "110000", "周敏", "13920000001"),
    ("dl-port", "91210200MA0000002", "大连示例港口服务有限公司", "210200", "孙磊", "13920000002"),
    ("ha-food", "91410000MA0000003", "河南示例食品有限公司", "410000", "吴刚", "13920000003"),
    ("sh-incomplete", "91310000MA0000004", "上海示例贸易有限公司", "310000", None, None),
]

KINDS = [("H", "hospital", "人民医院", True), ("C", "clinic", "社区卫生服务中心", False),
         ("P", "pharmacy", "大药房", False)]


@dataclass
class Summary:
    created: dict[str, int] = field(default_factory=dict)
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, what for
    tokens: dict[str, str] = field(default_factory=dict)  # person key -> new e-voucher token

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1


def id_number(place: str, birth: str, seq: str) -> str:
    return with_ric_digit(place + birth + seq)


def bank_number(n: int) -> str:
    return with_luhn_digit(f"622202{n:012d}")


def load(ctx: Context) -> Summary:
    """Load everything; returns what was newly created and the demo logins."""
    s = Summary()
    if not sets.load(ctx, actor=LOADER).unchanged:
        s.count("policy set")
    institutions.load_agencies(ctx, actor=LOADER)
    _register(ctx, s)
    employer_ids = {key: _employer(ctx, s, *row) for key, *row in EMPLOYERS}
    for region in REGIONS:
        for prefix, kind, suffix, cross in KINDS:
            _institution(ctx, s, institution_code(prefix, region), REGIONS[region] + "示例" + suffix, kind, region,
                         cross)
    person_ids = {}
    for key, name, place, birth, seq, phone, region, employer, scheme in PERSONS:
        person_ids[key] = _person(ctx, s, key, name, id_number(place, birth, seq), phone, region,
                                  employer_ids.get(employer), scheme)
    _user(ctx, s, "admin", "admin", "系统管理员 administrator")
    _user(ctx, s, "admin2", "admin", "系统管理员（复核） second administrator: approves reversals")
    _user(ctx, s, "counter", "counter", "窗口经办 agency counter clerk")
    _user(ctx, s, "reviewer", "reviewer", "经办审核 agency reviewer")
    _user(ctx, s, "reviewer2", "reviewer", "经办复核 second reviewer: approves what the first took in")
    _user(ctx, s, "terminal", "terminal", "自助机具 self-service terminal")
    _user(ctx, s, "auditor", "auditor", "稽核 auditor")
    _user(ctx, s, "unit_bj", "unit", "北京示例科技有限公司 unit admin", employer_id=employer_ids["bj-tech"])
    _user(ctx, s, "pharmacy_bj", "institution", "北京市示例大药房 pharmacy",
          institution_code=institution_code("P", "110000"))
    _user(ctx, s, "hospital_sh", "institution", "上海市示例人民医院 hospital",
          institution_code=institution_code("H", "310000"))
    _user(ctx, s, demo_history.CASHIER.username, "institution", "河南省示例人民医院 hospital: pays cash vouchers",
          institution_code=demo_history.CASH_AT)
    for key, name, *_ in PERSONS:
        _user(ctx, s, key, "person", f"{name}: {demo_history.STORIES[key]}", person_id=person_ids[key])
    schemes = {key: scheme for key, *_, scheme in PERSONS}
    employers = {key: employer_ids.get(employer) for key, *_, employer, _ in PERSONS}
    demo_history.live(ctx, demo_history.Cast(person_ids, schemes, employers, s.tokens, employer_ids), s.count)
    return s


def register_rows() -> list[dict]:
    """The demo's residents register extract: every demo person alive, and the people only it knows."""
    people = [(name, place, birth, seq, "alive", "") for _, name, place, birth, seq, *_ in PERSONS]
    return [{"id_number": id_number(place, birth, seq), "name": name, "status": status, "event_date": event_date}
            for name, place, birth, seq, status, event_date in [*people, *RESIDENTS_ONLY]]


def _register(ctx, s) -> None:
    loaded = residents.import_rows(ctx, actor=LOADER, rows=enumerate(register_rows(), start=2), source="demo")
    for _ in range(loaded.accepted + loaded.updated):
        s.count("residents")


def _employer(ctx, s, code17, name, region, contact_name, contact_phone) -> str:
    uscc = with_uscc_digit(code17)
    with ctx.uow() as uow:
        found = uow.one_by(Employer, uscc=uscc)
    if found:
        return found.id
    s.count("employers")
    return enrolment.register_employer(ctx, actor=LOADER, uscc=uscc, name=name, region=region,
                                       contact_name=contact_name, contact_phone=contact_phone).id


def _institution(ctx, s, code, name, kind, region, cross_region) -> None:
    with ctx.uow() as uow:
        if uow.get(Institution, code):
            return
    institutions.add_institution(ctx, actor=LOADER, code=code, name=name, kind=kind, region=region, designated=True,
                                 cross_region=cross_region, designated_from=START)
    s.count("institutions")


def _person(ctx, s, key, name, number, phone, region, employer_id, scheme) -> str:
    with ctx.uow() as uow:
        person = uow.one_by(Person, id_number=number)
    if person is None:
        person = enrolment.register_person(ctx, actor=LOADER, id_number=number, name=name, phone=phone,
                                           region=region)
        s.count("persons")
    with ctx.uow() as uow:
        enrolled = uow.one_by(Enrollment, person_id=person.id)
        card = uow.one_by(Card, person_id=person.id)
        voucher = uow.one_by(EVoucher, person_id=person.id, status="active")
        bank = uow.one_by(BankAccount, person_id=person.id)
    if enrolled is None:
        enrolment.enroll(ctx, actor=LOADER, person_id=person.id, scheme="resident" if scheme == "resident" else "employee",
                         employer_id=employer_id, flexible=scheme == "flexible", start_date=START)
        s.count("enrollments")
    if card is None:
        card = cards.issue_card(ctx, actor=LOADER, person_id=person.id)
        cards.activate(ctx, actor=LOADER, card_no=card.card_no, id_number=number, pin=DEMO_PIN)
        s.count("cards")
    if voucher is None:
        _, token = evouchers.activate_evoucher(ctx, actor=LOADER, person_id=person.id, id_number=number, name=name,
                                                 channel="app")
        s.tokens[key] = token
        s.count("evouchers")
    if bank is None:
        evouchers.link_bank_account(ctx, actor=LOADER, person_id=person.id,
                                      account_no=bank_number([p[0] for p in PERSONS].index(key) + 1),
                                      bank_name="中国工商银行", holder_name=name)
        s.count("bank_accounts")
    return person.id


def _user(ctx, s, username, role, what, **links) -> None:
    with ctx.uow() as uow:
        exists = uow.one_by(User, username=username)
    if not exists:
        auth.add_user(ctx, actor=LOADER, username=username, password=DEMO_PASSWORD, role=role, **links)
        s.count("users")
    s.users.append((username, role, what))


# The roles as `describe` lists them, each with the page its users start from.
ROLE_PAGES = [("person", "insured persons 参保人", "/me"), ("unit", "unit 单位", "/unit"),
              ("institution", "cashiers of institutions 定点机构收银", "/institution"),
              ("counter", "agency counter 窗口经办", "/counter"), ("reviewer", "reviewers 经办审核", "/review"),
              ("auditor", "auditor 稽核", "/audit"), ("admin", "administrators 系统管理员", "/admin"),
              ("terminal", "self-service terminal 自助机具 (API only)", "/api/v1")]


def describe(s: Summary, base_url: str = "") -> str:
    """What the load made and the demo logins of each role, with the page to open (under `base_url`)."""
    made = ", ".join(f"{v} {k}" for k, v in sorted(s.created.items())) or "nothing new (already loaded)"
    lines = [f"demo data: {made}", ""]
    if base_url:
        lines += [f"open {base_url}/login and sign in with a demo login below", ""]
    lines.append(f"demo logins (password {DEMO_PASSWORD}):")
    for role, title, page in ROLE_PAGES:
        users = [(u, w) for u, r, w in s.users if r == role]
        if users:
            lines.append(f"  {title}  →  {base_url}{page}")
            lines += [f"    {u:<14} {w}" for u, w in users]
    lines += ["", f"demo card PIN: {DEMO_PIN}"]
    if s.tokens:
        lines += ["new e-voucher tokens (shown once; the app's credential: POST /evouchers/codes {token} gives the "
                  "one-minute payment code that pays):"] + [f"  {k:<14} {t}" for k, t in s.tokens.items()]
    return "\n".join(lines)
