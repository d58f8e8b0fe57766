"""Which enrolment is in force: asked by family grants, claims and the policy explanations as well as by
enrolment itself, so it sits below them all."""

from __future__ import annotations

import datetime as dt

from yibao.domain import in_force
from yibao.domain.registry import Enrollment, EnrollmentStatus
from yibao.services.ports import UnitOfWork


def enrollment_on(uow: UnitOfWork, person_id: str, day: dt.date) -> Enrollment | None:
    """The person's enrolment in force on a day, if any."""
    return in_force.enrollment_on(uow.all_by(Enrollment, "start_date", person_id=person_id,
                                             status=EnrollmentStatus.ACTIVE), day)
