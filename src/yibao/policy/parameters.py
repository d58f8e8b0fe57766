"""Dated parameters: the figures of a region's policy, each with its unit, source and effective dates.

    settlement.limit.institution_daily:
      description: {zh: 同一定点机构每日个人账户支付上限, en: Personal-account payments at one institution a day}
      unit: fen
      reference: 种子文章 004（北京）
      values:
        2019-01-01: 50000
        2027-01-01: null        # retired from this day on

A value holds from its date until the next one; `null` retires the parameter. Dates are strictly
ascending. Every value is checked against the unit, and every problem is named by file, line and key.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from yibao.policy.source import Document, PolicyFileError, Problem, bilingual, bilingual_problem, dated, reference_of

UNITS = ("fen", "count", "rate", "days", "working_days", "months", "years", "minutes", "hours", "km", "km_per_hour",
         "score", "flag", "choice", "list", "text")
FIELDS = {"description", "unit", "reference", "values", "choices"}


@dataclass(frozen=True)
class Parameter:
    name: str
    description_zh: str
    description_en: str
    unit: str
    reference: str
    dates: tuple[dt.date, ...]
    values: tuple[object, ...]  # None where the parameter is retired
    choices: tuple[str, ...] = ()

    def at(self, day: dt.date) -> tuple[object, dt.date] | None:
        """The value in force on a day and the date it took effect; None before it exists or once retired."""
        i = bisect.bisect_right(self.dates, day) - 1
        if i < 0 or self.values[i] is None:
            return None
        return self.values[i], self.dates[i]


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def fail(self, path: tuple, zh: str, en: str) -> None:
        self.problems.append(self.doc.problem(path, zh, en))

    def text(self, spec, path: tuple) -> tuple[str, str]:
        found = bilingual(spec)
        if found is None:
            self.fail(path, *bilingual_problem(spec))
        return found or ("", "")

    def value(self, unit: str, raw, choices: tuple[str, ...], path: tuple):
        ok = True
        if unit in ("fen", "count", "days", "working_days", "months", "years", "minutes", "hours", "km", "km_per_hour"):
            ok = type(raw) is int and raw >= 0
            what = ("非负整数（分）", "a whole number of fen, not negative") if unit == "fen" else \
                ("非负整数", "a whole number, not negative")
        elif unit == "rate":
            try:
                raw = Decimal(str(raw)) if type(raw) in (int, float, str) else None
                ok = raw is not None and raw.is_finite() and 0 <= raw <= 1
            except InvalidOperation:
                ok = False
            what = ("0 到 1 之间的比例（如 0.02）", "a rate between 0 and 1 (e.g. 0.02)")
        elif unit == "score":
            try:
                raw = Decimal(str(raw)) if type(raw) in (int, float, str) else None
                ok = raw is not None and raw.is_finite() and raw >= 0
            except InvalidOperation:
                ok = False
            what = ("非负数（如 3.5）", "a number, not negative (e.g. 3.5)")
        elif unit == "flag":
            ok = type(raw) is bool
            what = ("true 或 false", "true or false")
        elif unit == "choice":
            ok = isinstance(raw, str) and raw in choices
            what = (f"以下之一：{', '.join(choices)}", f"one of: {', '.join(choices)}")
        elif unit == "list":
            ok = isinstance(raw, list) and all(isinstance(x, str) and (not choices or x in choices) for x in raw)
            raw = tuple(raw) if ok else raw
            what = (f"列表，元素取自：{', '.join(choices)}" if choices else "文字列表",
                    f"a list of: {', '.join(choices)}" if choices else "a list of texts")
        else:  # text
            ok = isinstance(raw, str) and bool(raw.strip())
            what = ("文字", "text")
        if not ok:
            self.fail(path, f"单位为 {unit} 的值须为{what[0]}", f"a value in unit {unit} must be {what[1]}")
        return raw

    def parameter(self, name, spec, path: tuple) -> Parameter | None:
        if not isinstance(name, str) or not name.strip():
            self.fail(path, "参数名须为文字", "a parameter name must be text")
            return None
        if not isinstance(spec, dict):
            self.fail(path, "参数须为键值对", "a parameter must be a mapping")
            return None
        for unknown in sorted(set(spec) - FIELDS, key=str):
            self.fail((*path, unknown), f"未知的键 {unknown}", f"unknown key {unknown}")
        for missing in sorted({"description", "unit", "reference", "values"} - set(spec)):
            self.fail(path, f"缺少 {missing}", f"{missing} is missing")
        if not {"description", "unit", "reference", "values"} <= set(spec):
            return None
        zh, en = self.text(spec["description"], (*path, "description"))
        unit = spec["unit"]
        if unit not in UNITS:
            self.fail((*path, "unit"), f"未知单位 {unit}，可用：{', '.join(UNITS)}",
                      f"unknown unit {unit}; one of: {', '.join(UNITS)}")
            return None
        choices = spec.get("choices", [])
        if unit == "choice" and not choices or not isinstance(choices, list) or \
                not all(isinstance(c, str) for c in choices):
            self.fail((*path, "choices"), "choice 单位须列出可选值", "unit choice needs a list of choices")
            choices = []
        reference = reference_of(spec, path, self.fail)
        values = spec["values"]
        if not isinstance(values, dict) or not values:
            self.fail((*path, "values"), "须按生效日期列出取值", "values must be listed by effective date")
            return None
        dates, checked = [], []
        for day, raw, where in dated(values, (*path, "values"), self.fail, ("取值", "value")):
            dates.append(day)
            checked.append(None if raw is None else self.value(unit, raw, tuple(choices), where))
        return Parameter(name, zh, en, unit, reference, tuple(dates),
                         tuple(checked), tuple(choices))


def parse_parameters(doc: Document, section: str = "parameters") -> dict[str, Parameter]:
    """The parameters of one file; a PolicyFileError lists every problem with its line and key."""
    checker = _Checker(doc)
    found: dict[str, Parameter] = {}
    specs = doc.data.get(section, {}) if isinstance(doc.data, dict) else {}
    if not isinstance(specs, dict):
        checker.fail((section,), "parameters 须为键值对", "parameters must be a mapping")
        specs = {}
    for name, spec in specs.items():
        parameter = checker.parameter(name, spec, (section, name))
        if parameter is not None:
            found[name] = parameter
    if checker.problems:
        raise PolicyFileError(checker.problems)
    return found
