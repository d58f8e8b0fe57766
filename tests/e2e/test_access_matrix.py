"""Who may call what: the whole role × endpoint matrix through HTTP (R7).

One table names, for every authenticated route under /api/v1, the actors allowed to
call it on the employee's records; every other actor is refused (401 without a token,
403 `auth.forbidden` with one) and refused calls write nothing. Each endpoint gets a
fresh world and every actor calls it in turn; an allowed write is followed by a fresh
target (a new card, a new applicant, …) so the next actor meets the same situation.
A guard test keeps the table in step with the routes the app really serves.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.support import (
    PASSWORD,
    PIN,
    add_person,
    bank_return,
    bearer,
    build_world,
    in_register,
    ledger_capture,
    ledger_hold,
    new_bank_no,
    new_id_number,
    new_phone,
    new_uscc,
    row_counts,
)
from yibao.domain.findings import Detected, Pattern, SubjectKind
from yibao.domain.users import Actor, Role
from yibao.services import access
from yibao.services.accounts import balances, collection, contributions, corrections, freezes
from yibao.services.applications import appointments, cases, disbursement, documents
from yibao.services.credentials import cards, evouchers
from yibao.services.crossregion import family, filings
from yibao.services.misuse import findings
from yibao.services.policy import sets
from yibao.services.registry import enrolment, institutions
from yibao.services.settlement import payments

API = "/api/v1"

ANONYMOUS, OWNER, STRANGER = "anonymous", "owner", "stranger"
UNIT, INSTITUTION, REVIEWER, AUDITOR, ADMIN = "unit", "institution", "reviewer", "auditor", "admin"
COUNTER, TERMINAL, COLLECTOR = "counter", "terminal", "collector"
ACTORS = (ANONYMOUS, OWNER, STRANGER, UNIT, INSTITUTION, COUNTER, TERMINAL, COLLECTOR, REVIEWER, AUDITOR, ADMIN)
# owner: the employee acting on their own records; stranger: another insured person acting on them.
USERNAMES = {OWNER: "employee", STRANGER: "stranger", UNIT: "unit-user", INSTITUTION: "institution-user",
             COUNTER: "counter-user", TERMINAL: "terminal-user", COLLECTOR: "collector-user",
             REVIEWER: "reviewer-user", AUDITOR: "auditor-user", ADMIN: "admin-user"}

SIGNED_IN = frozenset(ACTORS) - {ANONYMOUS}
STAFF = frozenset({COUNTER, REVIEWER, ADMIN})  # agency staff: change things at the counter, the person there
REVIEW_STAFF = frozenset({REVIEWER, ADMIN})  # decide cases, pay out, manage institutions
READ_ALL = STAFF | {AUDITOR}  # the auditor reads everything and changes nothing
# the matrix's actors of each role: an insured person is the owner of the employee's records or a stranger to them
OF_ROLE = {Role.PERSON: {OWNER, STRANGER}, Role.UNIT: {UNIT}, Role.INSTITUTION: {INSTITUTION}, Role.COUNTER: {COUNTER},
           Role.TERMINAL: {TERMINAL}, Role.COLLECTOR: {COLLECTOR}, Role.REVIEWER: {REVIEWER},
           Role.AUDITOR: {AUDITOR}, Role.ADMIN: {ADMIN}}


def table(resource: str, action: str) -> frozenset[str]:
    """The actors services.access lets act on the employee's records: the roles it allows outright, and those
    its ties allow here (the owner is the employee, the unit employs them, the institution is theirs; a terminal
    has nobody proven on it, test_channels.py covers that tie)."""
    rule = access.RULES[resource, action]
    who = {actor for role in rule.roles for actor in OF_ROLE[role]}
    who |= {OWNER} if rule.owner else set()
    who |= {UNIT} if rule.unit else set()
    who |= {INSTITUTION} if rule.institution else set()
    who |= SIGNED_IN if rule.login else set()
    return frozenset(who)


def test_the_access_table_gives_staff_and_readers_what_the_matrix_expects():
    assert table("owned", "act") == STAFF | {OWNER} and table("owned", "read") == READ_ALL | {OWNER}
    assert table("person", "read") == READ_ALL | {OWNER, UNIT}  # the unit employs the owner


# what the endpoints allowed to roles alone (no tie to the record) before their services asked the table
ROLES_ONLY = {
    ("user", "add"): {ADMIN}, ("password", "set"): {ADMIN}, ("residents", "import"): {ADMIN},
    ("agencies", "load"): {ADMIN}, ("clock", "set"): {ADMIN}, ("clock", "read"): {ADMIN},
    ("employer", "register"): STAFF, ("person", "register"): STAFF | {UNIT}, ("person", "look_up"): READ_ALL | {UNIT},
    ("person", "change_name_or_region"): STAFF, ("person", "verify_at_counter"): STAFF,
    ("life_event", "record"): STAFF, ("institution", "add"): REVIEW_STAFF,
    ("card", "issue"): STAFF, ("card", "freeze"): STAFF, ("card", "unfreeze"): STAFF, ("card", "unlock_pin"): STAFF,
    ("card", "check_pin_at_payment"): {INSTITUTION, ADMIN}, ("card", "prove_holder"): STAFF | {INSTITUTION, TERMINAL},
    ("freeze", "create"): STAFF, ("freeze", "lift"): STAFF, ("freeze", "read"): READ_ALL,
    ("reversal", "request"): {ADMIN}, ("reversal", "decide"): {ADMIN}, ("reversal", "read"): {ADMIN, AUDITOR},
    ("application", "review"): REVIEW_STAFF, ("application", "read_queue"): READ_ALL,
    ("batch", "make"): REVIEW_STAFF, ("batch", "read"): REVIEW_STAFF | {AUDITOR}, ("batch", "take_returns"): REVIEW_STAFF,
}


@pytest.mark.parametrize("resource_action", sorted(ROLES_ONLY), ids="-".join)
def test_the_access_table_allows_by_role_alone_what_the_matrix_expects(resource_action):
    rule = access.RULES[resource_action]
    assert not (rule.owner or rule.unit or rule.institution or rule.terminal or rule.login)
    assert table(*resource_action) == ROLES_ONLY[resource_action]


OWNED_READERS = table("owned", "read")  # credentials a person holds: not the unit
OWNER_OR_STAFF = table("owned", "act")

# Routes that need no token (sign-in, self-registration, health); everything else is in ENDPOINTS.
PUBLIC = {("POST", "/auth/token"), ("POST", "/register"), ("GET", "/health"),
          ("GET", "/vouchers/{code}"),  # whoever holds a printed voucher may check it
          ("POST", "/evouchers/codes")}  # the e-voucher's token in the body is the app's credential

NEW_PIN = "472951"
CLERK = Actor(username="matrix-counter", role=Role.COUNTER)  # takes cases in, so that another hand decides them
# decides them: neither took them in, uploaded their papers (the admin does), nor chose the bank account paid
DECIDER = Actor(username="matrix-reviewer", role=Role.REVIEWER)
_fresh = itertools.count(1)


@dataclass
class Setup:
    ctx: object
    admin: object
    world: object

    def open_employment(self) -> str:
        """The employee's enrolment with the unit; after an allowed call ended it, they are taken on again."""
        employee = self.world.person.id
        for e in enrolment.list_enrollments(self.ctx, actor=self.admin, person_id=employee):
            if e.status == "active" and e.employer_id == self.world.employer_id:
                return e.id
        return enrolment.enroll(self.ctx, actor=self.admin, person_id=employee, scheme="employee",
                                employer_id=self.world.employer_id, start_date=dt.date(2024, 1, 1)).id

    def active_card(self) -> str:
        """A new active card of the employee (one an allowed call may freeze, lose or replace)."""
        card = cards.issue_card(self.ctx, actor=self.admin, person_id=self.world.person.id)
        cards.activate(self.ctx, actor=self.admin, card_no=card.card_no, id_number=self.world.person.id_number,
                       pin=PIN)
        return card.card_no


