"""Bank accounts in the holder's own name, one holder per number (R5, R6): the name is the registered one, a
number linked by another living person is refused without saying who, the card is verified by its four
elements (四要素) through the bank's service, and an account can be unlinked so its new holder may link it.

The bank is simulated by a real HTTP server on 127.0.0.1 that knows some cards; the service reaches it through
the same HTTP adapter it would use to reach a bank."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from tests.integration.test_ledger_concurrency import all_at_once
from tests.support import API, add_person, assert_problem, bearer, build_world, count, new_bank_no, rows
from yibao.bootstrap import bootstrap
from yibao.domain import errors
from yibao.domain.masking import mask_account_no
from yibao.services.credentials import bank_verification, evouchers
from yibao.store.tables import audit_records, bank_accounts


class SimulatedBank:
    """A bank's card-verification service: POST {name, id_number, card_no, phone} → {"match": bool}, true only
    for a card it knows with all four elements."""

    def __init__(self) -> None:
        self.cards: dict[str, tuple[str, str, str]] = {}
        self.asked: list[dict] = []
        bank = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                bank.asked.append(asked)
                known = bank.cards.get(asked.get("card_no"))
                body = json.dumps({"match": known == (asked.get("name"), asked.get("id_number"),
                                                      asked.get("phone"))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # the card numbers stay out of the test output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/verify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def issue(self, card_no: str, person) -> None:
        self.cards[card_no] = (person.name, person.id_number, person.phone)


@pytest.fixture
def bank(ctx):
    simulated = SimulatedBank()
    simulated.thread.start()
    ctx.settings.bank_verify_url = simulated.url
    yield simulated
    simulated.server.shutdown()
    simulated.server.server_close()


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx, admin)


def link(client, username: str, person, account_no: str, *, holder_name: str | None = None, **more):
    return client.post(f"{API}/bank-accounts", headers=bearer(client, username), json={
        "person_id": person.id, "account_no": account_no, "bank_name": "中国建设银行",
        "holder_name": person.name if holder_name is None else holder_name, **more})


def unlink(client, username: str, account_id: str):
    return client.delete(f"{API}/bank-accounts/{account_id}", headers=bearer(client, username))


def listed(client, username: str, person) -> list[dict]:
    return client.get(f"{API}/persons/{person.id}/bank-accounts", headers=bearer(client, username)).json()


def written(ctx) -> tuple[int, int]:
    return count(ctx, bank_accounts), count(ctx, audit_records)


def test_the_holder_links_an_account_in_their_own_name(ctx, client, world):
    number = new_bank_no()
    r = link(client, "employee", world.person, number)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["holder_name"], made["account_no"], made["status"], made["primary"]) == (
        "张伟", number, "linked", False)  # the world's first account stays primary
    assert [a["account_no"] for a in listed(client, "counter-user", world.person)][-1] == mask_account_no(number)
    [audited] = [a for a in rows(ctx, audit_records) if a.entity_id == made["bank_account_id"]]
    assert audited.action == "bank_account.link" and audited.details["verified_by"] == "RegisterVerifier"
    assert number not in json.dumps(audited.details)


@pytest.mark.parametrize("holder_name", ["李四", "张 伟伟", ""])
def test_a_holder_name_typed_by_the_caller_is_refused_and_writes_nothing(ctx, client, world, holder_name):
    before = written(ctx)
    for username in ("employee", "counter-user"):
        problem = assert_problem(link(client, username, world.person, new_bank_no(), holder_name=holder_name),
                                 422, "bank_account.holder_mismatch")
        assert not holder_name or holder_name not in problem["message_zh"] + problem["message_en"]
    assert written(ctx) == before


def test_a_number_linked_by_another_person_is_refused_without_saying_who(ctx, client, world):
    number = new_bank_no()
    assert link(client, "employee", world.person, number).status_code == 201
    before = written(ctx)
    for username in ("stranger", "counter-user"):  # the other person online, or staff at the counter for them
        problem = assert_problem(link(client, username, world.other, number), 409, "bank_account.linked_elsewhere")
        shown = json.dumps(problem, ensure_ascii=False)
        for secret in (number, world.person.name, world.person.id, world.person.id_number):
            assert secret not in shown
    assert written(ctx) == before
    assert_problem(link(client, "employee", world.person, number), 409, "bank_account.duplicate")


def test_unlinked_the_number_may_be_linked_by_its_new_holder(ctx, client, world):
    number = new_bank_no()
    made = link(client, "employee", world.person, number).json()
    assert_problem(unlink(client, "stranger", made["bank_account_id"]), 403, "auth.forbidden")
    r = unlink(client, "employee", made["bank_account_id"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["primary"]) == ("unlinked", False) and r.json()["unlinked_at"]
    assert number not in [a["account_no"] for a in listed(client, "employee", world.person)]
    assert unlink(client, "employee", made["bank_account_id"]).json()["status"] == "unlinked"  # again: harmless
    assert [a.action for a in rows(ctx, audit_records) if a.entity_id == made["bank_account_id"]] == [
        "bank_account.link", "bank_account.unlink"]
    assert_problem(client.post(f"{API}/bank-accounts/{made['bank_account_id']}/primary",
                               headers=bearer(client, "employee")), 409, "bank_account.unlinked")

    relinked = link(client, "stranger", world.other, number)  # the account changed hands
    assert relinked.status_code == 201, relinked.text
    assert relinked.json()["holder_name"] == world.other.name
    assert_problem(link(client, "employee", world.person, number), 409, "bank_account.linked_elsewhere")
    counter_unlink = unlink(client, "counter-user", relinked.json()["bank_account_id"])  # staff may unlink too
    assert counter_unlink.status_code == 200 and counter_unlink.json()["account_no"] == mask_account_no(number)
    assert link(client, "employee", world.person, number).status_code == 201  # and the first holder again


def test_a_primary_account_unlinked_hands_primary_to_the_earliest_other(ctx, client, world):
    [first] = listed(client, "employee", world.person)
    second = link(client, "employee", world.person, new_bank_no()).json()
    third = link(client, "employee", world.person, new_bank_no()).json()
    assert first["primary"] and not second["primary"]
    unlink(client, "employee", first["bank_account_id"])
    assert [(a["bank_account_id"], a["primary"]) for a in listed(client, "employee", world.person)] == [
        (second["bank_account_id"], True), (third["bank_account_id"], False)]
    unlink(client, "employee", second["bank_account_id"])
    unlink(client, "employee", third["bank_account_id"])
    assert listed(client, "employee", world.person) == []  # none left: payouts wait for a new account


def test_without_a_bank_service_the_register_checks_name_id_number_and_phone(ctx, client, world):
    assert isinstance(bank_verification.verifier(ctx), bank_verification.RegisterVerifier)
    before = written(ctx)
    assert_problem(link(client, "employee", world.person, new_bank_no(), phone="13700000000"), 422,
                   "bank_account.verification_failed")  # not the phone on record
    assert written(ctx) == before
    assert link(client, "employee", world.person, new_bank_no(), phone=world.person.phone).status_code == 201


def test_the_bank_confirms_the_four_elements_before_anything_is_linked(ctx, client, world, bank):
    mine, not_mine = new_bank_no(), new_bank_no()
    bank.issue(mine, world.person)
    bank.issue(not_mine, world.other)
    before = written(ctx)
    for number, extra in ((not_mine, {}), (new_bank_no(), {}), (mine, {"phone": "13700000000"})):
        assert_problem(link(client, "employee", world.person, number, **extra), 422,
                       "bank_account.verification_failed")
    assert written(ctx) == before
    r = link(client, "employee", world.person, mine)
    assert r.status_code == 201, r.text
    assert bank.asked[-1] == {"name": world.person.name, "id_number": world.person.id_number, "card_no": mine,
                              "phone": world.person.phone}
    [audited] = [a for a in rows(ctx, audit_records) if a.entity_id == r.json()["bank_account_id"]]
    assert audited.details["verified_by"] == "HttpBankVerifier"
    asked = len(bank.asked)  # a number linked elsewhere is refused before the bank is asked
    assert_problem(link(client, "stranger", world.other, mine), 409, "bank_account.linked_elsewhere")
    assert len(bank.asked) == asked


def test_a_bank_that_cannot_be_reached_links_nothing(ctx, client, world):
    ctx.settings.bank_verify_url = "http://127.0.0.1:9/verify"  # the discard port: nothing listens
    ctx.settings.bank_verify_timeout_seconds = 2.0
    before = written(ctx)
    assert_problem(link(client, "employee", world.person, new_bank_no()), 422,
                   "bank_account.verification_unavailable")
    assert written(ctx) == before


def test_the_database_keeps_one_holder_per_linked_number(ctx, client, world):
    number = new_bank_no()
    link(client, "employee", world.person, number)
    with ctx.engine.connect() as conn:
        row = dict(conn.execute(sa.select(bank_accounts).where(bank_accounts.c.account_no == number)).one()._mapping)
    another = {**row, "id": "bnk_second", "person_id": world.other.id, "is_primary": False}
    with pytest.raises(sa.exc.IntegrityError), ctx.engine.begin() as conn:
        conn.execute(bank_accounts.insert().values(another))
    with pytest.raises(sa.exc.IntegrityError), ctx.engine.begin() as conn:  # an unlinked account is never primary
        conn.execute(bank_accounts.insert().values({**another, "status": "unlinked", "is_primary": True}))
    with ctx.engine.begin() as conn:  # an unlinked one may stand beside it
        conn.execute(bank_accounts.insert().values({**another, "status": "unlinked"}))


def test_two_people_linking_one_number_at_once_cannot_both_succeed(ctx, admin, settings, world):
    people = [world.person, world.other, *[add_person(ctx, admin, name="赵磊") for _ in range(2)]]
    number = new_bank_no()
    contexts = [bootstrap(settings) for _ in people]
    try:
        outcomes = all_at_once(len(people), lambda i: evouchers.link_bank_account(
            contexts[i], actor=admin, person_id=people[i].id, account_no=number, bank_name="中国银行",
            holder_name=people[i].name))
    finally:
        for c in contexts:
            c.engine.dispose()
    made = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(made) == 1, outcomes
    assert all(isinstance(e, errors.BankAccountLinkedElsewhere) for e in refused), refused
    with ctx.engine.connect() as conn:
        holders = conn.execute(sa.select(bank_accounts.c.person_id).where(
            bank_accounts.c.account_no == number)).scalars().all()
    assert holders == [made[0].person_id]


def test_a_deceased_holders_number_passes_to_the_heir_and_a_living_holders_never(ctx, admin, client, world):
    import datetime as dt

    from yibao.services.registry import life_events

    father = add_person(ctx, admin, name="陈父", birth="19550505")
    number = new_bank_no()
    evouchers.link_bank_account(ctx, actor=admin, person_id=father.id, account_no=number, bank_name="中国银行",
                                  holder_name="陈父")
    desk = bearer(client, "counter-user")
    body = {"person_id": world.person.id, "account_no": number, "bank_name": "中国银行",
            "holder_name": world.person.name}
    assert_problem(client.post(f"{API}/bank-accounts", headers=desk, json=body), 409,
                   "bank_account.linked_elsewhere")  # the father is alive: his number is his

    life_events.record_event(ctx, actor=admin, person_id=father.id, kind="death", date=dt.date(2026, 2, 1))
    r = client.post(f"{API}/bank-accounts", headers=desk, json=body)

    assert r.status_code == 201, r.text
    with ctx.engine.connect() as conn:
        links = dict(conn.execute(sa.select(bank_accounts.c.person_id, bank_accounts.c.status)
                                  .where(bank_accounts.c.account_no == number)).all())
    assert links == {father.id: "unlinked", world.person.id: "linked"}
    assert [r.details.get("reason") for r in rows(ctx, audit_records)
            if r.action == "bank_account.unlink"] == ["holder deceased"]
