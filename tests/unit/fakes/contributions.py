"""Contributions in memory (`uow.contributions`): a crediting file's facts found from the kept entities, keys
and answers through the unit of work's idempotency keys, declarations from the kept declarations."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from yibao.domain.collection import Declaration, DeclarationStatus
from yibao.domain.registry import Employer, Enrollment, EnrollmentStatus, Person
from yibao.policy.crediting import Found, FoundRow, contribution_key


class FakeContributions:
    set_based = True  # a batch is decided as one here too
    lanes = 1

    def __init__(self, uow) -> None:
        self.uow = uow

    def found_rows(self, rows, *, scope: str, period: str, first: dt.date, last: dt.date) -> dict[int, FoundRow]:
        return {line: self._found(id_number, uscc, scope, period, first, last) for line, id_number, uscc in rows}

    def _found(self, id_number, uscc, scope, period, first, last) -> FoundRow:
        uow = self.uow
        person = uow.one_by(Person, id_number=id_number)
        if person is None:
            return FoundRow(None)
        employer = uow.one_by(Employer, uscc=uscc) if uscc else None
        employer_id = employer.id if employer else None
        covering = [e for e in uow.all_by(Enrollment, "start_date", "id", person_id=person.id,
                                          status=EnrollmentStatus.ACTIVE)
                    if e.start_date <= last and (e.end_date is None or e.end_date >= first)
                    and (not uscc or (employer_id is not None and e.employer_id == employer_id))]
        standing = replace(uow.persons.standing(person.id), frozen=False)  # a freeze stops no credit, as in the store
        kept = uow.keys.key_row(scope, contribution_key(person.id, period, employer_id))
        enrollment = covering[0] if covering else None
        return FoundRow(Found(person.id, person.region, person.birth_date, standing, employer_id=employer_id,
                              scheme=enrollment.scheme if enrollment else None,
                              flexible=enrollment.flexible if enrollment else False),
                        earlier_hash=kept.request_hash if kept else None)

    def claim_keys(self, *, scope: str, keys: dict[str, str], now: dt.datetime) -> set[str]:
        return {key for key, digest in sorted(keys.items()) if self.uow.keys.claim_key(scope, key, digest, now)}

    def claimed_with(self, *, scope: str, keys: list[str]) -> dict[str, str]:
        return {key: kept.request_hash for key in keys if (kept := self.uow.keys.key_row(scope, key))}

    def answer(self, *, scope: str, responses: dict[str, dict]) -> None:
        for key, response in responses.items():
            self.uow.keys.store_response(scope, key, response)

    def pending_declarations(self, *, period: str) -> list[Declaration]:
        return self.uow.all_by(Declaration, status=DeclarationStatus.PENDING, period=period)

    def arrears(self, *, before: str, employer_id: str | None, person_id: str | None) -> list[Declaration]:
        where = {k: v for k, v in (("employer_id", employer_id), ("person_id", person_id)) if v is not None}
        return [d for d in self.uow.all_by(Declaration, "period", "declared_at", "id",
                                           status=DeclarationStatus.PENDING, **where) if d.period < before]
