"""Registry use cases: persons, employers (units), enrolments and self-registration (R1, R2)."""

from __future__ import annotations

import datetime as dt
import re

from yibao.domain import errors
from yibao.domain.clock import local_date
from yibao.domain.identity import (
    parse_id_number,
    same_name,
    validate_name,
    validate_phone,
    validate_uscc,
)
from yibao.domain.ids import new_id
from yibao.domain.masking import mask_id_number
from yibao.domain.regions import validate_region
from yibao.domain.registry import (
    OPEN_ENROLLMENT,
    SCHEME_ZH,
    Employer,
    Enrollment,
    EnrollmentStatus,
    Person,
    Scheme,
    Verification,
)
from yibao.domain.residents import LIFE_EVENT_KIND
from yibao.domain.users import AGENCY_STAFF, Actor, Role, User
from yibao.services import access, notices
from yibao.services.context import Context
from yibao.services.credentials.throttle import LookupThrottle
from yibao.services.ports import UnitOfWork
from yibao.services.registry import life_events, residents, verification


def _new_person(ctx: Context, *, id_number: str, name: str, phone: str, region: str) -> Person:
    rid = parse_id_number(id_number, today=ctx.today())
    return Person(
        id=new_id("psn"), id_number=rid.number, name=validate_name(name), phone=validate_phone(phone),
        region=validate_region(region), birth_date=rid.birth_date, sex=rid.sex, created_at=ctx.now(),
    )


def _insert_person(ctx: Context, uow: UnitOfWork, actor: Actor, person: Person) -> None:
    if uow.one_by(Person, id_number=person.id_number):
        raise errors.PersonDuplicate()
    uow.add(person)
    ctx.version(uow, actor, "person", person.id, person.snapshot())
    ctx.audit(uow, actor, "person.register", "person", person.id, region=person.region)


def register_person(ctx: Context, *, actor: Actor, id_number: str, name: str, phone: str, region: str) -> Person:
    """Register an insured person at the agency (verified: the ID card is in hand) or by a unit (checked against
    the residents register like a self-registration); at the counter the real person's registration takes the
    place of a pending online one of the same number. A death or emigration the register records for the
    number is the person's life event from the start. A unit's refused registrations count as look-ups that
    found no one (a duplicate or a mismatch would otherwise tell it about a stranger's number)."""
    access.ensure(actor, "person", "register")
    if actor.role != Role.UNIT:
        return _register_person(ctx, actor=actor, id_number=id_number, name=name, phone=phone, region=region)
    throttle, user_key = _lookup_throttle(ctx), actor.username.casefold()
    if (wait := throttle.reserve(user_key=user_key)) is not None:
        raise errors.PersonLookupThrottled(retry_after_seconds=wait)
    person = _register_person(ctx, actor=actor, id_number=id_number, name=name, phone=phone, region=region)
    throttle.found(user_key=user_key)
    return person


def _register_person(ctx: Context, *, actor: Actor, id_number: str, name: str, phone: str, region: str) -> Person:
    person = _new_person(ctx, id_number=id_number, name=name, phone=phone, region=region)
    if actor.role in AGENCY_STAFF:
        person.verify(how=Verification.COUNTER, by=actor.username, at=ctx.now())
    with ctx.uow() as uow:
        uow.conflict_means(errors.PersonDuplicate())
        listed = residents.resident_of(uow, person.id_number)
        if not person.is_verified and verification.register_confirms(uow, id_number=person.id_number,
                                                                     name=person.name):
            person.verify(how=Verification.REGISTER, by=verification.REGISTER_VERIFIER, at=ctx.now())
        stale = uow.one_by(Person, id_number=person.id_number)
        if stale is not None and person.is_verified and verification.is_pending_self_registration(uow, stale):
            person = verification.take_over(ctx, uow, actor=actor, stale=stale, fresh=person)
        else:
            _insert_person(ctx, uow, actor, person)
        uow.commit()
    if listed is not None and listed.status in LIFE_EVENT_KIND:
        life_events.record_event(ctx, actor=actor, person_id=person.id, kind=LIFE_EVENT_KIND[listed.status],
                                 date=listed.event_date, source="register")
    return person


def _lookup_throttle(ctx: Context) -> LookupThrottle:
    return ctx.extras.setdefault("unit_lookup_throttle", LookupThrottle(ctx.settings))


