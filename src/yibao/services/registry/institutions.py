"""Designated institutions and the regional agency directory (R10, R16)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from yibao.domain import errors
from yibao.domain.regions import parents, validate_region
from yibao.domain.registry import Agency, Institution, InstitutionKind
from yibao.domain.users import Actor
from yibao.services import access
from yibao.services.context import Context

DEFAULT_AGENCIES = Path(__file__).resolve().parents[2] / "data" / "agencies.yaml"


def add_institution(ctx: Context, *, actor: Actor, code: str, name: str, kind: str, region: str,
                    designated: bool, cross_region: bool, designated_from: dt.date | None = None,
                    designated_to: dt.date | None = None) -> Institution:
    """Register an institution; designated ones may settle from the day their designation starts."""
    access.ensure(actor, "institution", "add")
    code = (code or "").strip()
    if not code or len(code) > 20 or not code.isalnum():
        raise errors.InstitutionInvalid(reason_zh="机构编码须为 1 至 20 位字母或数字",
                                        reason_en="the code must be 1 to 20 letters or digits")
    if not (name or "").strip():
        raise errors.InstitutionInvalid(reason_zh="请填写机构名称", reason_en="the name is required")
    try:
        kind = InstitutionKind(kind).value
    except ValueError:
        raise errors.InstitutionInvalid(reason_zh="类型须为 hospital、clinic 或 pharmacy",
                                        reason_en="kind must be hospital, clinic or pharmacy") from None
    validate_region(region)
    if designated:
        designated_from = designated_from or ctx.today()
        if designated_to and designated_to < designated_from:
            raise errors.InstitutionInvalid(reason_zh="定点截止日期早于开始日期",
                                            reason_en="the designation ends before it starts")
    else:
        designated_from = designated_to = None
    institution = Institution(code=code, name=name.strip(), kind=kind, region=region, cross_region=cross_region,
                              designated_from=designated_from, designated_to=designated_to, created_at=ctx.now())
    with ctx.uow() as uow:
        uow.conflict_means(errors.InstitutionDuplicate())
        if uow.get(Institution, code):
            raise errors.InstitutionDuplicate()
        uow.add(institution)
        ctx.version(uow, actor, "institution", code, institution.snapshot())
        ctx.audit(uow, actor, "institution.add", "institution", code, designated=designated)
        uow.commit()
    return institution


def set_designation(ctx: Context, *, actor: Actor, code: str, designated_from: dt.date | None,
                    designated_to: dt.date | None) -> Institution:
    """Change an institution's designation period, from today on only: a start or an end moved into the past would
    make earlier days designated (or not) after the fact, so a changed start or end is today or later. No start
    ends the designation (from today). Versioned and audited."""
    access.ensure(actor, "institution", "designate")
    today = ctx.today()
    with ctx.uow() as uow:
        institution = uow.get(Institution, (code or "").strip()[:20], for_update=True)
        if institution is None:
            raise errors.InstitutionNotFound()
        if designated_from is None:  # the designation ends: the last day is yesterday at the latest
            if institution.designated_from is None:
                return institution
            designated_from, designated_to = institution.designated_from, min(
                institution.designated_to or today, today - dt.timedelta(days=1))
            if designated_to < designated_from:
                designated_from = designated_to = None
        else:
            if designated_from != institution.designated_from and designated_from < today:
                raise errors.InstitutionInvalid(reason_zh="定点开始日期不能早于今天",
                                                reason_en="a designation cannot start before today")
            if designated_to != institution.designated_to and designated_to is not None and designated_to < today:
                raise errors.InstitutionInvalid(reason_zh="定点截止日期不能早于今天",
                                                reason_en="a designation cannot end before today")
            if designated_to is not None and designated_to < designated_from:
                raise errors.InstitutionInvalid(reason_zh="定点截止日期早于开始日期",
                                                reason_en="the designation ends before it starts")
        before = (institution.designated_from, institution.designated_to)
        institution.designated_from, institution.designated_to = designated_from, designated_to
        ctx.version(uow, actor, "institution", institution.code, institution.snapshot())
        ctx.audit(uow, actor, "institution.designation", "institution", institution.code,
                  before=[d.isoformat() if d else None for d in before],
                  after=[d.isoformat() if d else None for d in (designated_from, designated_to)])
        uow.commit()
        return institution


def get_institution(ctx: Context, *, actor: Actor, code: str) -> Institution:
    with ctx.uow() as uow:
        institution = uow.get(Institution, code)
        if institution is None:
            raise errors.InstitutionNotFound()
        return institution


def list_institutions(ctx: Context, *, actor: Actor, region: str | None = None) -> list[Institution]:
    """Institutions of a region (all regions when none is given); every signed-in user may look."""
    with ctx.uow() as uow:
        where = {"region": region} if region else {}
        return uow.all_by(Institution, "code", **where)


def load_agencies(ctx: Context, *, actor: Actor, path: Path = DEFAULT_AGENCIES) -> int:
    """Load the agency directory from a data file; returns how many regions' entries changed."""
    access.ensure(actor, "agencies", "load")
    rows = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    agencies = []
    for row in rows:
        validate_region(str(row["region"]))
        agencies.append(Agency(region=str(row["region"]), name=row["name"], address=row["address"],
                               phone=str(row["phone"]), hours=row.get("hours", ""), website=row.get("website", ""),
                               services=list(row.get("services", []))))
    with ctx.uow() as uow:
        changed = 0
        for agency in agencies:
            existing = uow.get(Agency, agency.region)
            if existing is not None and vars_of(existing) == vars_of(agency):
                continue
            if existing is None:
                uow.add(agency)
            else:
                for name in ("name", "address", "phone", "hours", "website", "services"):
                    setattr(existing, name, getattr(agency, name))
            changed += 1
        if changed:
            ctx.audit(uow, actor, "agencies.load", "agency", "*", changed=changed)
            uow.commit()
    return changed


def vars_of(agency: Agency) -> tuple:
    return (agency.region, agency.name, agency.address, agency.phone, agency.hours, agency.website,
            list(agency.services))


def find_agency(ctx: Context, *, region: str) -> Agency:
    """The agency for a region, falling back to its prefecture and then its province."""
    validate_region(region)
    with ctx.uow() as uow:
        for code in parents(region):
            agency = uow.get(Agency, code)
            if agency is not None:
                return agency
    raise errors.AgencyNotFound()