@dataclass
class Call:
    params: dict = field(default_factory=dict)
    json: dict | None = None
    query: dict | None = None
    data: dict | None = None  # form fields of a multipart upload
    files: dict | None = None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route's template below /api/v1, exactly as the app declares it
    allowed: frozenset[str]
    prepare: Callable[[Setup], Call]
    reads_only: bool | None = None  # default: GET reads, everything else may write

    @property
    def writes(self) -> bool:
        return self.method != "GET" if self.reads_only is None else not self.reads_only

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _employee(s: Setup) -> Call:
    return Call({"person_id": s.world.person.id})


def _card(s: Setup, **body) -> Call:
    return Call({"card_no": s.active_card()}, body or None)


def _new_employee(s: Setup) -> Call:
    person = enrolment.register_person(s.ctx, actor=s.admin, id_number=new_id_number(birth="19900101"),
                                       name="赵磊", phone=new_phone(), region="110000")
    return Call(json={"person_id": person.id, "scheme": "employee", "employer_id": s.world.employer_id,
                      "start_date": s.ctx.today().replace(day=1).isoformat()})  # within a unit's limit


def _requested_enrollment(s: Setup) -> Call:
    number = new_id_number(birth="19920202")
    in_register(s.ctx, s.admin, number, "孙丽")
    _, enrollment, _ = enrolment.self_register(s.ctx, id_number=number, name="孙丽",
                                               phone=new_phone(), region="110000", password=PASSWORD)
    return Call({"enrollment_id": enrollment.id})


def _unverified_registration(s: Setup) -> Call:
    """An online registration of a number the residents register does not know: verified only at a counter."""
    number, phone = new_id_number(birth="19940404"), new_phone()
    person, _, _ = enrolment.self_register(s.ctx, id_number=number, name="冯雪", phone=phone, region="110000",
                                           password=PASSWORD)
    return Call({"person_id": person.id}, {"id_number": number, "name": "冯雪", "phone": phone})


def _issued_card(s: Setup) -> Call:
    card = cards.issue_card(s.ctx, actor=s.admin, person_id=s.world.person.id)
    return Call({"card_no": card.card_no}, {"id_number": s.world.person.id_number, "pin": NEW_PIN})


def _frozen_card(s: Setup) -> Call:
    call = _someones_card(s)
    cards.freeze(s.ctx, actor=s.admin, card_no=call.params["card_no"], reason="核查中")
    return Call(call.params, {"reason": "核查完毕"})


def _someone(s: Setup) -> str:
    """A new insured person (a fresh target for a life event or a freeze)."""
    return enrolment.register_person(s.ctx, actor=s.admin, id_number=new_id_number(birth="19500101"), name="钱进",
                                     phone=new_phone(), region="110000").id


