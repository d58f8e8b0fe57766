"""The findings store's use cases: an analytics run records what it detected (once, by fingerprint), the
reviewer and the auditor list the findings, the reviewer decides each one (audited), and a confirmed finding on a
person may lead, as a separate explicit step, to freezing the account.

Detection never changes money: recording a finding touches no account, and no disposition freezes anything."""

from __future__ import annotations

from collections.abc import Iterable

from yibao.domain import errors
from yibao.domain.findings import Detected, Disposition, Finding, FindingStatus, Pattern, RiskFlags, SubjectKind
from yibao.domain.ids import new_id
from yibao.domain.life_events import AccountFreeze
from yibao.domain.registry import Institution, Person
from yibao.domain.users import Actor
from yibao.ledger import seals
from yibao.services import access
from yibao.services.accounts import freezes
from yibao.services.context import Context

MAX_NOTE = 500
RACE_RETRIES = 3


def record(ctx: Context, *, actor: Actor, detected: list[Detected]) -> tuple[int, int]:
    """Keep what a run detected: (added, already recorded). A second run of a period adds nothing, also when two
    runs race (the fingerprint is unique; the run that lost retries and finds the other's rows)."""
    access.ensure(actor, "finding", "record")
    unique = list({d.fingerprint(): d for d in detected}.items())
    for attempt in range(RACE_RETRIES):
        try:
            return _record_once(ctx, actor, unique)
        except errors.FindingsRecordedMeanwhile:
            if attempt == RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def registered_here(ctx: Context, *, actor: Actor, detected: list[Detected]) -> tuple[list[Detected], int]:
    """The findings whose person or institution is registered here, and how many were not (a data set of several
    regions names others' people); a bank account's finding stays when any person it names is registered here."""
    access.ensure(actor, "finding", "record")
    kept = []
    with ctx.uow() as uow:
        for found in detected:
            if found.subject_kind == SubjectKind.PERSON:
                known = uow.get(Person, found.subject_id) is not None
            elif found.subject_kind == SubjectKind.INSTITUTION:
                known = uow.get(Institution, found.subject_id) is not None
            else:
                known = any(uow.get(Person, p) is not None for p in found.evidence.get("person_ids", []))
            if known:
                kept.append(found)
    return kept, len(detected) - len(kept)


def ids_of(ctx: Context, *, actor: Actor, detected: list[Detected]) -> dict[str, str]:
    """The recorded findings' ids by fingerprint, for what a run detected (those not recorded are absent)."""
    access.ensure(actor, "finding", "read")
    with ctx.uow() as uow:
        return uow.findings.known(d.fingerprint() for d in detected)


def _record_once(ctx: Context, actor: Actor, unique: list[tuple[str, Detected]]) -> tuple[int, int]:
    with ctx.uow() as uow:
        uow.conflict_means(errors.FindingsRecordedMeanwhile())
        known = uow.findings.known(fingerprint for fingerprint, _ in unique)
        added = 0
        for fingerprint, found in unique:
            if fingerprint in known:
                continue
            finding = Finding.of(found, finding_id=new_id("fnd"), at=ctx.now(), by=actor.username)
            uow.add(finding)
            ctx.audit(uow, actor, "finding.record", "finding", finding.id, fingerprint=fingerprint,
                      pattern=finding.pattern, rule_version=finding.rule_version, score=finding.score,
                      subject_kind=finding.subject_kind, subject_id=finding.subject_id,
                      seals=[seals.seal("findings", finding)])
            added += 1
        uow.flush()
        uow.commit()
        return added, len(unique) - added


def _checked(value: str | None, allowed: type) -> str | None:
    if value in (None, ""):
        return None
    try:
        return allowed(value).value
    except ValueError:
        raise errors.RequestInvalid(summary=f"{allowed.__name__.lower()}: not a known value") from None


def list_findings(ctx: Context, *, actor: Actor, status: str | None = None,
                  pattern: str | None = None) -> list[Finding]:
    """The findings by status and pattern, worst first (reviewers and auditors)."""
    access.ensure(actor, "finding", "read")
    status, pattern = _checked(status, FindingStatus), _checked(pattern, Pattern)
    with ctx.uow() as uow:
        return uow.findings.listed(status=status, pattern=pattern)


def get_finding(ctx: Context, *, actor: Actor, finding_id: str) -> Finding:
    """One finding (reviewers and auditors)."""
    access.ensure(actor, "finding", "read")
    with ctx.uow() as uow:
        found = uow.get(Finding, finding_id)
        if found is None:
            raise errors.FindingNotFound()
        return found


def decide(ctx: Context, *, actor: Actor, finding_id: str, action: str, note: str | None = None) -> Finding:
    """The reviewer confirms, dismisses (with a note) or escalates an open finding; audited, and only once."""
    access.ensure(actor, "finding", "decide")
    try:
        disposition = Disposition(action)
    except ValueError:
        raise errors.FindingActionInvalid() from None
    note = (note or "").strip() or None
    if disposition == Disposition.DISMISS and note is None:
        raise errors.FindingNoteMissing()
    if note is not None and len(note) > MAX_NOTE:
        raise errors.RequestInvalid(summary=f"note: at most {MAX_NOTE} characters")
    with ctx.uow() as uow:
        found = uow.get(Finding, finding_id, for_update=True)
        if found is None:
            raise errors.FindingNotFound()
        if not found.is_open:
            raise errors.FindingAlreadyDecided(status=found.status)
        found.decide(disposition, by=actor.username, at=ctx.now(), note=note)
        ctx.audit(uow, actor, f"finding.{disposition.value}", "finding", found.id, status=found.status, note=note,
                  pattern=found.pattern, subject_kind=found.subject_kind, subject_id=found.subject_id,
                  seals=[seals.seal("findings", found)])
        uow.commit()
        return found


def freeze_after_confirm(ctx: Context, *, actor: Actor, finding_id: str, reason: str) -> AccountFreeze:
    """The reviewer's explicit step after confirming a finding on a person: freeze the account, naming it."""
    access.ensure(actor, "finding", "decide")
    access.ensure(actor, "freeze", "create")
    reason = freezes.checked_reason(reason, errors.FreezeReasonMissing)
    with ctx.uow() as uow:
        uow.conflict_means(errors.AccountAlreadyFrozen())
        found = uow.get(Finding, finding_id)
        if found is None:
            raise errors.FindingNotFound()
        if found.status != FindingStatus.CONFIRMED or found.subject_kind != SubjectKind.PERSON:
            raise errors.FindingNotConfirmed()
        if uow.get(Person, found.subject_id) is None:
            raise errors.PersonNotFound()
        frozen = freezes.freeze_in(ctx, uow, actor, found.subject_id, reason)
        ctx.audit(uow, actor, "finding.freeze", "finding", found.id, freeze_id=frozen.id, person_id=found.subject_id)
        uow.commit()
        return frozen


def risk_flags(ctx: Context, *, actor: Actor, person_ids: Iterable[str]) -> dict[str, RiskFlags]:
    """The open findings on each of these persons in short (count, worst score, patterns), for the review pages;
    a person without open findings is left out."""
    access.ensure(actor, "finding", "read")
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    with ctx.uow() as uow:
        found = uow.findings.open_on(SubjectKind.PERSON.value, wanted)
    by_person: dict[str, list[Finding]] = {}
    for finding in found:
        by_person.setdefault(finding.subject_id, []).append(finding)
    return {person_id: RiskFlags.of(items) for person_id, items in by_person.items()}
