"""The plausibility of a family relation from birth dates, sex and the grants already open (pure rules)."""

from __future__ import annotations

import datetime as dt

import pytest

from yibao.domain.kinship import Kin, OpenGrant, check_generations, check_relation, full_years, years_after

D = dt.date
GAP = 14
AGES = {"male": 22, "female": 20}
TODAY = D(2026, 3, 2)


def kin(pid: str, born: dt.date, sex: str = "male") -> Kin:
    return Kin(pid, born, sex)


OWNER = kin("owner", D(1985, 3, 12))


def test_years_after_keeps_the_day_and_moves_29_february():
    assert years_after(D(1971, 3, 12), 14) == D(1985, 3, 12)
    assert years_after(D(1984, 2, 29), 1) == D(1985, 2, 28)
    assert years_after(D(1984, 2, 29), 4) == D(1988, 2, 29)


def test_full_years_counts_completed_birthdays():
    assert full_years(D(2004, 3, 2), TODAY) == 22
    assert full_years(D(2004, 3, 3), TODAY) == 21


@pytest.mark.parametrize("relation, born, plausible", [
    ("parent", D(1971, 3, 12), True),  # fourteen years to the day
    ("parent", D(1971, 3, 13), False),  # a day short
    ("parent", D(1990, 1, 1), False),  # a parent born after the child
    ("child", D(1999, 3, 12), True),
    ("child", D(1999, 3, 11), False),
    ("child", D(1960, 1, 1), False),  # a child born before the parent
    ("grandparent", D(1957, 3, 12), True),  # two generations: twice the gap
    ("grandparent", D(1960, 1, 1), False),  # old enough to be a parent, not a grandparent
    ("grandchild", D(2013, 3, 12), True),
    ("grandchild", D(2005, 1, 1), False),
    ("sibling", D(1950, 1, 1), True),  # no age rule between siblings
    ("spouse", D(1960, 1, 1), True),
])
def test_generations_are_the_gap_apart(relation, born, plausible):
    found = check_generations(relation, owner=OWNER, grantee=kin("g", born), generation_gap_years=GAP)
    assert (found is None) is plausible
    if found is not None:
        assert found.reason == "generation_gap" and found.facts["relation"] == relation
        assert found.facts["min_gap_years"] == GAP * (2 if relation.startswith("grand") else 1)


def test_the_facts_give_the_gap_signed_and_name_no_one():
    found = check_generations("parent", owner=OWNER, grantee=kin("g", D(1990, 1, 1)), generation_gap_years=GAP)
    assert found.facts == {"relation": "parent", "age_gap_years": -4, "min_gap_years": 14}
    assert "1990" not in found.reason_zh + found.reason_en


@pytest.mark.parametrize("born, sex, plausible", [
    (D(2004, 3, 2), "male", True),  # 22 today
    (D(2004, 3, 3), "male", False),  # 22 tomorrow
    (D(2006, 3, 2), "female", True),  # 20 today
    (D(2006, 3, 3), "female", False),
])
def test_spouses_are_of_marriageable_age_by_their_sex(born, sex, plausible):
    found = check_relation("spouse", owner=OWNER, grantee=kin("g", born, sex), on=TODAY, generation_gap_years=GAP,
                           marriage_age=AGES)
    assert (found is None) is plausible
    if found is not None:
        assert found.reason == "marriage_age" and found.facts["person"] == "grantee"


def test_without_marriageable_ages_in_the_policy_spouses_are_not_checked_for_age():
    assert check_relation("spouse", owner=OWNER, grantee=kin("g", D(2015, 1, 1)), on=TODAY,
                          generation_gap_years=GAP, marriage_age={}) is None


def test_one_spouse_each_whether_the_other_grant_is_made_or_received():
    wife, other = kin("wife", D(1987, 1, 1), "female"), kin("other", D(1988, 1, 1), "female")

    def spouse(open_grants, grantee=other):
        return check_relation("spouse", owner=OWNER, grantee=grantee, on=TODAY, generation_gap_years=GAP,
                              marriage_age=AGES, open_grants=open_grants)

    assert spouse([OpenGrant("owner", "wife", "spouse")]).facts["person"] == "owner"
    assert spouse([OpenGrant("wife", "owner", "spouse")]).facts["person"] == "owner"
    assert spouse([OpenGrant("third", "other", "spouse")]).facts["person"] == "grantee"
    assert spouse([OpenGrant("owner", "mother", "parent")]) is None  # other relations do not count
    assert spouse([OpenGrant("wife", "owner", "spouse")], grantee=wife) is None  # the couple, the other way


def test_a_grant_back_between_the_same_two_must_name_the_inverse_relation():
    mother = kin("mother", D(1958, 3, 7), "female")
    recorded = [OpenGrant("mother", "owner", "child")]
    assert check_relation("parent", owner=OWNER, grantee=mother, on=TODAY, generation_gap_years=GAP,
                          marriage_age=AGES, open_grants=recorded) is None
    found = check_relation("spouse", owner=OWNER, grantee=mother, on=TODAY, generation_gap_years=GAP,
                           marriage_age=AGES, open_grants=recorded)
    assert found.reason == "contradicts_reverse" and found.facts["recorded_relation"] == "child"