def _someones_card(s: Setup, **body) -> Call:
    """An active card of a new person: a freeze is the account's, so each allowed freeze needs another holder."""
    number = new_id_number(birth="19500101")
    person = enrolment.register_person(s.ctx, actor=s.admin, id_number=number, name="钱进", phone=new_phone(),
                                       region="110000")
    card = cards.issue_card(s.ctx, actor=s.admin, person_id=person.id)
    cards.activate(s.ctx, actor=s.admin, card_no=card.card_no, id_number=number, pin=PIN)
    return Call({"card_no": card.card_no}, body or None)


def _frozen_someone(s: Setup) -> Call:
    person_id = _someone(s)
    freezes.freeze_person(s.ctx, actor=s.admin, person_id=person_id, reason="核查中")
    return Call({"person_id": person_id}, {"reason": "核查完毕"})


def _finding(s: Setup, *, confirmed: bool = False) -> Call:
    """A new open finding on a new person (confirmed, when the call freezes after it)."""
    person_id = _someone(s)
    found = Detected(Pattern.SPLIT_PAYMENTS, "2026-01", 0.8, SubjectKind.PERSON, person_id, s.ctx.today(),
                     s.ctx.today(), evidence={"settlement_ids": [f"stl_{next(_fresh)}"]})
    findings.record(s.ctx, actor=s.admin, detected=[found])
    finding_id = next(f.id for f in findings.list_findings(s.ctx, actor=s.admin) if f.subject_id == person_id)
    if confirmed:
        findings.decide(s.ctx, actor=DECIDER, finding_id=finding_id, action="confirm")
        return Call({"finding_id": finding_id}, {"reason": "疑似分单"})
    return Call({"finding_id": finding_id}, {"action": "escalate", "note": "移交稽核"})


def _second_bank_account(s: Setup) -> Call:
    account = evouchers.link_bank_account(s.ctx, actor=s.admin, person_id=s.world.person.id,
                                            account_no=new_bank_no(), bank_name="中国银行", holder_name="张伟")
    assert not account.is_primary
    return Call({"bank_account_id": account.id})


def _paid_in(s: Setup) -> str:
    """The employee's personal account with a month's contribution credited (once per world)."""
    contributions.credit(s.ctx, actor=s.admin, person_id=s.world.person.id, period="2025-06", base_fen=1_000_000,
                         employer_id=s.world.employer_id)
    return s.world.person.id


def _new_contributor(s: Setup) -> Call:
    person = enrolment.register_person(s.ctx, actor=s.admin, id_number=new_id_number(birth="19880808"),
                                       name="钱波", phone=new_phone(), region="110000")
    enrolment.enroll(s.ctx, actor=s.admin, person_id=person.id, scheme="employee",
                     employer_id=s.world.employer_id, start_date=dt.date(2025, 1, 1))
    return Call(json={"person_id": person.id, "period": "2025-06", "base_fen": 800_000,
                      "employer_id": s.world.employer_id})


def _declaration(s: Setup) -> Call:
    """A month the unit declared for a new employee, pending until the collector confirms it."""
    person_id = _new_contributor(s).json["person_id"]
    unit = Actor(username="unit-user", role=Role.UNIT, employer_id=s.world.employer_id)
    declared = collection.declare(s.ctx, actor=unit, person_id=person_id, period="2025-06", base_fen=800_000,
                                  employer_id=s.world.employer_id)
    return Call({"declaration_id": declared["declaration_id"]})


def _unowned_entry(s: Setup) -> Call:
    """An entry no business record owns (a free-form capture of old days): a reversal of it may be asked."""
    hold = ledger_hold(s.ctx, _paid_in(s), 100, purpose="manual")
    return Call({"entry_id": ledger_capture(s.ctx, hold.id).id}, {"reason": "错误扣款"})


def _reversal(s: Setup, **body) -> Call:
    """A reversal another admin asked for, pending."""
    entry_id = _unowned_entry(s).params["entry_id"]
    pending = corrections.request_reversal(s.ctx, actor=s.admin, entry_id=entry_id, reason="错误扣款")
    return Call({"reversal_id": pending["reversal_id"]}, body)


def _filing(s: Setup) -> Call:
    filing, _ = filings.file(s.ctx, actor=s.admin, person_id=s.world.person.id, type="temporary", reason="other",
                             destination_region="310000")
    return Call({"filing_id": filing.id})


def _relative(s: Setup, birth: str = "19850312"):
    """A verified relative of the employee, with no grant yet."""
    return add_person(s.ctx, s.admin, name="张丽", username=f"relative-{next(_fresh)}", birth=birth)


def _grant(s: Setup) -> Call:
    found, _ = family.grant(s.ctx, actor=s.admin, owner_id=s.world.person.id, grantee_id=_relative(s).id,
                            relation="spouse")
    return Call({"grant_id": found.id})


def _grant_to_employee(s: Setup) -> Call:
    """A grant awaiting the employee's consent: their mother, online, made them its grantee."""
    mother = _relative(s, birth="19580307")
    enrolment.enroll(s.ctx, actor=s.admin, person_id=mother.id, scheme="employee", employer_id=s.world.employer_id,
                     start_date=dt.date(2024, 1, 1))
    made, _ = family.grant(s.ctx, actor=Actor(username=mother.username, role=Role.PERSON, person_id=mother.id),
                           owner_id=mother.id, grantee_id=s.world.person.id, relation="child")
    return Call({"grant_id": made.id})


def _unlinkable_account(s: Setup) -> Call:
    account = evouchers.link_bank_account(s.ctx, actor=s.admin, person_id=s.world.person.id,
                                            account_no=new_bank_no(), bank_name="中国银行", holder_name="张伟")
    return Call({"bank_account_id": account.id})


