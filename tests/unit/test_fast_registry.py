"""The registry, card, cross-region filing and family grant use cases on the in-memory unit of work: the real
services, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support import PIN, add_person, new_id_number, new_phone, new_uscc
from tests.unit.fakes import fake_context
from yibao.domain import errors
from yibao.domain.cards import CardStatus
from yibao.domain.users import Actor, Role
from yibao.services import notices
from yibao.services.credentials import auth, cards
from yibao.services.crossregion import family, filings
from yibao.services.registry import enrolment

ADMIN = Actor.system("fast-admin")
COUNTER = Actor(username="fast-counter", role=Role.COUNTER)


@pytest.fixture
def ctx():
    return fake_context()


def _employee(ctx):
    """A person enrolled as an employee since 2024 (what a family grant asks of its owner)."""
    unit = enrolment.register_employer(ctx, actor=ADMIN, uscc=new_uscc(), name="示例单位", region="110000",
                                       contact_name="周敏", contact_phone=new_phone())
    person = add_person(ctx, ADMIN, name="张伟")
    enrolment.enroll(ctx, actor=ADMIN, person_id=person.id, scheme="employee", employer_id=unit.id,
                     start_date=dt.date(2024, 1, 1))
    return person


def _owner(person) -> Actor:
    return Actor(username=person.username, role=Role.PERSON, person_id=person.id)


def test_a_registered_person_is_found_by_their_number_and_a_second_registration_is_refused(ctx):
    number = new_id_number(birth="19850312")
    person = enrolment.register_person(ctx, actor=COUNTER, id_number=number, name="张伟", phone=new_phone(),
                                       region="110000")
    assert enrolment.lookup_person(ctx, actor=COUNTER, id_number=number).id == person.id
    with pytest.raises(errors.PersonDuplicate):
        enrolment.register_person(ctx, actor=COUNTER, id_number=number, name="张伟", phone=new_phone(),
                                  region="110000")


def test_a_card_is_activated_by_its_holder_and_a_wrong_pin_counts(ctx):
    person = add_person(ctx, ADMIN, card=False)
    card = cards.issue_card(ctx, actor=ADMIN, person_id=person.id)
    assert card.status == CardStatus.ISSUED
    with pytest.raises(errors.CardIdentityMismatch):
        cards.activate(ctx, actor=_owner(person), card_no=card.card_no, id_number=new_id_number(), pin=PIN)
    active = cards.activate(ctx, actor=_owner(person), card_no=card.card_no, id_number=person.id_number, pin=PIN)
    assert active.status == CardStatus.ACTIVE
    assert cards.verify_pin(ctx, actor=_owner(person), card_no=card.card_no, pin=PIN).card_no == card.card_no
    with pytest.raises(errors.PinWrong):
        cards.verify_pin(ctx, actor=_owner(person), card_no=card.card_no, pin="135790")
    stranger = add_person(ctx, ADMIN, card=False)
    with pytest.raises(errors.AccessForbidden):
        cards.get_card(ctx, actor=_owner(stranger), card_no=card.card_no)


def test_an_expired_card_is_marked_once_by_the_job(ctx):
    person = add_person(ctx, ADMIN)
    assert cards.mark_expired(ctx, actor=ADMIN, today=ctx.today()) == 0
    ctx.clock.set(dt.datetime(2100, 1, 1, 10, 0))
    assert cards.mark_expired(ctx, actor=ADMIN, today=ctx.today()) == 1
    assert cards.get_card(ctx, actor=ADMIN, card_no=person.card_no).status == CardStatus.EXPIRED
    assert cards.mark_expired(ctx, actor=ADMIN, today=ctx.today()) == 0


def test_a_long_term_filing_is_in_force_and_cannot_be_cancelled_within_six_months(ctx):
    person = _employee(ctx)
    owner = _owner(person)
    filing, _ = filings.file(ctx, actor=owner, person_id=person.id, type="long_term",
                          reason="resettled_retiree", destination_region="310000")
    assert (filing.status, filing.valid_from) == ("active", dt.date(2026, 3, 2))
    with pytest.raises(errors.RuleRefused) as refused:
        filings.cancel(ctx, actor=owner, filing_id=filing.id)
    assert refused.value.code == "filing.locked"
    assert [f.id for f in filings.list_filings(ctx, actor=owner, person_id=person.id)] == [filing.id]


def test_a_grant_made_online_waits_for_the_relatives_consent_who_is_told(ctx):
    person = _employee(ctx)
    mother = add_person(ctx, ADMIN, name="王芳", birth="19580307")
    owner, grantee = _owner(person), _owner(mother)
    made, rules = family.grant(ctx, actor=owner, owner_id=person.id, grantee_id=mother.id, relation="parent")
    assert made.status == "pending" and rules
    with pytest.raises(errors.GrantDuplicate):
        family.grant(ctx, actor=owner, owner_id=person.id, grantee_id=mother.id, relation="parent")
    [invite] = ctx.extras["store"].tables["notices"]
    assert (invite["person_id"], invite["kind"]) == (mother.id, "family_grant.invite")
    with pytest.raises(errors.AccessForbidden):
        family.accept(ctx, actor=owner, grant_id=made.id)  # only the grantee consents
    accepted, _ = family.accept(ctx, actor=grantee, grant_id=made.id)
    assert accepted.status == "active"
    assert [g.id for g in family.list_grants(ctx, actor=grantee, person_id=mother.id)] == [made.id]
    read = notices.mark_read(ctx, actor=grantee, person_id=mother.id, notice_id=invite["id"])
    assert read["read_at"] is not None and read["title_en"] == "A family grant awaits your consent"


def test_a_bearer_token_stands_for_its_user_until_signed_out(ctx):
    person = add_person(ctx, ADMIN, card=False)
    token = auth.login(ctx, username=person.username, password="correct-horse-9")
    assert auth.authenticate(ctx, token).person_id == person.id
    auth.logout(ctx, token)
    with pytest.raises(errors.TokenInvalid):
        auth.authenticate(ctx, token)
