"""The unit's pages: /unit (its data, completeness and employees), enrolling one employee or a CSV file, and the
contribution declarations with their collection state. The unit is always the session's (`actor.employer_id`):
no page takes it from the path or the form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from yibao.domain import errors
from yibao.domain.regions import region_name
from yibao.domain.unit_imports import COLUMNS
from yibao.domain.users import Actor, Role
from yibao.services.accounts import collection
from yibao.services.registry import enrolment, unit_imports
from yibao.web import csrf, i18n, render, session
from yibao.web.labels import N_
from yibao.web.routers.public import regions

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])

Unit = Annotated[Actor, Depends(session.role(Role.UNIT))]

UNIT_FIELDS = {
    "name": N_("Unit name"),
    "region": N_("Region"),
    "contact_name": N_("Contact person"),
    "contact_phone": N_("Contact phone"),
}
EMPLOYEE_FIELDS = {
    "id_number": N_("ID card number"),
    "name": N_("Name as on the ID card"),
    "phone": N_("Mobile number"),
    "start_date": N_("Start date"),
}
SCHEMES = {"employee": N_("Employee medical insurance"), "resident": N_("Resident medical insurance")}
STATUSES = {"active": N_("Insured"), "requested": N_("Awaiting the agency")}
IMPORT_STATUSES = {"running": N_("Running"), "done": N_("Done"), "failed": N_("Stopped")}
CSV_TYPE = "text/csv; charset=utf-8"


def _ctx(request: Request):
    return request.app.state.ctx


@router.get("/unit")
def overview(request: Request, actor: Unit):
    ctx = _ctx(request)
    employer = enrolment.get_employer(ctx, actor=actor, employer_id=actor.employer_id)
    return _overview_page(request, actor, employer, values=employer.snapshot(), field_errors={})


def _overview_page(request: Request, actor: Actor, employer, *, values: dict, field_errors: dict,
                   status_code: int = 200):
    ctx = _ctx(request)
    checklist = [(UNIT_FIELDS[f], bool(getattr(employer, f))) for f in employer.REQUIRED]
    return render.page(request, "unit/index.html", status_code=status_code, employer=employer,
                       region=region_name(employer.region) if employer.region else None, checklist=checklist,
                       complete=not employer.missing_fields(), values=values, field_errors=field_errors,
                       regions=regions(request), labels=UNIT_FIELDS,
                       employees=enrolment.employees_of(ctx, actor=actor, employer_id=actor.employer_id),
                       imports=unit_imports.recent(ctx, actor=actor, employer_id=actor.employer_id),
                       schemes=SCHEMES, statuses=STATUSES, import_statuses=IMPORT_STATUSES)


@router.post("/unit")
def complete_data(request: Request, actor: Unit, name: Annotated[str, Form(max_length=200)] = "",
                  region: Annotated[str, Form(max_length=12)] = "",
                  contact_name: Annotated[str, Form(max_length=100)] = "",
                  contact_phone: Annotated[str, Form(max_length=40)] = ""):
    ctx, _ = _ctx(request), render.gettext(request)
    given = {"name": name.strip(), "region": region.strip(), "contact_name": contact_name.strip(),
             "contact_phone": contact_phone.strip()}
    try:
        enrolment.update_employer(ctx, actor=actor, employer_id=actor.employer_id,
                                  **{k: v for k, v in given.items() if v})
    except errors.DomainError as exc:
        employer = enrolment.get_employer(ctx, actor=actor, employer_id=actor.employer_id)
        return _overview_page(request, actor, employer, values=given, status_code=exc.status,
                              field_errors={_unit_field_of(exc): exc})
    return session.redirect(request, "/unit", flash=("success", _("The unit's data is saved.")))


def _unit_field_of(exc: errors.DomainError) -> str:
    return {errors.RegionUnknown.code: "region", errors.NameInvalid.code: "contact_name",
            errors.PhoneInvalid.code: "contact_phone"}.get(exc.code, "name")


# --- one employee ------------------------------------------------------------------------------------------------


@router.get("/unit/employees/new")
def enrol_form(request: Request, actor: Unit):
    return _enrol_page(request, actor, values={"start_date": _ctx(request).today().isoformat()}, field_errors={})


def _enrol_page(request: Request, actor: Actor, *, values: dict, field_errors: dict, error=None,
                status_code: int = 200):
    employer = enrolment.get_employer(_ctx(request), actor=actor, employer_id=actor.employer_id)
    return render.page(request, "unit/enrol.html", status_code=status_code, employer=employer, values=values,
                       field_errors=field_errors, error=error, labels=EMPLOYEE_FIELDS)


@router.post("/unit/employees")
def enrol(request: Request, actor: Unit, id_number: Annotated[str, Form(max_length=40)] = "",
          name: Annotated[str, Form(max_length=100)] = "", phone: Annotated[str, Form(max_length=40)] = "",
          start_date: Annotated[str, Form(max_length=20)] = ""):
    ctx, _ = _ctx(request), render.gettext(request)
    values = {"id_number": id_number, "name": name, "phone": phone, "start_date": start_date}
    field_errors = enrolment.check_employee(ctx, **values)
    if field_errors:
        return _enrol_page(request, actor, values=values, field_errors=field_errors, status_code=422)
    try:
        enrollment, new = enrolment.enrol_employee(ctx, actor=actor, id_number=id_number, name=name, phone=phone,
                                                   start_date=enrolment.parse_start_date(start_date))
    except errors.DomainError as exc:
        column = enrolment.field_of(exc)
        return _enrol_page(request, actor, values=values, field_errors={column: exc} if column else {},
                           error=None if column else exc, status_code=exc.status)
    if not new:
        return session.redirect(request, "/unit", flash=("info", _("%(name)s is already enrolled with the unit.",
                                                                   name=name.strip())))
    return session.redirect(request, "/unit", flash=("success", _(
        "%(name)s is enrolled from %(day)s; they are told by a notice.", name=name.strip(),
        day=i18n.day(enrollment.start_date, render.locale_of(request)))))


# --- a file of employees ----------------------------------------------------------------------------------------


@router.get("/unit/imports/new")
def import_form(request: Request, actor: Unit):
    return _import_page(request, error=None)


def _import_page(request: Request, *, error, status_code: int = 200):
    return render.page(request, "unit/import.html", status_code=status_code, error=error, columns=COLUMNS,
                       labels=EMPLOYEE_FIELDS, max_rows=unit_imports.MAX_ROWS,
                       max_kb=unit_imports.MAX_BYTES // 1024)


@router.get("/unit/imports/sample.csv")
def sample(request: Request, actor: Unit):
    return _csv_download("\ufeff" + unit_imports.SAMPLE, "employees-sample.csv")


@router.post("/unit/imports")
def start_import(request: Request, actor: Unit, file: Annotated[UploadFile | None, File()] = None):
    ctx = _ctx(request)
    if file is None or not file.filename:
        refused = errors.EmployeeFileInvalid(reason_zh="请选择要导入的文件", reason_en="choose the file to import")
        return _import_page(request, error=refused, status_code=422)
    data = file.file.read(unit_imports.MAX_BYTES + 1)
    try:
        started = unit_imports.submit(ctx, actor=actor, file_name=file.filename, data=data)
    except errors.DomainError as exc:
        return _import_page(request, error=exc, status_code=exc.status)
    return session.redirect(request, f"/unit/imports/{started.id}")


@router.get("/unit/imports/{import_id}")
def import_progress(request: Request, actor: Unit, import_id: str, watch: int = 1):
    """The import's progress, refreshing itself every 2 s while it runs (unless `watch=0`), then its report."""
    ctx = _ctx(request)
    found = unit_imports.get(ctx, actor=actor, import_id=import_id)
    rejected = [] if found.running else unit_imports.rejections(ctx, actor=actor, import_id=import_id)
    job = unit_imports.job_of(ctx, actor=actor, import_id=import_id)
    return render.page(request, "unit/import_progress.html", found=found, rejected=rejected, watch=bool(watch),
                       labels=EMPLOYEE_FIELDS, import_statuses=IMPORT_STATUSES, job=job,
                       retryable=bool(job and job.retryable(ctx.now())))