def _sale_body(s: Setup) -> dict:
    return {"idempotency_key": f"sale-{next(_fresh)}", "institution_code": s.world.institution_code,
            "credential": {"type": "card", "card_no": s.world.person.card_no, "pin": PIN},
            "items": [{"category": "drug", "amount_fen": 100}]}


def _new_sale(s: Setup) -> Call:
    _paid_in(s)
    return Call(json=_sale_body(s))


def _sale(s: Setup, **body) -> Call:
    """A settlement at the world's pharmacy, paid from the employee's account."""
    _paid_in(s)
    made = payments.settle(s.ctx, actor=s.admin, **_sale_body(s))
    return Call({"settlement_id": made["settlement_id"]}, body or None)


PDF = b"%PDF-1.4\n%%EOF\n"
CLAIM_DOCUMENTS = ("medical_invoice", "expense_list", "diagnosis", "id_card", "bank_card")


def _document(s: Setup, type: str = "id_card") -> str:
    return documents.upload(s.ctx, actor=s.admin, person_id=s.world.person.id, type=type, content=PDF).id


def _claim_body(s: Setup, **more) -> dict:
    """A cross-region reimbursement claim of the employee's, with every document it needs."""
    _paid_in(s)
    day = (s.ctx.today() - dt.timedelta(days=10)).isoformat()
    invoice = {"number": f"AM-{next(_invoice_numbers)}", "issuer": s.world.institution_code, "date": day,
               "items": [{"category": "drug", "amount_fen": 100}]}
    return {"person_id": s.world.person.id, "kind": "reimbursement", "reason": "cross_region",
            "amount_fen": 100, "event_date": day, "invoices": [invoice],
            "document_ids": [_document(s, t) for t in CLAIM_DOCUMENTS], **more}


_invoice_numbers = itertools.count(1)


def _claim(s: Setup, *steps: str, **body) -> Call:
    """A submitted claim, taken through the review steps named ('approve', 'supplement', 'batch', 'fail')."""
    data = _claim_body(s)
    data["event_date"] = dt.date.fromisoformat(data["event_date"])
    app, _ = cases.submit(s.ctx, actor=CLERK, **data)
    for step in steps:
        if step == "supplement":
            cases.review(s.ctx, actor=DECIDER, application_id=app.id, action="request_supplement",
                                note="请补交照片", missing=["photo"])
        elif step == "approve":
            cases.review(s.ctx, actor=DECIDER, application_id=app.id, action="approve")
        elif step == "batch":
            [batch], _ = disbursement.make_batches(s.ctx, actor=s.admin)  # earlier claims may be on it too
            [line] = [x["line_no"] for x in batch.lines if x["application_id"] == app.id]
            body = {**body, "batch_id": batch.batch_id, "file_id": batch.file_id, "line_no": line}
        elif step == "fail":
            failed = {n: "户名不符" for n in range(1, 100)}  # earlier claims on the batch fail with it
            disbursement.apply_returns(s.ctx, actor=s.admin, batch_id=body.pop("batch_id"),
                                       content=bank_return(s.ctx, body.pop("file_id"), failed))
            body.pop("line_no")
    return Call({"application_id": app.id}, body or None)


def _draft(s: Setup) -> Call:
    data = _claim_body(s, draft=True)
    data["event_date"] = dt.date.fromisoformat(data["event_date"])
    app, _ = cases.submit(s.ctx, actor=CLERK, **data)
    return Call({"application_id": app.id})


def _batch(s: Setup, **more) -> Call:
    call = _claim(s, "approve", "batch")
    if not more:
        return Call({"batch_id": call.json["batch_id"]})
    signed = bank_return(s.ctx, call.json["file_id"])  # the bank's genuine return: every line paid
    return Call({"batch_id": call.json["batch_id"]}, files={"file": ("return.csv", signed, "text/csv")})


def _notice(s: Setup) -> Call:
    _claim(s)  # its submission is told to the person
    inbox = sets.notices_of(s.ctx, actor=s.admin, person_id=s.world.person.id)
    return Call({"person_id": s.world.person.id, "notice_id": inbox[0]["id"]})


def _cash_claim(s: Setup) -> Call:
    """An approved claim of the employee's paid in cash, to be redeemed at the world's institution."""
    data = _claim_body(s, payout="cash_voucher", institution_code=s.world.institution_code)
    data["event_date"] = dt.date.fromisoformat(data["event_date"])
    app, _ = cases.submit(s.ctx, actor=CLERK, **data)
    cases.review(s.ctx, actor=DECIDER, application_id=app.id, action="approve")
    view = cases.get(s.ctx, actor=s.admin, application_id=app.id)
    card = {"type": "card", "card_no": s.world.person.card_no, "pin": PIN}  # the holder proves who they are
    return Call({"code": view.cash_voucher.code, "application_id": app.id}, {"credential": card})


def _slot_body(s: Setup) -> dict:
    starts = s.ctx.now() + dt.timedelta(days=1)
    return {"starts_at": starts.isoformat(), "ends_at": (starts + dt.timedelta(hours=1)).isoformat(), "capacity": 5}


def _booking(s: Setup) -> Call:
    """A new slot at the world's institution and the employee's booking body for it."""
    body = _slot_body(s)
    slot = appointments.publish_slot(s.ctx, actor=s.admin, institution_code=s.world.institution_code,
                                     starts_at=dt.datetime.fromisoformat(body["starts_at"]),
                                     ends_at=dt.datetime.fromisoformat(body["ends_at"]), capacity=5)
    return Call(json={"slot_id": slot.id, "person_id": s.world.person.id, "purpose": "cash_voucher"})


