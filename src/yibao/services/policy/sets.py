"""Policy sets: loading a tree (all or nothing), the engine in force, the rules in force, and what changed.

A load is recorded with exactly the files it read; the newest load is in force. Each version of a
rule or parameter is recorded once, with the load that first brought it: the effective date says
when a version takes effect, the load time when it became known. When a load changes, from today
on, a rule that applies to people, each of them gets a notice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from yibao.domain import errors
from yibao.domain.ids import new_id
from yibao.domain.money import yuan
from yibao.domain.regions import prefix, validate_region
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.policy import diff
from yibao.policy.engine import Engine
from yibao.policy.loader import NATIONAL, PolicySet, load_files, load_tree
from yibao.policy.stored import StoredSet
from yibao.services import access
from yibao.services.context import Context
from yibao.services.policy.ports import PolicyStore

BUNDLED = Path(__file__).resolve().parents[4] / "policies"  # the tree shipped with the code


def policy_dir(ctx: Context) -> Path:
    return ctx.settings.policy_dir or BUNDLED


@lru_cache(maxsize=4)
def _tree_engine(root: Path) -> Engine:
    return Engine(load_tree(root))


def _set_of(files: dict[str, str]) -> PolicySet:
    return load_files({name: text.encode("utf-8") for name, text in files.items()})


def current(ctx: Context, held: Engine | None) -> Engine:
    """The engine of the newest stored policy set (`held` if that is the one held already); the policy tree
    on disk while none has been loaded. It reads in a unit of work of its own, opened straight from the factory:
    a context looks here as it opens a unit of work, never from inside one."""
    with ctx.unit_of_work() as uow:
        newest = uow.policies.newest()
        if newest is None:
            return held if held is not None and held.set_id is None else _tree_engine(policy_dir(ctx))
        if held is not None and held.set_id == newest.id:
            return held
        files = uow.policies.files_of(newest.id)
    return Engine(_set_of(files), set_id=newest.id, loaded_at=newest.loaded_at)


# --- loading ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    set_id: str
    digest: str
    unchanged: bool
    regions: list[str]
    new_versions: int = 0
    notices: int = 0
    changes: list[diff.Change] = field(default_factory=list)


def load(ctx: Context, *, actor: Actor, root: Path | None = None) -> LoadResult:
    """Check a policy tree and make it the one in force; a tree with any problem loads nothing
    (PolicyFileError names every problem by file, line and key)."""
    root = root or policy_dir(ctx)
    policy_set = load_tree(root)  # raises before anything is written
    return load_set(ctx, actor=actor, policy_set=policy_set, source=str(root))


def load_set(ctx: Context, *, actor: Actor, policy_set: PolicySet, source: str, **details) -> LoadResult:
    """Make a checked policy set the one in force (unless it is the one in force already), record its new
    versions and tell the people its rule changes concern; `details` go to the audit record."""
    now, today = ctx.now(), ctx.today()
    with ctx.uow() as uow:
        store = uow.policies
        previous = store.newest(with_files=True)
        if previous is not None and previous.digest == policy_set.digest:
            return LoadResult(previous.id, previous.digest, True, sorted(policy_set.regions))
        set_id = new_id("pol")
        files = {name: raw.decode("utf-8") for name, raw in policy_set.files.items() if raw}
        store.add_set(StoredSet(set_id, policy_set.digest, now, files), loaded_by=actor.username,
                      source=source[-200:])
        added = _record_versions(store, policy_set, set_id, now)
        changes, sent = [], 0
        if previous is not None:
            changes, sent = _notify(store, _set_of(previous.files), policy_set, set_id, today, now)
        ctx.audit(uow, actor, "policy.load", "policy_set", set_id, digest=policy_set.digest,
                  regions=sorted(policy_set.regions), new_versions=added, notices=sent,
                  previous=previous.id if previous else None, **details)
        uow.commit()
    ctx.policy = Engine(policy_set, set_id=set_id, loaded_at=now)
    return LoadResult(set_id, policy_set.digest, False, sorted(policy_set.regions), added, sent, changes)


def _record_versions(store: PolicyStore, policy_set: PolicySet, set_id: str, now: dt.datetime) -> int:
    known = store.version_keys()
    rows = []
    for region, kind, name, day, content in diff.versions(policy_set):
        digest = diff.content_hash(content)
        if (region, kind, name, day, digest) not in known:
            rows.append({"region": region, "kind": kind, "name": name, "effective_from": day,
                         "content_hash": digest, "content": content, "first_set_id": set_id, "first_loaded_at": now})
    store.add_versions(rows)
    return len(rows)


# --- notices ----------------------------------------------------------------------------------


def figures(item: diff.Item | None) -> str:
    """A rule's figures as people read them (¥500.00, 2%), joined; empty for none."""
    if item is None:
        return ""
    shown = []
    for figure in item.content.get("figures", {}).values():
        value, unit = figure["value"], figure["unit"]
        shown.append(yuan(value) if unit == "fen" else f"{float(value) * 100:g}%" if unit == "rate" else str(value))
    return "、".join(shown)


def _line(change: diff.Change, lang: str) -> str:
    item = change.after or change.before
    name = item.description_zh if lang == "zh" else item.description_en
    before, after = figures(change.before), figures(change.after)
    on = change.on.isoformat() if change.on else ""
    if lang == "zh":
        what = {"added": "新增", "removed": "废止", "changed": "调整"}[change.status]
        shown = f"：{before} → {after}" if before and after and before != after else ""
        return f"· 自 {on} 起{what}「{name}」{shown}（{item.name}）"
    shown = f": {before} → {after}" if before and after and before != after else ""
    return f"· From {on}, {change.status}: {name}{shown} ({item.name})"


