"""The access table's ties, without a store: the owner, the unit employing them, the institution, a terminal."""

from __future__ import annotations

from yibao.domain.users import Actor, Role
from yibao.services import access

OWNER = Actor(username="p", role=Role.PERSON, person_id="psn_1")
UNIT = Actor(username="u", role=Role.UNIT, employer_id="emp_1")
SHOP = Actor(username="i", role=Role.INSTITUTION, institution_code="P1")
TERMINAL = Actor(username="t", role=Role.TERMINAL)


def test_the_owner_acts_on_their_own_records_only():
    assert access.allows(OWNER, "owned", "act", owners=("psn_1",))
    assert not access.allows(OWNER, "owned", "act", owners=("psn_2",))
    assert access.allows(Actor(username="c", role=Role.COUNTER), "owned", "act", owners=("psn_2",))


def test_a_unit_reads_a_person_only_while_it_employs_them_and_enrols_for_itself_only():
    assert access.allows(UNIT, "person", "read", owners=("psn_1",), employs=lambda unit: unit == "emp_1")
    assert not access.allows(UNIT, "person", "read", owners=("psn_1",), employs=lambda unit: False)
    assert access.allows(UNIT, "enrollment", "create", employer_id="emp_1")
    assert not access.allows(UNIT, "enrollment", "create", employer_id="emp_2")
    assert not access.allows(UNIT, "enrollment", "create", employer_id=None)
    assert not access.allows(UNIT, "enrollment", "approve", employer_id="emp_1")


def test_an_institution_settles_for_itself_and_a_terminal_for_the_holder_proven_on_it():
    assert access.allows(SHOP, "settlement", "create", institution_code="P1")
    assert not access.allows(SHOP, "settlement", "create", institution_code="P2")
    assert access.allows(TERMINAL, "application", "apply", owners=("psn_1",), holder_id="psn_1")
    assert not access.allows(TERMINAL, "application", "apply", owners=("psn_1",), holder_id=None)
    assert not access.allows(TERMINAL, "application", "apply", owners=("psn_1",), holder_id="psn_2")


def test_a_system_actor_has_no_login_of_its_own():
    assert not access.allows(Actor.system("job"), "password", "change")
    assert access.allows(Actor(username="a", role=Role.ADMIN, user_id="usr_1"), "password", "change")