def _appointment(s: Setup) -> Call:
    booked = appointments.book(s.ctx, actor=s.admin, **_booking(s).json)
    return Call({"appointment_id": booked.id})


def _agencies(s: Setup) -> Call:
    institutions.load_agencies(s.ctx, actor=s.admin)
    return Call(query={"region": "110105"})


E = Endpoint
ENDPOINTS = [
    # auth and users
    E("GET", "/me", SIGNED_IN, lambda s: Call()),
    E("POST", "/auth/logout", SIGNED_IN, lambda s: Call()),
    E("POST", "/auth/password", table("password", "change"),
      lambda s: Call(json={"current_password": PASSWORD, "new_password": f"new-horse-{next(_fresh)}"})),
    E("POST", "/users", table("user", "add"),
      lambda s: Call(json={"username": f"clerk-{next(_fresh)}", "password": PASSWORD, "role": "reviewer"})),
    # employers: registered by the agency, completed by the unit itself
    E("POST", "/employers", table("employer", "register"),
      lambda s: Call(json={"uscc": new_uscc(), "name": "新单位", "region": "110000", "contact_name": "王芳",
                           "contact_phone": new_phone()})),
    E("GET", "/employers/{employer_id}", table("employer", "read"), lambda s: Call({"employer_id": s.world.employer_id})),
    E("PATCH", "/employers/{employer_id}", table("employer", "write"),
      lambda s: Call({"employer_id": s.world.employer_id}, {"contact_name": "王芳"})),
    E("GET", "/employers/{employer_id}/history", table("employer", "read"),
      lambda s: Call({"employer_id": s.world.employer_id})),
    # persons and enrolments
    E("POST", "/persons", table("person", "register"),
      lambda s: Call(json={"id_number": new_id_number(birth="19900101"), "name": "赵磊", "phone": new_phone(),
                           "region": "110000"})),
    E("POST", "/persons/lookup", table("person", "look_up"),  # a unit names the person too
      lambda s: Call(json={"id_number": s.world.person.id_number, "name": s.world.person.name}), reads_only=True),
    E("GET", "/persons/{person_id}", table("person", "read"), _employee),
    E("PATCH", "/persons/{person_id}", table("owned", "act"),
      lambda s: Call({"person_id": s.world.person.id}, {"phone": new_phone()})),
    E("GET", "/persons/{person_id}/history", table("owned", "read"), _employee),  # a unit sees its employee's basics only
    E("GET", "/persons/{person_id}/enrollments", table("person", "read"), _employee),
    E("POST", "/enrollments", table("enrollment", "create"), _new_employee),
    E("POST", "/enrollments/{enrollment_id}/approve", table("enrollment", "approve"), _requested_enrollment),
    E("POST", "/enrollments/{enrollment_id}/end", table("enrollment", "end"),
      lambda s: Call({"enrollment_id": s.open_employment()}, {"end_date": s.ctx.today().isoformat()})),
    # institutions and agencies: every signed-in user may look them up
    E("POST", "/institutions", table("institution", "add"),
      lambda s: Call(json={"code": f"H110{next(_fresh):08d}", "name": "示例医院", "kind": "hospital",
                           "region": "110000", "designated": True, "cross_region": False})),
    E("GET", "/institutions", SIGNED_IN, lambda s: Call(query={"region": "110000"})),
    E("GET", "/institutions/{code}", SIGNED_IN, lambda s: Call({"code": s.world.institution_code})),
    E("GET", "/agencies", SIGNED_IN, _agencies),
    # cards: the agency issues, freezes and unlocks; the holder activates, reports lost, replaces;
    # an institution reads a card's status (without its holder's person_id)
    E("POST", "/cards", table("card", "issue"), lambda s: Call(json={"person_id": s.world.person.id})),
    E("GET", "/cards/{card_no}", table("card", "read"),
      lambda s: Call({"card_no": s.world.person.card_no})),
    E("GET", "/persons/{person_id}/cards", table("owned", "read"), _employee),
    E("POST", "/cards/{card_no}/activate", table("owned", "act"), _issued_card),
    E("POST", "/cards/{card_no}/report-lost", table("owned", "act"), _card),
    E("POST", "/cards/{card_no}/freeze", table("card", "freeze"), lambda s: _someones_card(s, reason="疑似冒用")),
    E("POST", "/cards/{card_no}/unfreeze", table("card", "unfreeze"), _frozen_card),
    E("POST", "/cards/{card_no}/replace", table("owned", "act"), _card),
    E("POST", "/cards/{card_no}/unlock-pin", table("card", "unlock_pin"), lambda s: _card(s, id_number=s.world.person.id_number)),
    # the standalone PIN check: the holder, a terminal, staff at the counter; an institution checks only in a payment
    E("POST", "/cards/{card_no}/verify-pin", table("card", "verify_pin"), lambda s: _card(s, pin=PIN)),
    E("POST", "/cards/{card_no}/change-pin", table("card", "change_pin"), lambda s: _card(s, old_pin=PIN, new_pin=NEW_PIN)),
    # e-vouchers: the real-name check is the holder's own (or an admin's)
    E("POST", "/evouchers", table("owned", "act_as_admin"),
      lambda s: Call(json={"person_id": s.world.person.id, "id_number": s.world.person.id_number,
                           "name": s.world.person.name, "channel": "app"})),
    E("GET", "/persons/{person_id}/evouchers", table("owned", "read"), _employee),
    # bank accounts
    E("POST", "/bank-accounts", table("owned", "act"),
      lambda s: Call(json={"person_id": s.world.person.id, "account_no": new_bank_no(), "bank_name": "中国银行",
                           "holder_name": s.world.person.name})),
    E("POST", "/bank-accounts/{bank_account_id}/primary", table("owned", "act"), _second_bank_account),
    E("DELETE", "/bank-accounts/{bank_account_id}", table("owned", "act"), _unlinkable_account),
    E("GET", "/persons/{person_id}/bank-accounts", table("owned", "read"), _employee),
    # money: contributions credit when collected (the collector, an admin); the employing unit declares (202,
    # pending) and the collector confirms; arrears are the unit's, the person's and the agency's to read;
    # accounts read like credentials; corrections are the admins'
    E("POST", "/contributions", frozenset({COLLECTOR, ADMIN, UNIT}), _new_contributor),
    E("POST", "/contributions/{declaration_id}/confirm", table("contribution", "collect"), _declaration),
    E("GET", "/contributions/arrears", table("contribution", "read_arrears"),
      lambda s: Call(query={"person_id": s.world.person.id})),
    E("GET", "/accounts/{person_id}", table("owned", "read"), _employee),
    E("GET", "/accounts/{person_id}/entries", table("owned", "read"), _employee),
    E("GET", "/accounts/{person_id}/statement.pdf", table("owned", "read"), _employee, reads_only=False),
    # no free-form hold or capture (REMOVED below); a reversal is asked by one admin and decided by another
    E("POST", "/entries/{entry_id}/reverse", table("reversal", "request"), _unowned_entry),
    E("GET", "/reversals", table("reversal", "read"), lambda s: Call()),
    E("POST", "/reversals/{reversal_id}/approve", table("reversal", "decide"), lambda s: _reversal(s, note="核实无误")),
    E("POST", "/reversals/{reversal_id}/reject", table("reversal", "decide"), lambda s: _reversal(s, note="扣款有据")),
    # settlement: the institution settles and refunds its own; the payer and the owner read theirs
    E("POST", "/settlements", table("settlement", "create"), _new_sale),
    E("POST", "/settlements/{settlement_id}/refund", table("settlement", "refund"),
      lambda s: _sale(s, idempotency_key=f"refund-{next(_fresh)}")),
    E("GET", "/settlements/{settlement_id}", table("settlement", "read"), _sale),
    E("GET", "/institutions/{code}/settlements", table("settlement", "read_day"),
      lambda s: Call({"code": s.world.institution_code})),
    E("GET", "/institutions/{code}/settlements/summary", table("settlement", "read_day"),
      lambda s: Call({"code": s.world.institution_code})),
    E("GET", "/persons/{person_id}/settlements", table("owned", "read"), _employee),
    E("GET", "/emergency-settlements", table("settlement", "read_emergencies"),
      lambda s: Call(query={"from": "2026-01-01", "to": "2026-12-31"})),
    # cross-region filings and family grants: the person's own, or the agency at the counter
    E("POST", "/filings", table("owned", "act"),
      lambda s: Call(json={"person_id": s.world.person.id, "type": "temporary", "reason": "referral",
                           "destination_region": "310000"})),
    E("POST", "/filings/{filing_id}/cancel", table("owned", "act"), _filing),
    E("GET", "/persons/{person_id}/filings", table("owned", "read"), _employee),
    E("POST", "/family-grants", table("owned", "act"),
      lambda s: Call(json={"owner_id": s.world.person.id, "grantee_id": _relative(s, birth="19580307").id,
                           "relation": "parent"})),
    # only the grantee consents or declines, from their own session: not the owner, not staff for them
    E("POST", "/family-grants/{grant_id}/accept", table("grant", "accept"), _grant_to_employee),
    E("POST", "/family-grants/{grant_id}/decline", table("grant", "decline"), _grant_to_employee),
    E("DELETE", "/family-grants/{grant_id}", table("grant", "end"), _grant),
    E("GET", "/persons/{person_id}/family-grants", table("owned", "read"), _employee),
    # policy: the rules in force are public to every signed-in user; the 12333 answer and the notices
    # are about one person, read like their account
    E("GET", "/policies/{region}", SIGNED_IN, lambda s: Call({"region": "110000"}, query={"date": "2026-03-02"})),
    E("GET", "/policies/{region}/changes", SIGNED_IN,
      lambda s: Call({"region": "110000"}, query={"from": "2018-01-01", "to": "2026-03-02"})),
    E("POST", "/policy/explain", table("owned", "read"),
      lambda s: Call(json={"person_id": s.world.person.id, "action": "withdraw", "reason": "death"})),
    E("GET", "/persons/{person_id}/notices", table("owned", "read"), _employee),
    # applications: the person's own (or the agency at the counter); review and payout are the agency's
    E("POST", "/documents", table("owned", "act"),
      lambda s: Call(data={"type": "id_card", "person_id": s.world.person.id},
                     files={"file": ("id.pdf", PDF, "application/pdf")})),
    E("GET", "/documents/{document_id}", table("owned", "read"), lambda s: Call({"document_id": _document(s)})),
    # (a terminal acts only for the person who proves themselves on it with card and PIN: test_channels.py)
    E("POST", "/applications", table("application", "apply"), lambda s: Call(json=_claim_body(s))),
    E("GET", "/applications", table("application", "read_queue"), lambda s: Call()),
    E("GET", "/applications/{application_id}", table("owned", "read"), _claim),
    E("GET", "/persons/{person_id}/applications", table("owned", "read"), _employee),
    E("POST", "/applications/{application_id}/submit", OWNER_OR_STAFF, _draft),
    E("POST", "/applications/{application_id}/review", table("application", "review"), lambda s: _claim(s, action="approve")),
    E("POST", "/applications/{application_id}/supplement", OWNER_OR_STAFF,
      lambda s: _claim(s, "supplement", document_ids=[_document(s, "photo")])),
    E("POST", "/applications/{application_id}/withdraw", OWNER_OR_STAFF, _claim),
    E("POST", "/applications/{application_id}/retry", table("application", "retry"), lambda s: _claim(s, "approve", "batch", "fail")),
    E("POST", "/disbursements/batches", table("batch", "make"), lambda s: Call(params=_claim(s, "approve").params)),
    E("GET", "/disbursements/batches/{batch_id}", table("batch", "read"), _batch),
    E("POST", "/disbursements/batches/{batch_id}/returns", table("batch", "take_returns"), lambda s: _batch(s, returns=True)),
    E("POST", "/disbursements/batches/{batch_id}/returns/fetch", table("batch", "take_returns"), _batch),
    E("POST", "/persons/{person_id}/notices/{notice_id}/read", table("owned", "act_as_admin"), _notice),
    # vouchers of an application are read like the application; cash is paid out by the institution the
    # voucher names or by agency staff at a counter
    E("GET", "/applications/{application_id}/vouchers", table("owned", "read"), lambda s: _claim(s, "approve")),
    E("GET", "/applications/{application_id}/vouchers/{kind}.pdf", OWNED_READERS,
      lambda s: Call({**_claim(s, "approve").params, "kind": "approval"})),
    E("GET", "/cash-vouchers/{code}", table("cash_voucher", "handle"), _cash_claim),
    E("POST", "/cash-vouchers/{code}/redeem", table("cash_voucher", "pay"), _cash_claim),
    # appointments: the institution (or the agency) publishes slots, anyone signed in sees them, the person
    # (or staff) books and cancels
    E("POST", "/institutions/{code}/slots", table("slot", "publish"),
      lambda s: Call({"code": s.world.institution_code}, _slot_body(s))),
    E("GET", "/institutions/{code}/slots", SIGNED_IN, lambda s: Call({"code": s.world.institution_code})),
    E("POST", "/appointments", table("owned", "act"), _booking),
    E("POST", "/appointments/{appointment_id}/cancel", table("owned", "act"), _appointment),
    # life events and account freezes: recorded and lifted by the agency; a person reads their own events
    E("POST", "/persons/{person_id}/life-events", table("life_event", "record"),
      lambda s: Call({"person_id": _someone(s)}, {"kind": "death", "date": "2025-01-01"})),
    E("GET", "/persons/{person_id}/life-events", table("owned", "read"), _employee),
    E("POST", "/persons/{person_id}/freeze", table("freeze", "create"), lambda s: Call({"person_id": _someone(s)}, {"reason": "核查"})),
    E("POST", "/persons/{person_id}/unfreeze", table("freeze", "lift"), _frozen_someone),
    E("GET", "/persons/{person_id}/freezes", table("freeze", "read"), _employee),
    # the residents register feed (admin) and the counter's verification, the ID card in hand
    E("POST", "/registry/residents", table("residents", "import"),
      lambda s: Call(json={"rows": [{"id_number": new_id_number(), "name": "周红", "status": "alive"}]})),
    E("POST", "/persons/{person_id}/verify", table("person", "verify_at_counter"), _unverified_registration),
    # misuse findings (R26): reviewers and auditors read them, a reviewer decides, a freeze is its own step
    E("GET", "/findings", table("finding", "read"), lambda s: Call(query={"status": "open"})),
    E("GET", "/findings/{finding_id}", table("finding", "read"), _finding),
    E("POST", "/findings/{finding_id}/disposition", table("finding", "decide"), _finding),
    E("POST", "/findings/{finding_id}/freeze", table("finding", "decide") & table("freeze", "create"),
      lambda s: _finding(s, confirmed=True)),
    # the test-mode clock
    E("POST", "/admin/clock", table("clock", "set"), lambda s: Call(json={"now": "2031-06-15T09:00:00+08:00"})),
    E("GET", "/admin/clock", table("clock", "read"), lambda s: Call()),
]

