"""The administrator's console, /admin: users and roles, institutions and their designation periods, policy publication (check, difference, people affected, effective date, notices) and the scheduled jobs."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from yibao.analytics import sim_publication
from yibao.domain import errors
from yibao.domain.registry import InstitutionKind
from yibao.domain.users import Actor, Role
from yibao.jobs import due
from yibao.policy.source import PolicyFileError
from yibao.services.credentials import auth
from yibao.services.jobs import work
from yibao.services.policy import publication, sets
from yibao.services.registry import institutions, residents
from yibao.web import csrf, render, session
from yibao.web.labels import N_, ROLES
from yibao.web.routers.jobs import STATES
from yibao.web.routers.public import regions

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard), Depends(session.role(Role.ADMIN))])

Admin = Annotated[Actor, Depends(session.role(Role.ADMIN))]

KINDS = {"hospital": N_("Hospital"), "clinic": N_("Clinic"), "pharmacy": N_("Pharmacy")}
CHANGES = {"added": N_("Added"), "removed": N_("Retired"), "changed": N_("Changed")}
JOBS = {
    "cash_vouchers": N_("Cash vouchers past their validity lapse; the person is told"),
    "holds": N_("Holds past their time are released"),
    "cards": N_("Cards past their expiry date are recorded expired"),
    "year_end": N_("The year that ended is carried over, once"),
    "checkpoint": N_("The chain heads are signed into the checkpoint file"),
}
LINKED = {"person": "id_number", "unit": "uscc", "institution": "institution_code"}  # what the link field holds
PAYLOAD_LIMIT = publication.MAX_UPLOAD_BYTES * 4 // 3 + 8  # the upload carried back in base64


def _ctx(request: Request):
    return request.app.state.ctx


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        raise errors.RequestInvalid(summary="a date is written 2026-03-01") from None


@router.get("/admin")
def overview(request: Request, actor: Admin):
    ctx = _ctx(request)
    engine = ctx.policy
    return render.page(request, "admin/index.html", users=auth.list_users(ctx, actor=actor),
                       institutions=institutions.list_institutions(ctx, actor=actor), engine=engine,
                       runs=due.last_runs(ctx, actor=actor))


# --- users and roles ------------------------------------------------------------------------------------------


@router.get("/admin/users")
def users(request: Request, actor: Admin):
    return _users_page(request, actor, values={"role": "counter"}, field_errors={})


def _users_page(request: Request, actor: Actor, *, values: dict, field_errors: dict, form: str = "",
                status_code: int = 200):
    ctx = _ctx(request)
    return render.page(request, "admin/users.html", status_code=status_code,
                       users=auth.list_users(ctx, actor=actor), values=values, field_errors=field_errors, form=form,
                       roles=ROLES, linked=LINKED)


@router.post("/admin/users")
def add_user(request: Request, actor: Admin, username: Annotated[str, Form(max_length=100)] = "",
             password: Annotated[str, Form(max_length=200)] = "", role: Annotated[str, Form(max_length=20)] = "",
             link: Annotated[str, Form(max_length=60)] = ""):
    ctx, _ = _ctx(request), render.gettext(request)
    values = {"username": username, "role": role, "link": link}
    try:
        if role in LINKED and not link.strip():
            raise errors.RoleLinkMissing(role=role, link=LINKED[role])
        user = auth.add_user_linked(ctx, actor=actor, username=username, password=password, role=role, link=link)
    except errors.DomainError as exc:
        return _users_page(request, actor, values=values, field_errors={_user_field_of(exc): exc}, form="add",
                           status_code=exc.status)
    return session.redirect(request, "/admin/users", flash=("success", _(
        "User %(name)s is added as %(role)s.", name=user.username, role=_(ROLES[user.role]))))


def _user_field_of(exc: errors.DomainError) -> str:
    if exc.code == errors.RequestInvalid.code:
        return "username" if "username" in exc.facts.get("summary", "") else "role"
    return {errors.UsernameTaken.code: "username", errors.PasswordTooWeak.code: "password"}.get(exc.code, "link")


@router.post("/admin/users/password")
def set_password(request: Request, actor: Admin, username: Annotated[str, Form(max_length=100)] = "",
                 new_password: Annotated[str, Form(max_length=200)] = ""):
    ctx, _ = _ctx(request), render.gettext(request)
    try:
        ended = auth.set_password(ctx, actor=actor, username=username, new_password=new_password)
    except errors.DomainError as exc:
        field = "new_password" if exc.code == errors.PasswordTooWeak.code else "password_user"
        return _users_page(request, actor, values={"password_user": username}, field_errors={field: exc},
                           form="password", status_code=exc.status)
    return session.redirect(request, "/admin/users", flash=("success", _(
        "%(name)s has a new password; %(n)s session(s) ended.", name=username.strip(), n=ended)))


@router.post("/admin/users/deactivate")
def deactivate(request: Request, actor: Admin, username: Annotated[str, Form(max_length=100)] = ""):
    ctx, _ = _ctx(request), render.gettext(request)
    try:
        auth.deactivate_user(ctx, actor=actor, username=username)
    except errors.DomainError as exc:
        return session.redirect(request, "/admin/users", flash=("error", render.error_text(request, exc)))
    return session.redirect(request, "/admin/users", flash=("success", _(
        "%(name)s can no longer sign in.", name=username.strip())))


# --- institutions --------------------------------------------------------------------------------------------


@router.get("/admin/institutions")
def institution_list(request: Request, actor: Admin):
    today = _ctx(request).today().isoformat()
    return _institutions_page(request, actor, values={"kind": "hospital", "designated": "1",
                                                       "designated_from": today}, field_errors={})


def _institutions_page(request: Request, actor: Actor, *, values: dict, field_errors: dict, status_code: int = 200):
    ctx = _ctx(request)
    return render.page(request, "admin/institutions.html", status_code=status_code,
                       institutions=institutions.list_institutions(ctx, actor=actor), values=values,
                       field_errors=field_errors, kinds=KINDS, regions=regions(request), today=ctx.today())


@router.post("/admin/institutions")
def add_institution(request: Request, actor: Admin, code: Annotated[str, Form(max_length=40)] = "",
                    name: Annotated[str, Form(max_length=200)] = "", kind: Annotated[str, Form(max_length=20)] = "",
                    region: Annotated[str, Form(max_length=12)] = "", designated: Annotated[str, Form()] = "",
                    cross_region: Annotated[str, Form()] = "",
                    designated_from: Annotated[str, Form(max_length=20)] = "",
                    designated_to: Annotated[str, Form(max_length=20)] = ""):
    ctx, _ = _ctx(request), render.gettext(request)
    values = {"code": code, "name": name, "kind": kind, "region": region, "designated": designated,
              "cross_region": cross_region, "designated_from": designated_from, "designated_to": designated_to}
    field = "designated_from"
    try:
        starts = _date(designated_from)
        field = "designated_to"
        ends = _date(designated_to)
        field = "code"
        added = institutions.add_institution(
            ctx, actor=actor, code=code, name=name, kind=kind if kind in set(InstitutionKind) else "", region=region,
            designated=bool(designated), cross_region=bool(cross_region), designated_from=starts, designated_to=ends)
    except errors.DomainError as exc:
        field = _institution_field_of(exc, field)
        return _institutions_page(request, actor, values=values, field_errors={field: exc}, status_code=exc.status)
    return session.redirect(request, "/admin/institutions", flash=("success", _(
        "Institution %(name)s (%(code)s) is added.", name=added.name, code=added.code)))


@router.post("/admin/institutions/{code}/designation")
def change_designation(request: Request, actor: Admin, code: str,
                       designated_from: Annotated[str, Form(max_length=20)] = "",
                       designated_to: Annotated[str, Form(max_length=20)] = ""):
    """Change a designation period (from today on), or end it with no start date."""
    _ = render.gettext(request)
    try:
        changed = institutions.set_designation(_ctx(request), actor=actor, code=code,
                                               designated_from=_date(designated_from),
                                               designated_to=_date(designated_to))
    except errors.DomainError as exc:
        return session.redirect(request, "/admin/institutions", flash=("error", render.error_text(request, exc)))
    return session.redirect(request, "/admin/institutions", flash=("success", _(
        "The designation of %(name)s is changed.", name=changed.name)))


def _institution_field_of(exc: errors.DomainError, field: str) -> str:
    if exc.code == errors.RequestInvalid.code:
        return field
    if exc.code == errors.RegionUnknown.code:
        return "region"
    reason = exc.facts.get("reason_en", "")
    return ("name" if "name" in reason else "kind" if "kind" in reason
            else "designated_to" if "designation" in reason else "code")


# --- policy publication --------------------------------------------------------------------------------------


@router.get("/admin/policy")
def policy(request: Request, actor: Admin):
    tomorrow = (_ctx(request).today() + dt.timedelta(days=1)).isoformat()
    return _policy_page(request, values={"effective": tomorrow}, field_errors={})


def _policy_page(request: Request, *, values: dict, field_errors: dict, problems=None, status_code: int = 200):
    ctx = _ctx(request)
    return render.page(request, "admin/policy.html", status_code=status_code, engine=ctx.policy,
                       folder_options=[(f, f) for f in publication.folders_in_force(ctx)], values=values, field_errors=field_errors,
                       problems=problems, max_kb=publication.MAX_UPLOAD_BYTES // 1024)


@router.post("/admin/policy/check")
def check(request: Request, actor: Admin, file: Annotated[UploadFile | None, File()] = None,
          folder: Annotated[str, Form(max_length=80)] = "", effective: Annotated[str, Form(max_length=20)] = ""):
    data = file.file.read(publication.MAX_UPLOAD_BYTES + 1) if file is not None else b""
    name = (file.filename or "") if file is not None else ""
    return _checked(request, actor, name=name, data=data, folder=folder, effective=effective)


def _checked(request: Request, actor: Actor, *, name: str, data: bytes, folder: str, effective: str):
    """The check of an upload: its problems by file, line and key, or what it changes, ready to publish."""
    ctx = _ctx(request)
    values = {"folder": folder, "effective": effective}
    field = "effective"
    try:
        day = _date(effective)
        field = "file"
        files = publication.read_upload(ctx, file_name=name, data=data, folder=folder or None)
        field = "effective"
        found = publication.preview(ctx, actor=actor, files=files, effective=day)
    except PolicyFileError as exc:
        return _policy_page(request, values=values, field_errors={}, problems=exc.problems, status_code=422)
    except errors.DomainError as exc:
        field = "folder" if field == "file" and exc.code == errors.PolicyUploadInvalid.code and \
            "folder" in exc.facts.get("reason_en", "") else field
        return _policy_page(request, values=values, field_errors={field: exc}, status_code=exc.status)
    replayed = {} if found.unchanged or found.first else \
        sim_publication.effects(ctx, found.policy_set, [r.code for r in found.regions], found.effective)
    return render.page(request, "admin/policy_check.html", found=found, name=name[-120:], folder=folder,
                       replayed=replayed, replayed_persons=len({p for e in replayed.values() for p in e.persons}),
                       payload=base64.b64encode(data).decode("ascii"), changes=CHANGES, figures=sets.figures,
                       early={(c.region, c.name) for c in found.early})


@router.post("/admin/policy/publish")
def publish(request: Request, actor: Admin, payload: Annotated[str, Form(max_length=PAYLOAD_LIMIT)] = "",
            name: Annotated[str, Form(max_length=120)] = "", folder: Annotated[str, Form(max_length=80)] = "",
            effective: Annotated[str, Form(max_length=20)] = "", digest: Annotated[str, Form(max_length=64)] = "",
            based_on: Annotated[str, Form(max_length=40)] = ""):
    ctx, _ = _ctx(request), render.gettext(request)
    values = {"folder": folder, "effective": effective}
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        data = b""
    try:
        files = publication.read_upload(ctx, file_name=name, data=data, folder=folder or None)
        loaded = publication.publish(ctx, actor=actor, files=files, effective=_date(effective), digest=digest,
                                     based_on=based_on, source=f"upload {name}")
    except PolicyFileError as exc:
        return _policy_page(request, values=values, field_errors={}, problems=exc.problems, status_code=422)
    except errors.DomainError as exc:
        return _policy_page(request, values=values, field_errors={"file": exc}, status_code=exc.status)
    if loaded.unchanged:
        return session.redirect(request, "/admin/policy", flash=("info", _(
            "Nothing was published: the upload is the policy in force.")))
    return session.redirect(request, "/admin/policy", flash=("success", _(
        "The policy is published; %(n)s notice(s) went to the people it concerns.", n=loaded.notices)))


# --- the scheduled jobs --------------------------------------------------------------------------------------


@router.get("/admin/jobs")
def jobs(request: Request, actor: Admin):
    return render.page(request, "admin/jobs.html", runs=due.last_runs(_ctx(request), actor=actor), jobs=JOBS)


# --- the residents register: an extract imported in the background ---------------------------------------------


@router.get("/admin/residents")
def residents_page(request: Request, actor: Admin):
    ctx = _ctx(request)
    imports = [job for job in work.mine(ctx, actor=actor) if job.kind == residents.IMPORT_JOB]
    return _residents_page(request, imports)


def _residents_page(request: Request, imports: list, error=None, status_code: int = 200):
    return render.page(request, "admin/residents.html", status_code=status_code, imports=imports, error=error,
                       states=STATES, max_mb=residents.FILE_MAX_BYTES // (1024 * 1024))


@router.post("/admin/residents")
def residents_upload(request: Request, actor: Admin, file: Annotated[UploadFile | None, File()] = None):
    """Send a register extract: kept, then imported by a background job whose page shows its progress."""
    ctx = _ctx(request)
    data = file.file.read(residents.FILE_MAX_BYTES + 1) if file is not None else b""
    try:
        job = residents.submit_file(ctx, actor=actor, file_name=(file.filename or "") if file else "", data=data)
    except errors.ResidentFileInvalid as exc:
        imports = [job for job in work.mine(ctx, actor=actor) if job.kind == residents.IMPORT_JOB]
        return _residents_page(request, imports, exc, exc.status)
    return session.redirect(request, f"/jobs/{job.id}")


@router.get("/admin/residents/{job_id}/rejected.csv")
def residents_rejected(request: Request, actor: Admin, job_id: str):
    content = residents.rejected_of_job(_ctx(request), actor=actor, job_id=job_id)
    return Response(content, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{job_id}-rejected.csv"'})