def _matches(uow: UnitOfWork, person: Person | None, name: str) -> bool:
    """The name is the person's, and the residents register, where it knows the number, says so too."""
    if person is None or not same_name(person.name, name):
        return False
    listed = residents.resident_of(uow, person.id_number)
    return listed is None or (listed.alive and same_name(listed.name, name))


def lookup_person(ctx: Context, *, actor: Actor, id_number: str, name: str | None = None) -> Person:
    """Find a person by resident ID number (kept out of URLs and logs). A unit must give the name too, and a
    name that does not match answers as an unknown number; its look-ups that find no one are throttled."""
    access.ensure(actor, "person", "look_up")
    is_unit = actor.role == Role.UNIT
    if is_unit and not (name or "").strip():
        raise errors.RequestInvalid(summary="a unit's look-up needs the name as well as the ID number")
    number = parse_id_number(id_number, today=ctx.today()).number
    throttle, user_key = _lookup_throttle(ctx), actor.username.casefold()
    if is_unit and (wait := throttle.reserve(user_key=user_key)) is not None:
        raise errors.PersonLookupThrottled(retry_after_seconds=wait)
    with ctx.uow() as uow:
        person = uow.one_by(Person, id_number=number)
        if person is None or (name is not None and not _matches(uow, person, name)):
            raise errors.PersonNotFound()
    if is_unit:
        throttle.found(user_key=user_key)
    return person


def get_person(ctx: Context, *, actor: Actor, person_id: str) -> Person:
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_person(uow, actor, person_id)
        return person


def update_person(ctx: Context, *, actor: Actor, person_id: str, name: str | None = None,
                  phone: str | None = None, region: str | None = None) -> Person:
    """Change contact data; a name or region change is agency business. History keeps every version."""
    if name is not None or region is not None:
        access.ensure(actor, "person", "change_name_or_region")
    access.ensure_owner_or_staff(actor, person_id)
    with ctx.uow() as uow:
        person = uow.get(Person, person_id)
        if person is None:
            raise errors.PersonNotFound()
        if name is not None:
            person.name = validate_name(name)
        if phone is not None:
            person.phone = validate_phone(phone)
        if region is not None:
            person.region = validate_region(region)
        if name is None and phone is None and region is None:
            return person
        ctx.version(uow, actor, "person", person.id, person.snapshot())
        ctx.audit(uow, actor, "person.update", "person", person.id,
                  fields=[f for f, v in (("name", name), ("phone", phone), ("region", region)) if v is not None])
        uow.commit()
        return person


def history(ctx: Context, *, actor: Actor, entity: str, entity_id: str) -> list:
    """The versions of a master-data record, oldest first."""
    from yibao.domain.audit import MasterDataVersion

    with ctx.uow() as uow:
        if entity == "person":
            if uow.get(Person, entity_id) is None:
                raise errors.PersonNotFound()
            access.ensure_can_read_owned(uow, actor, entity_id)  # not a unit: its employees' basics only
        elif entity == "employer":
            if uow.get(Employer, entity_id) is None:
                raise errors.EmployerNotFound()
            access.ensure_employer_access(actor, entity_id, write=False)
        return uow.all_by(MasterDataVersion, "id", entity=entity, entity_id=entity_id)


# --- employers ---------------------------------------------------------------


def _check_employer_fields(fields: dict) -> dict:
    if fields.get("name") is not None:
        fields["name"] = fields["name"].strip() or None
    if fields.get("region"):
        validate_region(fields["region"])
    if fields.get("contact_name"):
        fields["contact_name"] = validate_name(fields["contact_name"])
    if fields.get("contact_phone"):
        fields["contact_phone"] = validate_phone(fields["contact_phone"])
    return fields


def register_employer(ctx: Context, *, actor: Actor, uscc: str, name: str | None = None, region: str | None = None,
                      contact_name: str | None = None, contact_phone: str | None = None) -> Employer:
    """Register a unit; it may be incomplete, but then it cannot enrol anyone yet."""
    access.ensure(actor, "employer", "register")
    code = validate_uscc(uscc)
    fields = _check_employer_fields(dict(name=name, region=region, contact_name=contact_name,
                                         contact_phone=contact_phone))
    employer = Employer(id=new_id("emp"), uscc=code, created_at=ctx.now(), **fields)
    with ctx.uow() as uow:
        uow.conflict_means(errors.EmployerDuplicate())
        if uow.one_by(Employer, uscc=code):
            raise errors.EmployerDuplicate()
        uow.add(employer)
        ctx.version(uow, actor, "employer", employer.id, employer.snapshot())
        ctx.audit(uow, actor, "employer.register", "employer", employer.id, missing=employer.missing_fields())
        uow.commit()
    return employer


