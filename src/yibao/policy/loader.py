"""Loading a policy tree: `policies/<GB/T 2260 code>-<name>/*.yaml`, all of it or nothing.

Each region folder has a `region.yaml` naming the region, and files of dated parameters and
rules. `000000-national` holds the national layer that applies over every region, and the
agency's working-day calendar for years the official package does not know yet. Every problem
in every file is collected and reported together with file, line and key; a tree with any
problem loads nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from yibao.domain.regions import parents, region_name
from yibao.policy.calendar import WorkingCalendar, YearSchedule
from yibao.policy.parameters import Parameter, parse_parameters
from yibao.policy.schema import Rule, RuleReader, overlapping, parameter_gaps
from yibao.policy.source import Document, PolicyFileError, Problem, key_text, read

NATIONAL = "000000"
_FOLDER = re.compile(r"(\d{6})-[a-z0-9-]+")
HEADER = "region.yaml"
SECTIONS = {"header": {"region"}, "region": {"parameters", "rules"}, "national": {"parameters", "rules", "calendar"}}


@dataclass(frozen=True)
class RegionPolicy:
    code: str
    name_zh: str
    name_en: str
    parameters: dict[str, Parameter]
    rules: dict[str, Rule]
    files: tuple[str, ...]


@dataclass(frozen=True)
class PolicySet:
    regions: dict[str, RegionPolicy]
    digest: str  # of every file's bytes, so a loaded set names exactly what it was loaded from
    files: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    calendar_overrides: Mapping[int, YearSchedule] = field(default_factory=dict)

    def parameter(self, region: str, name: str) -> Parameter | None:
        found = self.regions.get(region)
        return found.parameters.get(name) if found else None

    def region_of(self, code: str) -> str | None:
        """The policy region that covers a place: itself, else its prefecture, else its province."""
        return next((c for c in parents(code) if c in self.regions and c != NATIONAL), None)

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.calendar_overrides)


def load_tree(root: Path) -> PolicySet:
    """Read and check every region folder under root; raise PolicyFileError listing all problems."""
    files: dict[str, bytes] = {}
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in folders:
        files.update({str(PurePosixPath(folder.name, p.name)): p.read_bytes() for p in sorted(folder.glob("*.yaml"))})
        if not any(folder.glob("*.yaml")):
            files[f"{folder.name}/"] = b""  # an empty folder is still a folder to name
    if not folders:
        raise PolicyFileError([Problem(str(root.name or root), 1, "", "没有找到地区政策目录",
                                       "no region folders (<code>-<name>) found")])
    return load_files(files)


def load_files(files: Mapping[str, bytes]) -> PolicySet:
    """Check a policy set given as {"<folder>/<file>.yaml": bytes}: the same checks as a tree on disk."""
    problems: list[Problem] = []
    digest = hashlib.sha256()
    by_folder: dict[str, list[Document]] = {}
    for name in sorted(files):
        folder, _, filename = name.partition("/")
        by_folder.setdefault(folder, [])
        if not filename:
            continue
        raw = files[name]
        digest.update(name.encode() + b"\0" + raw + b"\0")
        try:
            by_folder[folder].append(read(Path(filename), raw.decode("utf-8"), name=name))
        except UnicodeDecodeError:
            problems.append(Problem(name, 1, "", "文件不是 UTF-8 编码", "the file is not UTF-8 text"))
        except PolicyFileError as exc:
            problems.extend(exc.problems)
    if not by_folder:
        raise PolicyFileError([Problem("policies", 1, "", "没有找到地区政策目录", "no region folders (<code>-<name>) found")])

    folders: dict[str, tuple[str, list[Document]]] = {}
    for folder, docs in by_folder.items():
        match = _FOLDER.fullmatch(folder)
        if not match or (match[1] != NATIONAL and region_name(match[1]) is None):
            problems.append(Problem(folder, 1, "", "目录名须为 <GB/T 2260 代码>-<英文名>，如 110000-beijing",
                                    "a folder is named <GB/T 2260 code>-<name>, e.g. 110000-beijing"))
        elif match[1] in {code for code, _ in folders.values()}:
            problems.append(Problem(folder, 1, "", f"地区 {match[1]} 有两个目录", f"region {match[1]} has two folders"))
        else:
            folders[folder] = (match[1], docs)

    # Parameters first, the national layer's before the regions' rules that may name them.
    parameters: dict[str, dict[str, Parameter]] = {}
    for folder, (code, docs) in folders.items():
        parameters[code] = _parameters(folder, code, docs, problems)
    national = parameters.get(NATIONAL, {})
    regions: dict[str, RegionPolicy] = {}
    calendar: dict[int, YearSchedule] = {}
    for folder, (code, docs) in folders.items():
        header = next((d for d in docs if PurePosixPath(d.file).name == HEADER), None)
        if header is None:
            problems.append(Problem(f"{folder}/{HEADER}", 1, "", "缺少 region.yaml（地区名称）",
                                    "region.yaml (the region's name) is missing"))
            continue
        name_zh, name_en = _header(header, code, problems)
        own = parameters[code]
        rules: dict[str, Rule] = {}
        for doc in docs:
            if doc is header or "rules" not in doc.data:
                continue
            reader = RuleReader(doc, code, lambda n, own=own: own.get(n) or national.get(n))
            for rule_id, rule in reader.read().items():
                if rule_id in rules:
                    problems.append(doc.problem(("rules", rule_id), f"规则 {rule_id} 在本地区已定义",
                                                f"rule {rule_id} is already defined for this region"))
                rules[rule_id] = rule
            problems.extend(reader.problems)
        if code == NATIONAL:
            for doc in docs:
                if "calendar" in doc.data:
                    calendar.update(_calendar(doc, problems))
        regions[code] = RegionPolicy(code, name_zh, name_en, own, rules, tuple(d.file for d in docs))
    problems.extend(_cross_checks(regions))
    if problems:
        raise PolicyFileError(problems)
    return PolicySet(regions, digest.hexdigest(), dict(files), calendar)


def _parameters(folder: str, code: str, docs: list[Document], problems: list[Problem]) -> dict[str, Parameter]:
    found: dict[str, Parameter] = {}
    for doc in docs:
        is_header = PurePosixPath(doc.file).name == HEADER
        allowed = SECTIONS["header" if is_header else "national" if code == NATIONAL else "region"]
        for key in sorted(set(doc.data) - allowed, key=str):
            problems.append(doc.problem((key,), f"未知的键 {key}，可用：{', '.join(sorted(allowed))}",
                                        f"unknown key {key}; allowed here: {', '.join(sorted(allowed))}"))
        if is_header:
            continue
        try:
            params = parse_parameters(doc)
        except PolicyFileError as exc:
            problems.extend(exc.problems)
            continue
        for name, parameter in params.items():
            if name in found:
                problems.append(doc.problem(("parameters", name), f"参数 {name} 在本地区已定义",
                                            f"parameter {name} is already defined for this region"))
            found[name] = parameter
    return found


def _header(doc: Document, code: str, problems: list[Problem]) -> tuple[str, str]:
    spec = doc.data.get("region")
    if not isinstance(spec, dict) or set(spec) != {"code", "name"} or not isinstance(spec.get("name"), dict) \
            or set(spec["name"]) != {"zh", "en"}:
        problems.append(doc.problem(("region",), "须为 {code: 代码, name: {zh: 中文名, en: English name}}",
                                    "must be {code: ..., name: {zh: ..., en: ...}}"))
        return "", ""
    if str(spec["code"]) != code:
        problems.append(doc.problem(("region", "code"), f"代码 {spec['code']} 与目录 {code} 不符",
                                    f"code {spec['code']} does not match the folder's {code}"))
    return str(spec["name"]["zh"]), str(spec["name"]["en"])


def _calendar(doc: Document, problems: list[Problem]) -> dict[int, YearSchedule]:
    """An agency's working-day schedule for years the official package does not know (or gets wrong)."""
    spec = doc.data["calendar"]
    out: dict[int, YearSchedule] = {}
    if not isinstance(spec, dict):
        problems.append(doc.problem(("calendar",), "calendar 须按年份列出", "calendar must be listed by year"))
        return out
    for year, body in spec.items():
        path = ("calendar", year)
        if type(year) is not int or not 2000 <= year <= 2100:
            problems.append(doc.problem(path, f"年份无效：{year}", f"not a year: {year}"))
            continue
        if not isinstance(body, dict) or not {"reference", "days_off", "workdays"} >= set(body) \
                or "reference" not in body:
            problems.append(doc.problem(path, "须为 {reference: 出处, days_off: [日期], workdays: [日期]}",
                                        "must be {reference: source, days_off: [dates], workdays: [dates]}"))
            continue
        lists = {}
        for key in ("days_off", "workdays"):
            days = body.get(key, [])
            bad = [d for d in days if type(d) is not dt.date or d.year != year] if isinstance(days, list) else [days]
            if bad:
                problems.append(doc.problem((*path, key), f"须为 {year} 年内的日期列表：{bad[0]}",
                                            f"must be a list of dates in {year}: {bad[0]}"))
                days = []
            lists[key] = days
        both = set(lists["days_off"]) & set(lists["workdays"])
        if both:
            day = min(both)
            problems.append(doc.problem((*path, "workdays"), f"{day} 不能既放假又上班",
                                        f"{day} cannot be both a day off and a workday"))
        out[year] = YearSchedule(frozenset(lists["days_off"]), frozenset(lists["workdays"]), str(body["reference"]))
    return out


