"""Whether a family relation is plausible from the persons' data (家庭关系合理性): birth dates and sex as the
register records them, and the grants already open between people.

`relation` is what the grantee is to the owner (the owner grants their `parent`: the grantee is the older one).
The figures (years between generations, the marriageable ages) come from the policy; these functions only
compare. A contradiction is returned with its facts and a bilingual reason that names no one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Generations the grantee stands above the owner.
GENERATIONS = {"grandparent": 2, "parent": 1, "spouse": 0, "sibling": 0, "child": -1, "grandchild": -2}
# What the owner is to the grantee, for a grant the other way round.
INVERSE = {"grandparent": "grandchild", "parent": "child", "spouse": "spouse", "sibling": "sibling",
           "child": "parent", "grandchild": "grandparent"}


@dataclass(frozen=True)
class Kin:
    """What the register says about one person, as far as relations go."""

    person_id: str
    birth_date: dt.date
    sex: str  # male | female


@dataclass(frozen=True)
class OpenGrant:
    """A grant pending or in force: who granted whom, as what."""

    owner_id: str
    grantee_id: str
    relation: str


@dataclass(frozen=True)
class Implausible:
    reason: str  # generation_gap | marriage_age | second_spouse | contradicts_reverse
    reason_zh: str
    reason_en: str
    facts: Mapping = field(default_factory=dict)


def years_after(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def full_years(born: dt.date, on: dt.date) -> int:
    """Completed years of age on a day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def check_generations(relation: str, *, owner: Kin, grantee: Kin, generation_gap_years: int) -> Implausible | None:
    """A parent is born at least the gap before the child, a grandparent twice the gap; and the other way round."""
    generations = GENERATIONS.get(relation, 0)
    if generations == 0:
        return None
    elder, younger = (grantee, owner) if generations > 0 else (owner, grantee)
    needed = generation_gap_years * abs(generations)
    if years_after(elder.birth_date, needed) <= younger.birth_date:
        return None
    gap = full_years(elder.birth_date, younger.birth_date) if elder.birth_date <= younger.birth_date else \
        -full_years(younger.birth_date, elder.birth_date)
    return Implausible(
        "generation_gap",
        f"登记的出生日期显示，长辈仅比晚辈年长 {gap} 岁，至少应相差 {needed} 岁",
        f"by the recorded birth dates the elder is {gap} year(s) older than the younger; at least {needed} are needed",
        {"relation": relation, "age_gap_years": gap, "min_gap_years": needed})


def check_marriage_age(*, owner: Kin, grantee: Kin, on: dt.date, marriage_age: Mapping[str, int]) -> Implausible | None:
    """Spouses are both of marriageable age (by their sex) on the day."""
    for side, person in (("owner", owner), ("grantee", grantee)):
        minimum = marriage_age.get(person.sex)
        if minimum is None:
            continue
        age = full_years(person.birth_date, on)
        if age < minimum:
            who_zh = "授权人" if side == "owner" else "被授权人"
            return Implausible(
                "marriage_age",
                f"{who_zh}未达法定婚龄（{age} 岁，法定婚龄 {minimum} 岁），不能登记为配偶",
                f"the {side} is under the legal age of marriage ({age}; {minimum} is needed), so cannot be a spouse",
                {"relation": "spouse", "person": side, "age_years": age, "min_age_years": minimum})
    return None


def check_open_grants(relation: str, *, owner_id: str, grantee_id: str,
                      open_grants: Iterable[OpenGrant]) -> Implausible | None:
    """One spouse each: no open spouse grant of either person with a third; and a grant the other way round
    between the same two people names the inverse relation."""
    pair, open_grants = {owner_id, grantee_id}, list(open_grants)
    for other in open_grants:
        if other.owner_id == grantee_id and other.grantee_id == owner_id and other.relation != INVERSE.get(relation):
            return Implausible(
                "contradicts_reverse", "双方之间已有的授权登记了与此不相符的关系",
                "a grant between the same two people the other way round records a relation that does not match",
                {"relation": relation, "recorded_relation": other.relation})
    if relation != "spouse":
        return None
    for other in open_grants:
        involved = {other.owner_id, other.grantee_id}
        if other.relation == "spouse" and involved != pair and pair & involved:
            side = "owner" if owner_id in involved else "grantee"
            return Implausible(
                "second_spouse", "一方已与他人登记为配偶（已生效或待确认），不能再登记配偶",
                "one of them already has a spouse grant (in force or awaiting consent) with someone else",
                {"relation": "spouse", "person": side})
    return None


def check_relation(relation: str, *, owner: Kin, grantee: Kin, on: dt.date, generation_gap_years: int,
                   marriage_age: Mapping[str, int], open_grants: Iterable[OpenGrant] = ()) -> Implausible | None:
    """The first contradiction between the relation claimed and the persons' data, or None."""
    found = check_generations(relation, owner=owner, grantee=grantee, generation_gap_years=generation_gap_years)
    if found is None and relation == "spouse":
        found = check_marriage_age(owner=owner, grantee=grantee, on=on, marriage_age=marriage_age)
    return found or check_open_grants(relation, owner_id=owner.person_id, grantee_id=grantee.person_id,
                                      open_grants=open_grants)
