"""Reading policy YAML so that every problem can be named by file, line and key.

PyYAML composes the text into nodes that remember where they stood; this module builds the
plain data from those nodes and keeps, for every key path, the line it came from. Whatever the
text, reading it ends in a Document or in a PolicyFileError listing the problems found — never
in another exception: a policy officer gets "file:line: key: what is wrong", not a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MAX_NODES = 200_000  # aliases can make a small file expand without bound; a policy is never this large

Path_ = tuple  # a key path: ("parameters", "settlement.limit.daily", "values", date(2024, 1, 1))


@dataclass(frozen=True)
class Problem:
    file: str
    line: int  # 1-based
    key: str  # the dotted key path, "" for the whole file
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" + (f": {self.key}" if self.key else "")
        return f"{where}: {self.message_en} / {self.message_zh}"


class PolicyFileError(Exception):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.key))
        super().__init__("\n".join(str(p) for p in self.problems))


def key_text(path: Path_) -> str:
    return ".".join(k.isoformat() if isinstance(k, dt.date) else str(k) for k in path)


@dataclass
class Document:
    file: str
    data: object
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of a key, or of the nearest enclosing key that has one."""
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: Path_, message_zh: str, message_en: str) -> Problem:
        return Problem(self.file, self.line_of(path), key_text(path), message_zh, message_en)


def bilingual(spec) -> tuple[str, str] | None:
    """A text given once for both languages, or as {zh: 中文, en: English}; None if it is neither."""
    if isinstance(spec, str) and spec.strip():
        return spec, spec
    if isinstance(spec, dict) and set(spec) == {"zh", "en"} and all(isinstance(x, str) and x.strip()
                                                                    for x in spec.values()):
        return spec["zh"], spec["en"]
    return None


def bilingual_problem(spec) -> tuple[str, str]:
    """What is wrong with a text that `bilingual` refused, in Chinese and English."""
    if isinstance(spec, dict) and {"zh", "en"} & set(spec) and set(spec) - {"zh", "en"}:
        extra = ", ".join(sorted(str(k) for k in set(spec) - {"zh", "en"}))
        return (f"多出的键 {extra}：花括号内含逗号的文字须加引号",
                f"unexpected keys {extra}: text with a comma inside {{...}} must be quoted")
    return "须为文字，或 {zh: 中文, en: English}", "must be text, or {zh: 中文, en: English}"


Fail = Callable[[Path_, str, str], None]  # records a problem at a key path, in Chinese and English


def dated(spec: dict, path: Path_, fail: Fail, noun: tuple[str, str]):
    """The entries of a {date: value} mapping, each as (day, value, path), in order. Keys that are not
    dates, dates out of order and a first entry that is null (nothing to retire yet) are named."""
    last = None
    for day, value in spec.items():
        where = (*path, day)
        if type(day) is not dt.date:
            fail(where, f"生效日期须为 YYYY-MM-DD：{day}", f"an effective date must be YYYY-MM-DD: {day}")
            continue
        if last is not None and day <= last:
            fail(where, f"日期须严格递增（{day} 不晚于 {last}）",
                 f"dates must be strictly ascending ({day} is not after {last})")
            continue
        if value is None and last is None:
            fail(where, f"第一个{noun[0]}不能是 null", f"the first {noun[1]} cannot be null")
        last = day
        yield day, value, where


def reference_of(spec: dict, path: Path_, fail: Fail) -> str:
    """The source a parameter or rule cites; naming it is required."""
    reference = spec.get("reference")
    if not isinstance(reference, str) or not reference.strip():
        fail((*path, "reference"), "须注明出处（文件与条款，或种子文章）",
             "a reference is needed (document and article, or the seed file)")
        return ""
    return reference


class _Builder:
    def __init__(self, name: str, loader: yaml.SafeLoader) -> None:
        self.name, self.loader = name, loader
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self.nodes = 0

    def fail(self, node: yaml.Node, path: Path_, zh: str, en: str) -> None:
        self.problems.append(Problem(self.name, node.start_mark.line + 1, key_text(path), zh, en))

    def build(self, node: yaml.Node, path: Path_, depth: int = 0):
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > 100:
            raise _TooLarge(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            out = []
            for i, item in enumerate(node.value):
                self.lines.setdefault((*path, i), item.start_mark.line + 1)
                out.append(self.build(item, (*path, i), depth + 1))
            return out
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict:
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, path, "键必须是简单值", "a key must be a plain value")
                continue
            key = self._scalar(key_node, path)
            if key is None or isinstance(key, list | dict):
                continue
            if key in out:
                self.fail(key_node, (*path, key), "键重复", "this key appears twice")
                continue
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*path, key), depth + 1)
        return out

    def _scalar(self, node: yaml.ScalarNode, path: Path_):
        if node.tag == "tag:yaml.org,2002:merge":
            self.fail(node, path, "不支持合并键 <<", "merge keys (<<) are not supported")
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self.fail(node, path, f"无法读取的值：{node.value!r}", f"unreadable value {node.value!r} ({exc})")
            return None


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def read(path: Path, text: str | None = None, *, name: str | None = None) -> Document:
    """Parse one policy file; a PolicyFileError names every problem with its line and key."""
    name = name or path.name
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise PolicyFileError([Problem(name, 1, "", "文件为空", "the file is empty")])
            builder = _Builder(name, loader)
            data = builder.build(node, ())
        finally:
            loader.dispose()
    except UnicodeDecodeError:
        raise PolicyFileError([Problem(name, 1, "", "文件不是 UTF-8 编码", "the file is not UTF-8 text")]) from None
    except _TooLarge as exc:
        raise PolicyFileError([Problem(name, exc.node.start_mark.line + 1, "", "文件展开后过大（别名嵌套过深）",
                                       "the file expands too far (aliases nested too deep)")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyFileError([Problem(name, line, "", f"YAML 语法错误：{exc.problem}",
                                       f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise PolicyFileError([Problem(name, 1, "", "YAML 无法读取", f"unreadable YAML: {exc}")]) from None
    if builder.problems:
        raise PolicyFileError(builder.problems)
    if not isinstance(data, dict):
        raise PolicyFileError([Problem(name, 1, "", "文件顶层必须是键值对", "the top level must be a mapping of keys")])
    return Document(name, data, builder.lines)
