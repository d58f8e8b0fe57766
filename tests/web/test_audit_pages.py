"""The auditor's pages in-process: the trail searched by person (ID number kept out of the address), entity, actor and
dates, paged; the books verified (OK, then broken at a named row) beside the last checkpoint; the policy changes
between two days with references; and the cheats: other roles and no session, a person searching the trail, bad
dates, an unknown entity, a missing form token, and POST routes that write nothing."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from tests.integration.test_audit_verify import tamper
from tests.support import PASSWORD, build_world, row_counts
from tests.web.conftest import csrf_of, page_sign_in, post_form, text_of
from yibao.domain import errors
from yibao.domain.users import Actor, Role
from yibao.services.audit import checkpoints, inspection
from yibao.services.credentials import cards
from yibao.web.routers import audit

AUDITOR = Actor(username="auditor-user", role=Role.AUDITOR)
SECRET = re.compile(r"pin|password|secret|token|otp|cvv", re.IGNORECASE)


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx, admin)


@pytest.fixture
def auditor(client, world):
    page_sign_in(client, "auditor-user", PASSWORD)
    return client


def test_the_auditor_finds_a_person_by_id_number_and_reads_their_trail_in_order(auditor, world, ctx, admin):
    cards.report_lost(ctx, actor=admin, card_no=world.person.card_no)

    found = post_form(auditor, "/audit/person", {"id_number": world.person.id_number}, from_page="/audit")

    assert found.status_code == 303
    location = found.headers["location"]
    assert world.person.id_number not in location and world.person.id in location
    page = auditor.get(location)
    text = text_of(page.text)
    assert page.status_code == 200 and world.person.id_number not in page.text
    actions = re.findall(r"<h3><code>([a-z_.]+)</code></h3>", page.text)
    assert actions[:3] == ["person.register", "user.add", "card.issue"] and "card.report_lost" in actions
    assert "bank_account.link" in actions and world.other.id not in page.text
    assert "张*" in text and world.person.id_number[-4:] in text


def test_the_trail_is_searched_by_entity_actor_and_dates(auditor, world, ctx):
    by_card = text_of(auditor.get("/audit", params={"entity": "card", "entity_id": world.person.card_no}).text)
    assert "card.issue" in by_card and "card.activate" in by_card and "person.register" not in by_card

    in_english = text_of(auditor.get("/audit", params={"entity": "card", "entity_id": world.person.card_no,
                                                        "lang": "en"}).text)
    assert "Records, oldest first" in in_english and "card.issue" in in_english

    by_id_alone = auditor.get("/audit", params={"entity_id": world.person.id}).text
    assert "person.register" in by_id_alone

    by_actor = inspection.search(ctx, actor=AUDITOR, username="test-admin")
    assert by_actor.total > 5 and {r.actor for r in by_actor.records} == {"test-admin"}

    today = ctx.today().isoformat()
    dated = text_of(auditor.get("/audit", params={"from": today, "to": today, "who": "test-admin"}).text)
    assert "user.add" in dated
    tomorrow = (ctx.today() + dt.timedelta(days=1)).isoformat()
    none = auditor.get("/audit", params={"from": tomorrow})
    assert none.status_code == 200 and 'data-testid="none"' in none.text


def test_the_trail_is_paged(auditor, world, ctx):
    first = inspection.search(ctx, actor=AUDITOR, username="test-admin", per_page=3)
    second = inspection.search(ctx, actor=AUDITOR, username="test-admin", per_page=3, page=2)
    assert first.pages > 1 and {r.id for r in first.records}.isdisjoint(r.id for r in second.records)
    assert [r.id for r in first.records] == sorted(r.id for r in first.records)

    page = auditor.get("/audit", params={"who": "test-admin"})
    if inspection.search(ctx, actor=AUDITOR, username="test-admin").pages > 1:
        assert "page=2" in page.text
    beyond = auditor.get("/audit", params={"who": "test-admin", "page": "999"})
    assert beyond.status_code == 200 and 'data-testid="none"' in beyond.text
    nonsense = auditor.get("/audit", params={"who": "test-admin", "page": "x"})
    assert nonsense.status_code == 200


def test_the_trail_holds_no_secret_and_the_page_shows_none(auditor, world, ctx):
    with ctx.engine.connect() as conn:
        details = [json.loads(d) if isinstance(d, str) else d
                   for d in conn.scalars(sa.text("SELECT details FROM audit_records"))]

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    assert not [k for d in details for k in keys(d) if SECRET.search(k)]
    page = auditor.get("/audit", params={"entity_id": world.person.card_no}).text
    assert "seals" not in text_of(page)


def test_bad_dates_are_marked_beside_their_field_and_an_unknown_entity_is_an_empty_result(auditor, world):
    bad = auditor.get("/audit", params={"from": "2026-13-40", "to": "yesterday"})
    assert bad.status_code == 422 and 'id="e-from"' in bad.text and 'id="e-to"' in bad.text
    assert "2026-13-40" not in text_of(bad.text).split("YYYY-MM-DD")[0]
    reversed_ = auditor.get("/audit", params={"from": "2026-03-02", "to": "2026-03-01"})
    assert reversed_.status_code == 422 and 'id="e-to"' in reversed_.text

    unknown = auditor.get("/audit", params={"entity": "spaceship", "entity_id": "x-1"})
    assert unknown.status_code == 200 and 'data-testid="none"' in unknown.text
    nobody = auditor.get("/audit", params={"person": "psn_0000000000000000"})
    assert nobody.status_code == 200 and 'data-testid="none"' in nobody.text


def test_an_unknown_or_invalid_id_number_is_marked_and_writes_nothing(auditor, world, ctx):
    before = row_counts(ctx)
    invalid = post_form(auditor, "/audit/person", {"id_number": "110105198503120000"}, from_page="/audit")
    empty = post_form(auditor, "/audit/person", {"id_number": " "}, from_page="/audit")
    assert invalid.status_code == 422 and 'id="e-id_number"' in invalid.text
    assert "110105198503120000" not in invalid.text
    assert empty.status_code == 422 and 'id="e-id_number"' in empty.text
    assert row_counts(ctx) == before


def test_the_service_refuses_others_and_reversed_dates(ctx, world):
    person = Actor(username="employee", role=Role.PERSON, person_id=world.person.id)
    with pytest.raises(errors.AccessForbidden):
        inspection.search(ctx, actor=person, person_id=world.person.id)
    with pytest.raises(errors.AccessForbidden):
        inspection.verify_books(ctx, actor=Actor(username="reviewer-user", role=Role.REVIEWER))
    with pytest.raises(errors.RequestInvalid):
        inspection.search(ctx, actor=AUDITOR, day_from=dt.date(2026, 3, 2), day_to=dt.date(2026, 3, 1))


def test_verify_says_ok_then_names_the_first_broken_row_and_writes_nothing(auditor, world, ctx, backend):
    page = auditor.get("/audit/verify")
    assert page.status_code == 200 and 'data-testid="checkpoint"' in page.text and "尚未签署" in text_of(page.text)

    before = row_counts(ctx)
    ok = post_form(auditor, "/audit/verify", {})
    assert ok.status_code == 200 and "正常" in text_of(ok.text) and 'data-testid="first-break"' not in ok.text
    assert row_counts(ctx) == before

    tamper(ctx, backend, "UPDATE persons SET name = '王五' WHERE id = :p", p=world.person.id)
    tamper(ctx, backend, "UPDATE audit_records SET actor = 'nobody' WHERE entity = 'person' AND entity_id = :p",
           p=world.person.id)
    broken = post_form(auditor, "/audit/verify", {}, from_page="/audit/verify")
    text = text_of(broken.text)
    assert broken.status_code == 200 and 'data-testid="first-break"' in broken.text
    assert "audit_records" in text and f"person {world.person.id}" in text


def test_the_last_checkpoint_shows_when_and_with_which_key_it_was_signed(auditor, ctx, admin):
    ctx.settings.checkpoint_key = "a-checkpoint-key-of-32-bytes-abc"
    signed = checkpoints.checkpoint(ctx, actor=admin)

    text = text_of(auditor.get("/audit/verify").text)
    assert checkpoints.key_id(ctx.settings.checkpoint_key.encode()) in text
    assert str(signed["checkpoint"]) in text and "admin" in text
    assert "正常" in text_of(post_form(auditor, "/audit/verify", {}).text)


def test_policy_changes_between_two_days_show_with_their_references(auditor, ctx):
    page = auditor.get("/audit/policy", params={"region": "110000", "from": "2020-01-01", "to": "2026-06-30"})
    assert page.status_code == 200 and 'data-testid="changes"' in page.text
    text = text_of(page.text)
    assert "依据" in text and "新增" in text
    same = auditor.get("/audit/policy", params={"region": "110000", "from": "2026-06-30", "to": "2026-06-30"})
    assert 'data-testid="no-changes"' in same.text

    default = auditor.get("/audit/policy")
    assert default.status_code == 200
    bad = auditor.get("/audit/policy", params={"region": "999999", "from": "2026-02-30", "to": "2026-01-01"})
    assert bad.status_code == 422 and 'id="e-region"' in bad.text and 'id="e-from"' in bad.text


@pytest.mark.parametrize("role", ["person", "unit", "institution", "counter", "reviewer", "admin"])
def test_other_roles_are_refused_every_audit_page(client, world, role):
    page_sign_in(client, world.users[role], PASSWORD)
    for path in ("/audit", "/audit/verify", "/audit/policy"):
        assert client.get(path).status_code == 403, path
    token = csrf_of(client.get("/").text)
    assert client.post("/audit/verify", data={"csrf_token": token}).status_code == 403


def test_without_a_session_the_pages_send_to_the_sign_in(client, world):
    for path in ("/audit", "/audit/verify", "/audit/policy"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (302, 303) and "/login" in answer.headers["location"]


def test_a_post_without_its_token_is_refused_and_writes_nothing(auditor, world, ctx):
    before = row_counts(ctx)
    assert auditor.post("/audit/verify", data={}).status_code == 403
    assert auditor.post("/audit/person", data={"id_number": world.person.id_number}).status_code == 403
    assert auditor.post("/audit/verify", data={"csrf_token": "forged"}).status_code == 403
    assert row_counts(ctx) == before


def test_every_post_route_of_the_console_writes_nothing(auditor, world, ctx):
    posts = sorted(r.path for r in audit.router.routes if "POST" in r.methods)
    assert posts == ["/audit/person", "/audit/verify"]
    before = row_counts(ctx)
    post_form(auditor, "/audit/person", {"id_number": world.person.id_number}, from_page="/audit")
    post_form(auditor, "/audit/verify", {})
    assert row_counts(ctx) == before