def get_employer(ctx: Context, *, actor: Actor, employer_id: str) -> Employer:
    with ctx.uow() as uow:
        employer = uow.get(Employer, employer_id)
        if employer is None:
            raise errors.EmployerNotFound()
        access.ensure_employer_access(actor, employer_id, write=False)
        return employer


def update_employer(ctx: Context, *, actor: Actor, employer_id: str, **changes) -> Employer:
    """Complete or correct a unit's data (the unit itself or agency staff)."""
    access.ensure_employer_access(actor, employer_id, write=True)
    fields = _check_employer_fields({k: v for k, v in changes.items() if v is not None})
    with ctx.uow() as uow:
        employer = uow.get(Employer, employer_id)
        if employer is None:
            raise errors.EmployerNotFound()
        for key, value in fields.items():
            setattr(employer, key, value)
        if not fields:
            return employer
        ctx.version(uow, actor, "employer", employer.id, employer.snapshot())
        ctx.audit(uow, actor, "employer.update", "employer", employer.id, fields=sorted(fields))
        uow.commit()
        return employer


# --- enrolments ----------------------------------------------------------------


def _open_enrollment(uow: UnitOfWork, person_id: str, scheme: str) -> Enrollment | None:
    return next((e for e in uow.all_by(Enrollment, person_id=person_id, scheme=scheme)
                 if e.status in OPEN_ENROLLMENT), None)


def _add_enrollment(ctx: Context, uow: UnitOfWork, actor: Actor, *, person_id: str, scheme: str,
                    employer_id: str | None, flexible: bool, start_date: dt.date, status: str,
                    **audited) -> Enrollment:
    if _open_enrollment(uow, person_id, scheme):
        raise errors.EnrollmentDuplicate(scheme=scheme, scheme_zh=SCHEME_ZH[Scheme(scheme)])
    enrollment = Enrollment(id=new_id("enr"), person_id=person_id, scheme=scheme, employer_id=employer_id,
                            flexible=flexible, start_date=start_date, status=status, created_at=ctx.now())
    uow.add(enrollment)
    ctx.version(uow, actor, "enrollment", enrollment.id, enrollment.snapshot())
    ctx.audit(uow, actor, "enrollment.add", "enrollment", enrollment.id, scheme=scheme, status=status, **audited)
    return enrollment


def _backdating_limit(ctx: Context, *, region: str | None, scheme: str) -> tuple[int, dict | None]:
    """The days back a unit may date an enrolment's start or end, and the rule that says so (none: not a day)."""
    today = ctx.today()
    answer = None if ctx.policy is None or not region else \
        ctx.policy.answer(ctx.policy.policy_region(region), "enrollment.backdating", {"scheme": scheme}, today)
    if answer is None:
        return 0, None
    return int(answer.values["limit"]), answer.citation().as_dict()


def _earliest_start(ctx: Context, employer: Employer, scheme: str) -> tuple[dt.date, int, dict | None]:
    """The earliest start a unit may give: the policy's back-dating limit, and not before the month the unit
    was registered in (it can show no contributions for a time before it was here)."""
    days, rule = _backdating_limit(ctx, region=employer.region, scheme=scheme)
    registered = local_date(employer.created_at).replace(day=1)
    return max(ctx.today() - dt.timedelta(days=days), registered), days, rule


def _ensure_unit_may_start(ctx: Context, employer: Employer, scheme: str, start_date: dt.date) -> None:
    """A unit's start date: no earlier than its earliest, and no further ahead than the same days (a new hire
    announced shortly before, not a stranger's record held open for months to read)."""
    earliest, days, rule = _earliest_start(ctx, employer, scheme)
    latest = ctx.today() + dt.timedelta(days=days)
    if start_date > latest:
        raise errors.EnrollmentStartTooLate(latest_date=latest.isoformat(), limit_days=days, rule=rule)
    if start_date < earliest:
        raise errors.EnrollmentStartTooEarly(earliest_date=earliest.isoformat(), limit_days=days, rule=rule)