def _audience(change: diff.Change) -> frozenset | None:
    """The schemes a changed rule concerns (None: everyone the region covers)."""
    items = [i for i in (change.before, change.after) if i is not None]
    schemes: set[str] = set()
    for item in items:
        scheme = item.content.get("when", {}).get("scheme") if item.kind == "rule" else None
        if scheme is None:
            return None
        schemes.update([scheme] if isinstance(scheme, str) else scheme)
    return frozenset(schemes)


def rule_changes(old: PolicySet, new: PolicySet, since: dt.date) -> dict[str, list[diff.Change]]:
    """The rule changes a new set brings from `since` on, by the policy region whose rule it is."""
    found = {}
    for code in sorted(set(old.regions) | set(new.regions)):
        changes = [c for c in diff.between_sets(old, new, code, since) if c.region == code and c.kind == "rule"]
        if changes:
            found[code] = changes
    return found


def audiences(changes: list[diff.Change]) -> dict[frozenset | None, list[diff.Change]]:
    """A region's rule changes grouped by the schemes they concern (None: everyone the region covers)."""
    groups: dict[frozenset | None, list[diff.Change]] = {}
    for change in changes:
        groups.setdefault(_audience(change), []).append(change)
    return groups


def governed(code: str, policy_set: PolicySet) -> tuple[str | None, list[str]]:
    """Whom a policy region governs: the code prefix of their insured place (None: everyone, for the national
    layer) and the prefixes of the places inside it that a more specific policy region governs."""
    if code == NATIONAL:
        return None, []
    return prefix(code), [prefix(other) for other in policy_set.regions
                          if other not in (code, NATIONAL) and prefix(other).startswith(prefix(code))]


def _notify(store: PolicyStore, old: PolicySet, new: PolicySet, set_id: str, today: dt.date, now: dt.datetime):
    """One notice per person for the rule changes of their region (and of the national layer)."""
    all_changes: list[diff.Change] = []
    sent = 0
    for code, changes in rule_changes(old, new, today).items():
        all_changes += changes
        for schemes, group in audiences(changes).items():
            sent += _tell(store, code, new, schemes, group, set_id, now)
    return all_changes, sent


def _tell(store: PolicyStore, code: str, policy_set: PolicySet, schemes: frozenset | None,
          changes: list[diff.Change], set_id: str, now: dt.datetime) -> int:
    """One notice for each person the region's policy governs (and, for a change to some schemes, enrolled in one)."""
    within, outside = governed(code, policy_set)
    body_zh = "\n".join(_line(c, "zh") for c in changes)
    body_en = "\n".join(_line(c, "en") for c in changes)
    data = json.loads(json.dumps({"set_id": set_id, "region": code, "changes": [
        {"name": c.name, "status": c.status, "on": c.on.isoformat() if c.on else None,
         "before": figures(c.before), "after": figures(c.after)} for c in changes]}, ensure_ascii=False))
    region_zh = policy_set.regions[code].name_zh if code in policy_set.regions else code
    region_en = policy_set.regions[code].name_en if code in policy_set.regions else code
    return store.tell_insured(within=within, outside=outside, schemes=schemes, notice={
        "kind": "policy_change", "created_at": now, "title_zh": f"{region_zh}医保政策调整通知",
        "title_en": f"{region_en}: a change in your medical-insurance policy", "body_zh": body_zh, "body_en": body_en,
        "data": data})


def notices_of(ctx: Context, *, actor: Actor, person_id: str) -> list[dict]:
    """The messages stored for a person, newest first (the inbox reads these)."""
    with ctx.uow() as uow:
        if uow.get(Person, person_id) is None:
            raise errors.PersonNotFound()
        access.ensure_can_read_owned(uow, actor, person_id)
        return uow.policies.inbox(person_id)


# --- reading the rules ------------------------------------------------------------------------


def _loaded_at(ctx: Context, items: list[diff.Item]) -> dict[tuple, dt.datetime]:
    """When each item's version in force was first loaded (the published axis), for stored sets."""
    if not items:
        return {}
    with ctx.uow() as uow:
        return uow.policies.first_loaded(sorted({i.region for i in items}))


def rules_in_force(ctx: Context, *, region: str, day: dt.date | None = None) -> dict:
    """The rules and parameters in force for a place on a day, with versions, references and load times."""
    validate_region(region)
    day = day or ctx.today()
    engine = ctx.policy
    policy_set = engine.policy_set
    items = diff.in_force(policy_set, region, day)
    first = _loaded_at(ctx, list(items.values()))

    def shown(item: diff.Item) -> dict:
        loaded = first.get((item.kind, item.region, item.name, item.version_from))
        return {**item.as_dict(), "loaded_at": loaded.isoformat() if loaded else None}

    governing = policy_set.region_of(region)
    return {
        "region": region,
        "policy_region": governing or NATIONAL,
        "name_zh": policy_set.regions[governing].name_zh if governing else None,
        "name_en": policy_set.regions[governing].name_en if governing else None,
        "date": day.isoformat(),
        "policy_set": {"id": engine.set_id, "digest": policy_set.digest,
                       "loaded_at": engine.loaded_at.isoformat() if engine.loaded_at else None},
        "rules": [shown(i) for k, i in sorted(items.items()) if i.kind == "rule"],
        "parameters": [shown(i) for k, i in sorted(items.items()) if i.kind == "parameter"],
    }


def changes(ctx: Context, *, region: str, day_from: dt.date, day_to: dt.date) -> list[diff.Change]:
    """What differs for a place between two days under the policy in force."""
    validate_region(region)
    if day_to < day_from:
        raise errors.RequestInvalid(summary=f"--to {day_to} is before --from {day_from}")
    return diff.between_days(ctx.policy.policy_set, region, day_from, day_to)
