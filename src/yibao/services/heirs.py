"""Heirs (继承人): who may apply for a deceased person's balance, and the check of the heir's identity.

The relations that inherit are the Civil Code's (民法典 第一千一百二十七条: spouse, children, parents;
siblings, grandparents; 第一千一百二十八条: grandchildren by representation), the same terms as family grants.
"""

from __future__ import annotations

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.domain.identity import same_name
from yibao.domain.registry import Person
from yibao.domain.residents import Resident, ResidentStatus
from yibao.store.uow import UnitOfWork

HEIR_RELATIONS = tuple(v.RELATIONS)


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