def _tell(ctx: Context, uow: UnitOfWork, enrollment: Enrollment, employer: Employer, *, ended: bool) -> None:
    """The person hears of every enrolment and end a unit makes (增员、减员), naming the unit and the date."""
    unit = employer.name
    if ended:
        day = enrollment.end_date.isoformat()
        title = (f"{unit}为您办理了停保", f"{unit} ended your enrolment")
        body = (f"{unit}为您办理了停保（减员），您在该单位的参保登记于 {day} 终止。如有异议，请尽快联系经办机构。",
                f"{unit} ended your enrolment as its employee on {day}. If this is wrong, tell the agency soon.")
        facts = {"event": "ended", "end_date": day}
    else:
        scheme, day = Scheme(enrollment.scheme), enrollment.start_date.isoformat()
        title = (f"{unit}为您办理了参保登记", f"{unit} enrolled you")
        body = (f"{unit}为您办理了{SCHEME_ZH[scheme]}参保登记（增员），自 {day} 起。如您并未在该单位就业，请尽快联系经办机构。",
                f"{unit} enrolled you in the {scheme.value} scheme as its employee from {day}. "
                "If you do not work there, tell the agency soon.")
        facts = {"event": "enrolled", "start_date": day}
    notices.tell(ctx, uow, [enrollment.person_id], kind="enrollment", title=title, body=body,
                 data={**facts, "enrollment_id": enrollment.id, "employer_id": employer.id, "employer_name": unit})


def enroll(ctx: Context, *, actor: Actor, person_id: str, scheme: str, employer_id: str | None = None,
           flexible: bool = False, start_date: dt.date, reason: str | None = None) -> Enrollment:
    """Enrol a person in a scheme: by the agency, or by a complete unit for its own employees from no earlier
    than the policy's back-dating limit (the person is told); the agency may date further back, with a reason."""
    try:
        scheme = Scheme(scheme).value
    except ValueError:
        raise errors.RequestInvalid(summary="scheme must be employee or resident") from None
    Enrollment.check_shape(scheme=scheme, employer_id=employer_id, flexible=flexible)
    by_unit = actor.role == Role.UNIT
    access.ensure(actor, "enrollment", "create", employer_id=employer_id)
    duplicate = errors.EnrollmentDuplicate(scheme=scheme, scheme_zh=SCHEME_ZH[Scheme(scheme)])
    with ctx.uow() as uow:
        uow.conflict_means(duplicate)
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        employer, backdated = None, {}
        if employer_id:
            employer = uow.get(Employer, employer_id)
            if employer is None:
                raise errors.EmployerNotFound()
            employer.ensure_complete()
            earliest = _earliest_start(ctx, employer, scheme)[0]
            if by_unit:
                _ensure_unit_may_start(ctx, employer, scheme, start_date)
            elif start_date < earliest:
                backdated = {"beyond_unit_limit": True, "earliest_for_unit": earliest.isoformat(),
                             "reason": (reason or "").strip()[:200] or None}
        enrollment = _add_enrollment(ctx, uow, actor, person_id=person_id, scheme=scheme, employer_id=employer_id,
                                     flexible=flexible, start_date=start_date, status=EnrollmentStatus.ACTIVE,
                                     **backdated)
        if by_unit:
            _tell(ctx, uow, enrollment, employer, ended=False)
        uow.commit()
        return enrollment


def list_enrollments(ctx: Context, *, actor: Actor, person_id: str) -> list[Enrollment]:
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_person(uow, actor, person_id)
        found = uow.all_by(Enrollment, "created_at", person_id=person_id)
        if actor.role == Role.UNIT:  # its own enrolments of its employee, not the person's others
            return [e for e in found if e.employer_id == actor.employer_id]
        return found