def _cross_checks(regions: dict[str, RegionPolicy]) -> list[Problem]:
    """What no single file shows: parameters missing on days a rule needs them, and ambiguous rules."""
    problems = []
    national = regions.get(NATIONAL)
    for region in regions.values():
        for rule in region.rules.values():
            for version, name, day in parameter_gaps(rule):
                problems.append(_at(rule, version.line, ("rules", rule.id, "versions", version.effective_from),
                                    f"参数 {name} 在 {day} 未生效或已废止，而本规则此时仍有效",
                                    f"parameter {name} is not in force on {day}, while this version is"))
        layered = list(region.rules.values())
        if national is not None and region is not national:
            for rule in national.rules.values():
                if rule.id in region.rules:
                    mine = region.rules[rule.id]
                    problems.append(_at(mine, mine.line, ("rules", rule.id), f"规则编号 {rule.id} 与全国层重复",
                                        f"rule id {rule.id} is also a national rule"))
            layered += [r for r in national.rules.values() if r.id not in region.rules]
        for i, a in enumerate(layered):
            for b in layered[i + 1:]:
                day = overlapping(a, b)
                if day is not None and (a.region == region.code or b.region == region.code):
                    later = b if b.region == region.code else a
                    other = a if later is b else b
                    problems.append(_at(later, later.line, ("rules", later.id, "priority"),
                                        f"与规则 {other.id}（{other.region}）优先级相同，自 {day} 起可能同时适用，"
                                        "请为例外规则设定更高的优先级",
                                        f"rules {later.id} and {other.id} ({other.region}) have the same priority and "
                                        f"can both apply from {day}: give the exception a higher priority"))
    return problems


def _at(rule: Rule, line: int, path: tuple, zh: str, en: str) -> Problem:
    return Problem(rule.file, line or rule.line, key_text(path), zh, en)