@router.get("/unit/imports/{import_id}/rejected.csv")
def rejected_rows(request: Request, actor: Unit, import_id: str):
    found = unit_imports.rejections(_ctx(request), actor=actor, import_id=import_id)
    text = unit_imports.rejected_rows_csv(found, chinese=render.locale_of(request) == "zh_CN")
    return _csv_download("\ufeff" + text, f"rejected-{import_id}.csv")


def _csv_download(text: str, file_name: str) -> Response:
    """A CSV file with the byte-order mark, so Excel reads its Chinese right."""
    return Response(text.encode("utf-8"), media_type=CSV_TYPE,
                    headers={"content-disposition": f'attachment; filename="{file_name}"',
                             "cache-control": "no-store"})


# --- contributions ----------------------------------------------------------------------------------------------


@router.get("/unit/contributions")
def contributions(request: Request, actor: Unit):
    ctx = _ctx(request)
    names = {e["person_id"]: e for e in enrolment.employees_of(ctx, actor=actor, employer_id=actor.employer_id)}
    return render.page(request, "unit/contributions.html",
                       periods=collection.periods_of_unit(ctx, actor=actor, employer_id=actor.employer_id),
                       arrears=collection.arrears(ctx, actor=actor, employer_id=actor.employer_id), names=names)
