"""Heirs (继承人): who may apply for a deceased person's balance, and the check of the heir's identity.

The relations that inherit are the Civil Code's (民法典 第一千一百二十七条: spouse, children, parents;
siblings, grandparents; 第一千一百二十八条: grandchildren by representation), the same terms as family grants.
"""

from __future__ import annotations

import datetime as dt

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.identity import same_name
from yibao.domain.kinship import Kin, check_relation
from yibao.domain.registry import Person
from yibao.domain.residents import Resident, ResidentStatus
from yibao.policy.engine import Engine as PolicyEngine
from yibao.services.ports import UnitOfWork

HEIR_RELATIONS = tuple(v.Relation)


def check_heir_identity(uow: UnitOfWork, *, deceased: Person, heir: Person, id_number: str, name: str,
                        relation: str) -> None:
    """The heir is a registered person other than the deceased, whose ID number and name are those given, and
    whose relation is one that inherits. Checked against the heir's person record and, where the residents
    register knows the heir, against the register too: a living person of that name."""
    if heir.id == deceased.id:
        raise errors.HeirRequired()
    if relation not in HEIR_RELATIONS:
        raise errors.ApplicationInvalid(reason_zh=f"继承人与参保人的关系须为 {'、'.join(HEIR_RELATIONS)}",
                                        reason_en=f"the heir's relation is one of {', '.join(HEIR_RELATIONS)}")
    if (id_number or "").strip().upper() != heir.id_number or not same_name(name, heir.name):
        raise errors.HeirMismatch()
    listed = uow.one_by(Resident, id_number=heir.id_number)
    if listed is not None and (listed.status != ResidentStatus.ALIVE or not same_name(listed.name, name)):
        raise errors.HeirMismatch()


def check_heir_relation(policy: PolicyEngine, *, deceased: Person, heir: Person, relation: str,
                        day: dt.date) -> None:
    """The relation the heir states, against both persons' birth dates and sex, with the figures the policy gives
    for family relations (the same check as a family grant's, the deceased in the owner's place)."""
    figures = policy.answer(policy.policy_region(deceased.region), "family.relations", {"scheme": None}, day)
    if figures is None:
        return
    values = figures.values
    found = check_relation(relation, owner=Kin(deceased.id, deceased.birth_date, deceased.sex),
                           grantee=Kin(heir.id, heir.birth_date, heir.sex), on=day,
                           generation_gap_years=values["generation_gap"],
                           marriage_age={sex: values[f"marriage_age_{sex}"] for sex in ("male", "female")
                                         if values.get(f"marriage_age_{sex}") is not None})
    if found is not None:
        raise errors.HeirRelationImplausible(reason=found.reason, reason_zh=found.reason_zh,
                                             reason_en=found.reason_en, **found.facts)
