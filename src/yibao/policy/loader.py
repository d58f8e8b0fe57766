"""Loading a policy tree: `policies/<GB/T 2260 code>-<name>/*.yaml`, all of it or nothing.

Each region folder has a `region.yaml` naming the region, and files of dated parameters.
`000000-national` holds the national layer that applies over every region. Every problem in
every file is collected and reported together with file, line and key; a tree with any
problem loads nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from yibao.domain.regions import region_name
from yibao.policy.parameters import Parameter, parse_parameters
from yibao.policy.source import Document, PolicyFileError, Problem, read

NATIONAL = "000000"
_FOLDER = re.compile(r"(\d{6})-[a-z0-9-]+")
SECTIONS = {"region.yaml": {"region"}, "*": {"parameters"}}


@dataclass(frozen=True)
class RegionPolicy:
    code: str
    name_zh: str
    name_en: str
    parameters: dict[str, Parameter]
    files: tuple[str, ...]


@dataclass(frozen=True)
class PolicySet:
    regions: dict[str, RegionPolicy]
    digest: str  # of every file's bytes, so a loaded set names exactly what it was loaded from

    def parameter(self, region: str, name: str) -> Parameter | None:
        found = self.regions.get(region)
        return found.parameters.get(name) if found else None


def load_tree(root: Path) -> PolicySet:
    """Read and check every region folder under root; raise PolicyFileError listing all problems."""
    problems: list[Problem] = []
    regions: dict[str, RegionPolicy] = {}
    digest = hashlib.sha256()
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not folders:
        raise PolicyFileError([Problem(str(root.name or root), 1, "", "没有找到地区政策目录",
                                       "no region folders (<code>-<name>) found")])
    for folder in folders:
        match = _FOLDER.fullmatch(folder.name)
        if not match or (match[1] != NATIONAL and region_name(match[1]) is None):
            problems.append(Problem(folder.name, 1, "", "目录名须为 <GB/T 2260 代码>-<英文名>，如 110000-beijing",
                                    "a folder is named <GB/T 2260 code>-<name>, e.g. 110000-beijing"))
            continue
        try:
            regions[match[1]] = _region(folder, match[1], root, digest, problems)
        except PolicyFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyFileError(problems)
    return PolicySet(regions, digest.hexdigest())


def _region(folder: Path, code: str, root: Path, digest, problems: list[Problem]) -> RegionPolicy:
    docs: list[Document] = []
    for path in sorted(folder.glob("*.yaml")):
        name = str(path.relative_to(root))
        raw = path.read_bytes()
        digest.update(name.encode() + b"\0" + raw + b"\0")
        try:
            docs.append(read(path, raw.decode("utf-8"), name=name))
        except UnicodeDecodeError:
            problems.append(Problem(name, 1, "", "文件不是 UTF-8 编码", "the file is not UTF-8 text"))
        except PolicyFileError as exc:
            problems.extend(exc.problems)
    header = next((d for d in docs if Path(d.file).name == "region.yaml"), None)
    if header is None:
        raise PolicyFileError([Problem(f"{folder.name}/region.yaml", 1, "", "缺少 region.yaml（地区名称）",
                                       "region.yaml (the region's name) is missing")])
    name_zh, name_en = _header(header, code, problems)
    parameters: dict[str, Parameter] = {}
    for doc in docs:
        allowed = SECTIONS["region.yaml"] if doc is header else SECTIONS["*"]
        for key in sorted(set(doc.data) - allowed, key=str):
            problems.append(doc.problem((key,), f"未知的键 {key}，可用：{', '.join(sorted(allowed))}",
                                        f"unknown key {key}; allowed here: {', '.join(sorted(allowed))}"))
        try:
            found = parse_parameters(doc)
        except PolicyFileError as exc:
            problems.extend(exc.problems)
            continue
        for pname, parameter in found.items():
            if pname in parameters:
                problems.append(doc.problem(("parameters", pname), f"参数 {pname} 在本地区已定义",
                                            f"parameter {pname} is already defined for this region"))
            parameters[pname] = parameter
    return RegionPolicy(code, name_zh, name_en, parameters, tuple(d.file for d in docs))


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