def _change_enrollment(ctx: Context, *, actor: Actor, enrollment_id: str, action: str,
                       allowed_from: tuple[str, ...], to: str, end_date: dt.date | None = None,
                       needs_verified_person: bool = False, reason: str | None = None) -> Enrollment:
    with ctx.uow() as uow:
        enrollment = uow.get(Enrollment, enrollment_id)
        if enrollment is None:
            raise errors.EnrollmentNotFound()
        by_unit = actor.role == Role.UNIT
        access.ensure(actor, "enrollment", action, employer_id=enrollment.employer_id)
        if enrollment.status not in allowed_from:
            raise errors.EnrollmentWrongState(status=enrollment.status, action=action)
        if needs_verified_person and not uow.get(Person, enrollment.person_id).is_verified:
            raise errors.EnrollmentPersonUnverified()
        employer = uow.get(Employer, enrollment.employer_id) if enrollment.employer_id else None
        audited = {}
        if end_date is not None:
            if end_date < enrollment.start_date:
                raise errors.EnrollmentInvalid(reason_zh="终止日期早于开始日期",
                                               reason_en="the end date is before the start date")
            if employer is not None:
                days, rule = _backdating_limit(ctx, region=employer.region, scheme=enrollment.scheme)
                earliest = ctx.today() - dt.timedelta(days=days)
                if end_date < earliest:
                    if by_unit:
                        raise errors.EnrollmentEndTooEarly(earliest_date=earliest.isoformat(), limit_days=days,
                                                           rule=rule)
                    audited = {"beyond_unit_limit": True, "earliest_for_unit": earliest.isoformat(),
                               "reason": (reason or "").strip()[:200] or None}
            enrollment.end_date = end_date
        enrollment.status = to
        ctx.version(uow, actor, "enrollment", enrollment.id, enrollment.snapshot())
        ctx.audit(uow, actor, f"enrollment.{action}", "enrollment", enrollment.id, status=to, **audited)
        if by_unit and employer is not None:
            _tell(ctx, uow, enrollment, employer, ended=True)
        uow.commit()
        return enrollment


def approve_enrollment(ctx: Context, *, actor: Actor, enrollment_id: str) -> Enrollment:
    """The agency accepts a self-registration whose person is verified (by the register or at a counter)."""
    return _change_enrollment(ctx, actor=actor, enrollment_id=enrollment_id, action="approve",
                              allowed_from=(EnrollmentStatus.REQUESTED,), to=EnrollmentStatus.ACTIVE,
                              needs_verified_person=True)


def end_enrollment(ctx: Context, *, actor: Actor, enrollment_id: str, end_date: dt.date,
                   reason: str | None = None) -> Enrollment:
    """End an enrolment (leaving the unit, moving away): a unit no further back than the policy's limit (the person
    is told), the agency further with a reason."""
    return _change_enrollment(ctx, actor=actor, enrollment_id=enrollment_id, action="end",
                              allowed_from=tuple(OPEN_ENROLLMENT), to=EnrollmentStatus.ENDED, end_date=end_date,
                              reason=reason)


# --- a unit's own employees (增员 in one step, the list it keeps) ----------------------------------------------