CASES = [pytest.param(e, id=str(e)) for e in ENDPOINTS]


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, including those of included routers."""
    try:  # FastAPI ≥ 0.16x keeps included routers as such; this walks them
        from fastapi.routing import iter_route_contexts
        routes = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = app.routes
    found = {(m, r.path) for r in routes if getattr(r, "path", None) for m in (getattr(r, "methods", None) or ())}
    # the OpenAPI document lists the same operations; union them so neither walk can hide a route
    for path, operations in app.openapi()["paths"].items():
        found |= {(m.upper(), path) for m in operations}
    return {(m, p) for m, p in found if m != "HEAD"}


def snapshot(ctx) -> dict:
    """Row counts of every table, and whether the clock was moved: what a write would change."""
    return {"rows": row_counts(ctx), "clock_moved": ctx.today() >= dt.date(2031, 6, 15)}


def test_the_matrix_lists_every_api_route_and_only_real_ones(app):
    served = {(m, p[len(API):]) for m, p in app_routes(app) if p.startswith(API + "/")}
    listed = {(e.method, e.path) for e in ENDPOINTS}
    assert len(listed) == len(ENDPOINTS), "an endpoint is listed twice"
    assert not served - listed - PUBLIC, "new /api/v1 routes: add them to ENDPOINTS (or PUBLIC)"
    assert not listed - served, "ENDPOINTS names routes the app does not serve"
    assert PUBLIC <= served


# Money leaves an account only through a settlement or an approved case's payout: these are gone for everyone.
REMOVED = [("POST", "/accounts/{person_id}/holds", {"amount_fen": 100, "idempotency_key": "k-removed"}),
           ("POST", "/holds/{hold_id}/capture", {"idempotency_key": "c-removed"}),
           ("POST", "/holds/{hold_id}/void", None)]


def test_the_free_form_hold_and_capture_routes_are_gone_for_every_role(ctx, admin, client):
    setup = Setup(ctx, admin, build_world(ctx, admin))
    hold = ledger_hold(ctx, _paid_in(setup), 100, purpose="manual")
    params = {"person_id": setup.world.person.id, "hold_id": hold.id}
    signed_in = {actor: {} if actor == ANONYMOUS else bearer(client, USERNAMES[actor]) for actor in ACTORS}
    before = snapshot(ctx)
    for actor, headers in signed_in.items():
        for method, path, body in REMOVED:
            r = client.request(method, API + path.format(**params), json=body, headers=headers)
            assert r.status_code in (404, 405), f"{actor} {method} {path}: {r.status_code} {r.text}"
    assert snapshot(ctx) == before
    assert balances.get_account(ctx, actor=admin, person_id=setup.world.person.id).held_fen == 100


def test_anonymous_callers_are_never_allowed():
    assert all(e.allowed <= SIGNED_IN for e in ENDPOINTS)


@pytest.mark.parametrize("endpoint", CASES)
def test_role_endpoint_matrix(ctx, admin, client, endpoint: Endpoint):
    setup = Setup(ctx, admin, build_world(ctx, admin))
    call = endpoint.prepare(setup)
    wrong = []
    for actor in ACTORS:
        headers = {} if actor == ANONYMOUS else bearer(client, USERNAMES[actor])
        before = snapshot(ctx)

        r = client.request(endpoint.method, API + endpoint.path.format(**call.params), json=call.json,
                           params=call.query, headers=headers, data=call.data, files=call.files)

        if endpoint.writes and r.is_success:  # the next actor gets a target in the state this one found
            call = endpoint.prepare(setup)
        if actor in endpoint.allowed:
            if not r.is_success:
                wrong.append(f"{actor} should be allowed: {r.status_code} {r.text}")
            continue
        status, code = (401, "auth.required") if actor == ANONYMOUS else (403, "auth.forbidden")
        if r.status_code != status:
            wrong.append(f"{actor} should get {status}: {r.status_code} {r.text}")
        elif not r.headers["content-type"].startswith("application/problem+json") or r.json()["code"] != code:
            wrong.append(f"{actor} should get a {code} problem: {r.headers['content-type']} {r.text}")
        if snapshot(ctx) != before:
            wrong.append(f"{actor} was refused but something was written")
    assert not wrong, f"{endpoint}:\n" + "\n".join(wrong)


def test_public_routes_answer_without_a_token(ctx, admin, client):
    assert client.get(f"{API}/health").status_code == 200
    r = client.post(f"{API}/register", json={"id_number": new_id_number(birth="19930303"), "name": "陈静",
                                             "phone": new_phone(), "region": "110000", "password": PASSWORD,
                                             "username": "chenjing"})
    assert r.status_code == 201, r.text
    assert client.get(f"{API}/me", headers=bearer(client, "chenjing")).json()["role"] == "person"


def test_a_unit_sees_only_its_current_employees(ctx, admin, client):
    world = build_world(ctx, admin)
    unit = bearer(client, "unit-user")
    reads = ["/persons/{}", "/persons/{}/enrollments"]
    for path in reads:  # the other person never worked for the unit
        r = client.get(API + path.format(world.other.id), headers=unit)
        assert r.status_code == 403 and r.json()["code"] == "auth.forbidden", (path, r.text)
        assert client.get(API + path.format(world.person.id), headers=unit).status_code == 200
    r = client.get(API + f"/persons/{world.person.id}/history", headers=unit)  # basics only, no history
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden", r.text
    [enrollment] = enrolment.list_enrollments(ctx, actor=admin, person_id=world.person.id)
    r = client.post(f"{API}/enrollments/{enrollment.id}/end", headers=unit, json={"end_date": ctx.today().isoformat()})
    assert r.status_code == 200, r.text
    for path in reads:  # once the employee has left, the unit no longer sees them
        r = client.get(API + path.format(world.person.id), headers=unit)
        assert r.status_code == 403 and r.json()["code"] == "auth.forbidden", (path, r.text)


def test_a_person_sees_only_their_own_records(ctx, admin, client):
    world = build_world(ctx, admin)
    stranger = bearer(client, "stranger")
    for path in ["/persons/{}", "/persons/{}/cards", "/persons/{}/bank-accounts", "/persons/{}/evouchers"]:
        assert client.get(API + path.format(world.other.id), headers=stranger).status_code == 200, path
        r = client.get(API + path.format(world.person.id), headers=stranger)
        assert r.status_code == 403 and r.json()["code"] == "auth.forbidden", (path, r.text)