_FIELD_OF_CODE = {  # the field a refusal of a unit's enrolment points at
    errors.IdNumberInvalid.code: "id_number", errors.PersonDuplicate.code: "id_number",
    errors.EnrollmentDuplicate.code: "id_number", errors.NameInvalid.code: "name",
    errors.RegistrationIdentityMismatch.code: "name", errors.PhoneInvalid.code: "phone",
    errors.EnrollmentStartTooEarly.code: "start_date", errors.EnrollmentStartTooLate.code: "start_date",
    errors.EnrollmentInvalid.code: "start_date",
}
_DATE_SHAPES = (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"))


def field_of(error: errors.DomainError) -> str | None:
    """The employee field a refusal is about (id_number, name, phone, start_date), if one."""
    return _FIELD_OF_CODE.get(error.code)


def parse_start_date(raw: str) -> dt.date:
    """A start date as a form or a spreadsheet writes it: 2026-03-01, or 2026/3/1."""
    text = (raw or "").strip()
    for shape in _DATE_SHAPES:
        if found := shape.fullmatch(text):
            try:
                return dt.date(*map(int, found.groups()))
            except ValueError:
                break
    raise errors.EnrollmentInvalid(reason_zh="开始日期应为“年-月-日”格式的真实日期，例如 2026-03-01",
                                   reason_en="the start date must be a real date written year-month-day, "
                                             "e.g. 2026-03-01")


def check_employee(ctx: Context, *, id_number: str, name: str, phone: str,
                   start_date: str) -> dict[str, errors.DomainError]:
    """Each field of a unit's enrolment checked on its own (nothing is looked up), so a form or a file's row can
    show every mistake beside its field; enrol_employee checks them again."""
    return _each_field(ctx, id_number=id_number, name=name, phone=phone,
                       more={"start_date": lambda: parse_start_date(start_date)})


def _each_field(ctx: Context, *, id_number: str, name: str, phone: str, more: dict) -> dict[str, errors.DomainError]:
    """A person's number, name and phone, and the `more` checks by field, each run on its own: what each refused."""
    checks = {
        "id_number": lambda: parse_id_number(id_number, today=ctx.today()),
        "name": lambda: validate_name(name),
        "phone": lambda: validate_phone(phone),
        **more,
    }
    found: dict[str, errors.DomainError] = {}
    for field_name, check in checks.items():
        try:
            check()
        except errors.DomainError as exc:
            found[field_name] = exc
    return found


def enrol_employee(ctx: Context, *, actor: Actor, id_number: str, name: str, phone: str,
                   start_date: dt.date) -> tuple[Enrollment, bool]:
    """A unit takes on an employee in one step and one transaction (增员): the person is found by number and name
    (the residents register, where it knows the number, agreeing), or registered when the number is new here, and
    enrolled with the unit in the employee scheme from `start_date`, within the unit's limits; the person is told.
    One look-up of the unit's throttle: a refusal after the look-up counts as a miss. An employee already enrolled
    with this unit is left as they are. Returns (the enrolment, whether it is new)."""
    access.ensure(actor, "person", "register")
    access.ensure(actor, "enrollment", "create", employer_id=actor.employer_id)
    if actor.role != Role.UNIT or not actor.employer_id:
        raise errors.AccessForbidden()
    scheme = Scheme.EMPLOYEE.value
    number = parse_id_number(id_number, today=ctx.today()).number
    name, phone = validate_name(name), validate_phone(phone)
    with ctx.uow() as uow:  # what the unit may do is checked before anything is looked up
        employer = uow.get(Employer, actor.employer_id)
        if employer is None:
            raise errors.EmployerNotFound()
        employer.ensure_complete()
        _ensure_unit_may_start(ctx, employer, scheme, start_date)
    throttle, user_key = _lookup_throttle(ctx), actor.username.casefold()
    if (wait := throttle.reserve(user_key=user_key)) is not None:
        raise errors.PersonLookupThrottled(retry_after_seconds=wait)
    with ctx.uow() as uow:
        uow.conflict_means(errors.EnrollmentDuplicate(scheme=scheme, scheme_zh=SCHEME_ZH[Scheme.EMPLOYEE]))
        person = uow.one_by(Person, id_number=number)
        if person is not None:
            if not _matches(uow, person, name):
                raise errors.RegistrationIdentityMismatch()
            already = _open_enrollment(uow, person.id, scheme)
            if already is not None and already.employer_id == employer.id:
                throttle.found(user_key=user_key)
                return already, False
        else:
            person = _new_person(ctx, id_number=number, name=name, phone=phone, region=employer.region)
            if verification.register_confirms(uow, id_number=person.id_number, name=person.name):
                person.verify(how=Verification.REGISTER, by=verification.REGISTER_VERIFIER, at=ctx.now())
            _insert_person(ctx, uow, actor, person)
            uow.flush()
        enrollment = _add_enrollment(ctx, uow, actor, person_id=person.id, scheme=scheme, employer_id=employer.id,
                                     flexible=False, start_date=start_date, status=EnrollmentStatus.ACTIVE)
        _tell(ctx, uow, enrollment, employer, ended=False)
        uow.commit()
    throttle.found(user_key=user_key)
    return enrollment, True


def employees_of(ctx: Context, *, actor: Actor, employer_id: str) -> list[dict]:
    """The unit's open enrolments, earliest start first, each with the employee's name and masked ID number (the
    most a unit reads of its employees)."""
    access.ensure_employer_access(actor, employer_id, write=False)
    with ctx.uow() as uow:
        found = [e for e in uow.all_by(Enrollment, "start_date", "id", employer_id=employer_id)
                 if e.status in OPEN_ENROLLMENT]
        rows = []
        for enrollment in found:
            person = uow.get(Person, enrollment.person_id)
            rows.append({"enrollment_id": enrollment.id, "person_id": person.id, "name": person.name,
                         "id_number": mask_id_number(person.id_number), "scheme": Scheme(enrollment.scheme),
                         "start_date": enrollment.start_date, "status": EnrollmentStatus(enrollment.status)})
        return rows


# --- self-registration (R1) ------------------------------------------------------

NEXT_STEPS = [
    {"step": "wait_for_review", "zh": "等待经办机构审核您的参保登记", "en": "Wait for the agency to confirm your enrolment"},
    {"step": "verify_at_counter", "zh": "如经办机构未能通过人口库核实您的身份，请携带本人身份证到窗口核验",
     "en": "If the agency cannot confirm your identity from the residents register, show your ID card at a counter"},
    {"step": "activate_evoucher", "zh": "在 App 或小程序中激活医保电子凭证", "en": "Activate your e-voucher in the app or mini-program"},
    {"step": "link_bank_account", "zh": "关联本人银行账户，用于缴费与拨付", "en": "Link a bank account in your own name for payments"},
    {"step": "collect_card", "zh": "到经办机构或合作银行领取并激活医保卡", "en": "Collect and activate your card at the agency or a partner bank"},
]


def check_person(ctx: Context, *, id_number: str, name: str, phone: str,
                 region: str) -> dict[str, errors.DomainError]:
    """A person's fields (ID number, name, phone, region) checked each on its own, nothing looked up: the refusal
    of each field that is wrong, for a form to show beside it."""
    return _each_field(ctx, id_number=id_number, name=name, phone=phone,
                       more={"region": lambda: validate_region(region)})


def check_registration(ctx: Context, *, id_number: str, name: str, phone: str, region: str, password: str,
                       username: str | None = None) -> dict[str, errors.DomainError]:
    """Each field of an online registration checked on its own, so a form can show every mistake beside its
    field at once (self_register still checks them all again, and the register and duplicates besides)."""
    from yibao.domain.users import PASSWORD_MIN_LENGTH

    found = check_person(ctx, id_number=id_number, name=name, phone=phone, region=region)
    if len(password or "") < PASSWORD_MIN_LENGTH:
        found["password"] = errors.PasswordTooWeak(min_length=PASSWORD_MIN_LENGTH)
    if len((username or "").strip()) > 64:
        found["username"] = errors.RequestInvalid(summary="username must be 1 to 64 characters")
    return found


def self_register(ctx: Context, *, id_number: str, name: str, phone: str, region: str, password: str,
                  username: str | None = None) -> tuple[Person, Enrollment, User]:
    """A flexible-employment person registers online: person, enrolment request and a login, in one step.

    Name and number are checked against the residents register: a number it knows under another name, or
    as deceased or emigrated, is refused, and so is a number already registered here other than by a pending
    online registration; all with the one identity_mismatch answer. A number the register confirms is
    verified; one it does not know stays unverified until a counter verifies it. Either takes the place of
    a pending online registration of the same number."""
    from yibao.domain.users import PASSWORD_MIN_LENGTH

    person = _new_person(ctx, id_number=id_number, name=name, phone=phone, region=region)
    if len(password or "") < PASSWORD_MIN_LENGTH:
        raise errors.PasswordTooWeak(min_length=PASSWORD_MIN_LENGTH)
    login = (username or "").strip() or person.phone
    if len(login) > 64:  # as for users added by an admin (services.auth.add_user)
        raise errors.RequestInvalid(summary="username must be 1 to 64 characters")
    with ctx.uow() as uow:
        uow.conflict_means(errors.RegistrationIdentityMismatch())  # a concurrent registration of the number
        if verification.register_confirms(uow, id_number=person.id_number, name=person.name):
            person.verify(how=Verification.REGISTER, by=verification.REGISTER_VERIFIER, at=ctx.now())
        stale = uow.one_by(Person, id_number=person.id_number)
        if stale is not None and not verification.is_pending_self_registration(uow, stale):
            raise errors.RegistrationIdentityMismatch()
        actor = Actor(username=login, role=Role.PERSON, person_id=stale.id if stale else person.id)
        if stale is not None:
            person = verification.take_over(ctx, uow, actor=actor, stale=stale, fresh=person)
        if uow.one_by(User, username=login):
            raise errors.UsernameTaken()
        if stale is None:
            _insert_person(ctx, uow, actor, person)
        uow.flush()
        enrollment = _add_enrollment(ctx, uow, actor, person_id=person.id, scheme=Scheme.EMPLOYEE, employer_id=None,
                                     flexible=True, start_date=ctx.today(), status=EnrollmentStatus.REQUESTED)
        user = User(id=new_id("usr"), username=login, password_hash=ctx.hash_secret(password),
                    role=Role.PERSON.value, created_at=ctx.now(), person_id=person.id)
        uow.add(user)
        ctx.audit(uow, actor, "user.add", "user", user.id, username=login, role="person")
        uow.commit()
        return person, enrollment, user

