"""What a policy rule may say: the questions the engine asks, the facts a rule may test, the fields of its answer.

A rule answers one question, for the facts its `when` names, in dated versions:

    withdrawal.death:
      question: withdrawal
      description: {zh: 参保人死亡的，个人账户余额由继承人继承, en: On death the balance goes to the heirs}
      reference: 种子文章 002（河南）
      when: {reason: death}          # facts the rule tests; without `when` it is the base rule
      priority: 10                   # an exception outranks the base rule (Catala's default logic)
      versions:
        2021-01-01:
          allowed: true
          documents: [death_certificate, heir_proof, id_card, bank_card]
          channels: [counter]
          in_person: true
          fee: withdrawal.fee        # a figure is always a named parameter, so it has a unit and a source
        2030-01-01: null             # retired

Of the rules whose version is in force and whose conditions hold, the one with the highest
priority answers. Two rules that could both answer with the same priority are refused when the
policy is loaded, so every answer has exactly one rule behind it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from yibao.domain import vocabulary as v
from yibao.policy.parameters import Parameter
from yibao.policy.source import Document, Problem, bilingual, bilingual_problem, dated, reference_of

# --- the catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """A fact a rule may test: one of a list of terms, a yes/no flag, a whole number, or free text."""

    kind: str  # choice | flag | number | text
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Field:
    """A field of a rule's answer: a named parameter (with the units it may have) or a literal value."""

    kind: str  # param | flag | choice | list
    units: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    default: object = None
    required: bool = False
    required_when_allowed: bool = False


@dataclass(frozen=True)
class Question:
    name: str
    zh: str
    en: str
    facts: Mapping[str, Fact]
    fields: Mapping[str, Field]
    exactly_one: tuple[str, ...] = ()  # of these fields, each version names exactly one


def _choice(terms) -> Fact:
    return Fact("choice", tuple(terms))


FLAG, NUMBER, TEXT = Fact("flag"), Fact("number"), Fact("text")
ALLOWED = Field("flag", required=True)
DOCUMENTS = Field("list", choices=tuple(v.DocumentType), default=())
CHANNEL_LIST = Field("list", choices=tuple(v.Channel), default=())
CATEGORY_LIST = Field("list", choices=tuple(v.Category), default=())
ON_REACH = ("partial", "refuse")  # at a limit: the account pays up to it and cash the rest, or nothing goes through
LIMITS = ("per_transaction", "institution_daily", "daily", "yearly", "daily_count")

_limit_facts = {"institution_kind": _choice(v.InstitutionKind), "cross_region": FLAG,
                "scheme": _choice(v.Scheme)}


def _limit(kind: str, zh: str, en: str) -> Question:
    unit = "count" if kind == "daily_count" else "fen"
    return Question(f"settlement.limit.{kind}", zh, en, _limit_facts, {
        "limit": Field("param", units=(unit,), required=True),
        "on_reach": Field("choice", choices=ON_REACH, default="partial"),
    })


QUESTIONS: Mapping[str, Question] = MappingProxyType({q.name: q for q in (
    Question("contribution.allocation", "缴费划入个人账户", "contribution credited to the personal account",
             {"scheme": _choice(v.Scheme), "flexible": FLAG, "retired": FLAG, "age": NUMBER},
             {"rate": Field("param", units=("rate",)), "amount": Field("param", units=("fen",)),
              "source": Field("choice", choices=("contribution", "pooled_fund"), default="contribution")},
             exactly_one=("rate", "amount")),
    Question("contribution.base_bounds", "缴费基数上下限", "floor and ceiling of the contribution base",
             {"scheme": _choice(v.Scheme), "flexible": FLAG},
             {"floor": Field("param", units=("fen",), required=True),
              "ceiling": Field("param", units=("fen",), required=True)}),
    Question("disbursement.four_eyes", "拨付双人复核", "four eyes on a payout",
             {"kind": _choice(("withdrawal", "reimbursement"))},
             {"from": Field("param", units=("fen",), required=True)}),
    Question("settlement.coverage", "个人账户可支付的类别", "what the personal account may pay for",
             {"institution_kind": _choice(v.InstitutionKind), "cross_region": FLAG},
             {"categories": Field("list", choices=tuple(v.Category), required=True)}),
    _limit("per_transaction", "单笔支付上限", "limit per payment"),
    _limit("institution_daily", "同一定点机构每日支付上限", "limit at one institution a day"),
    _limit("daily", "每日支付上限", "limit a day across institutions"),
    _limit("yearly", "年度支付上限", "limit a calendar year"),
    _limit("daily_count", "每日支付次数上限", "payments a day"),
    Question("settlement.cross_region", "跨省直接结算", "cross-region direct settlement",
             {"has_filing": FLAG, "institution_cross_region": FLAG, "emergency": FLAG, "scheme": _choice(v.Scheme)},
             {"allowed": ALLOWED}),
    Question("settlement.refund", "退费", "refunds", {"institution_kind": _choice(v.InstitutionKind)},
             {"restores_quota": Field("flag", default=True)}),
    Question("family.grant", "家庭共济授权", "family grant",
             {"relation": _choice(v.Relation), "scheme": _choice(v.Scheme)},
             {"allowed": ALLOWED, "categories": CATEGORY_LIST}),
    Question("family.relations", "家庭关系核验与授权人数", "family relations: plausibility and how many",
             {"scheme": _choice(v.Scheme)},
             {"generation_gap": Field("param", units=("years",), required=True),
              "max_grantees": Field("param", units=("count",), required=True),
              "marriage_age_male": Field("param", units=("years",)),
              "marriage_age_female": Field("param", units=("years",))}),
    Question("withdrawal", "个人账户支取", "withdrawal from the personal account",
             {"reason": _choice(v.WithdrawalReason), "scheme": _choice(v.Scheme)},
             {"allowed": ALLOWED, "documents": DOCUMENTS, "channels": CHANNEL_LIST,
              "in_person": Field("flag", default=False), "window": Field("param", units=("days", "months")),
              "max": Field("param", units=("fen",)), "fee": Field("param", units=("fen",))}),
    Question("reimbursement", "零星报销", "reimbursement",
             {"reason": _choice(v.ReimbursementReason), "scheme": _choice(v.Scheme)},
             {"allowed": ALLOWED, "documents": DOCUMENTS, "channels": CHANNEL_LIST,
              "in_person": Field("flag", default=False), "window": Field("param", units=("days", "months")),
              "share": Field("param", units=("rate",), required_when_allowed=True),
              "max": Field("param", units=("fen",))}),
    Question("filing", "异地就医备案", "cross-region filing",
             {"type": _choice(v.FilingType), "reason": _choice(v.FilingReason)},
             {"allowed": ALLOWED, "documents": DOCUMENTS, "channels": CHANNEL_LIST,
              "validity": Field("param", units=("months", "days")), "locked": Field("param", units=("months",)),
              "retroactive": Field("flag", default=False)}),
    Question("enrollment.backdating", "用人单位申报参保与停保的追溯期限",
             "how far back a unit may date an enrolment's start or end", {"scheme": _choice(v.Scheme)},
             {"limit": Field("param", units=("days",), required=True)}),
    Question("disbursement", "拨付到账时间", "time for a payout to arrive",
             {"channel": _choice(v.Channel), "bank": TEXT},
             {"working_days": Field("param", units=("working_days",), required=True)}),
    Question("card.pin_unlock", "医保卡密码解锁次数", "how often a card's PIN lock may be lifted", {},
             {"max_unlocks": Field("param", units=("count",), required=True),
              "period": Field("param", units=("days",), required=True)}),
)})

RULE_KEYS = {"question", "description", "reference", "when", "priority", "message", "versions"}
_RULE_ID = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One fact a rule tests: equal to one of `values`, or a number within [low, high]."""

    fact: str
    values: frozenset | None = None
    low: int | None = None
    high: int | None = None

    def holds(self, facts: Mapping) -> bool:
        value = facts.get(self.fact)
        if value is None:
            return False
        if self.values is not None:
            return value in self.values
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def may_overlap(self, other: Condition) -> bool:
        if self.values is not None and other.values is not None:
            return bool(self.values & other.values)
        if self.values is None and other.values is None:
            lows = [x for x in (self.low, other.low) if x is not None]
            highs = [x for x in (self.high, other.high) if x is not None]
            return not lows or not highs or max(lows) <= min(highs)
        return True

    def describe(self) -> str:
        if self.values is not None:
            return f"{self.fact} in {sorted(map(str, self.values))}"
        return f"{self.fact} in [{self.low if self.low is not None else ''}, {self.high if self.high is not None else ''}]"


@dataclass(frozen=True, slots=True)
class Version:
    effective_from: dt.date
    literals: Mapping[str, object]  # fields given as values (defaults filled in)
    params: tuple[tuple[str, Parameter], ...]  # fields that name a parameter
    message: tuple[str, str] | None = None  # overrides the rule's message
    line: int = 0


@dataclass(frozen=True)
class Rule:
    id: str
    region: str
    question: str
    description_zh: str
    description_en: str
    reference: str
    priority: int
    conditions: tuple[Condition, ...]
    dates: tuple[dt.date, ...]
    versions: tuple[Version | None, ...]  # None where the rule is retired
    message: tuple[str, str] | None = None
    file: str = ""
    line: int = 0

    def version_at(self, day: dt.date) -> Version | None:
        i = bisect.bisect_right(self.dates, day) - 1
        return self.versions[i] if i >= 0 else None

    def applies(self, facts: Mapping) -> bool:
        return all(c.holds(facts) for c in self.conditions)

    def spans(self) -> list[tuple[dt.date, dt.date | None]]:
        """The periods in which a version is in force: [from, until) with None for open-ended."""
        out = []
        for i, version in enumerate(self.versions):
            if version is not None:
                out.append((self.dates[i], self.dates[i + 1] if i + 1 < len(self.dates) else None))
        return out


# --- reading rules from a document ---------------------------------------------------------


@dataclass
class RuleReader:
    """Reads the `rules` of one document; `find` looks a parameter up in the region and then the national layer."""

    doc: Document
    region: str
    find: Callable[[str], Parameter | None]
    problems: list[Problem] = field(default_factory=list)

    def fail(self, path: tuple, zh: str, en: str) -> None:
        self.problems.append(self.doc.problem(path, zh, en))

    def read(self) -> dict[str, Rule]:
        specs = self.doc.data.get("rules", {})
        if not isinstance(specs, dict):
            self.fail(("rules",), "rules 须为键值对", "rules must be a mapping of rule ids")
            return {}
        found = {}
        for rule_id, spec in specs.items():
            rule = self.rule(rule_id, spec, ("rules", rule_id))
            if rule is not None:
                found[rule_id] = rule
        return found

    def _text(self, spec, path: tuple) -> tuple[str, str] | None:
        found = bilingual(spec)
        if found is None:
            self.fail(path, *bilingual_problem(spec))
        return found

    def rule(self, rule_id, spec, path: tuple) -> Rule | None:
        if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id):
            self.fail(path, "规则编号只能由小写字母、数字、下划线和点组成", "a rule id is lower-case words joined by dots")
            return None
        if not isinstance(spec, dict):
            self.fail(path, "规则须为键值对", "a rule must be a mapping")
            return None
        for unknown in sorted(set(spec) - RULE_KEYS, key=str):
            self.fail((*path, unknown), f"未知的键 {unknown}，可用：{', '.join(sorted(RULE_KEYS))}",
                      f"unknown key {unknown}; allowed: {', '.join(sorted(RULE_KEYS))}")
        for missing in ("question", "description", "reference", "versions"):
            if missing not in spec:
                self.fail(path, f"缺少 {missing}", f"{missing} is missing")
        asked = spec.get("question")
        question = QUESTIONS.get(asked) if isinstance(asked, str) else None
        if "question" in spec and question is None:
            self.fail((*path, "question"), f"未知的问题 {spec['question']}，可用：{', '.join(QUESTIONS)}",
                      f"unknown question {spec['question']}; one of: {', '.join(QUESTIONS)}")
        if question is None or not {"description", "reference", "versions"} <= set(spec):
            return None
        description = self._text(spec["description"], (*path, "description"))
        reference = reference_of(spec, path, self.fail)
        priority = spec.get("priority", 0)
        if type(priority) is not int:
            self.fail((*path, "priority"), "优先级须为整数", "priority must be a whole number")
            priority = 0
        message = self._text(spec["message"], (*path, "message")) if "message" in spec else None
        conditions = self.conditions(question, spec.get("when", {}), (*path, "when"))
        dates, versions = self.versions(question, spec["versions"], (*path, "versions"))
        if description is None or not dates:
            return None
        return Rule(rule_id, self.region, question.name, description[0], description[1], reference, priority, conditions, tuple(dates),
                    tuple(versions), message, self.doc.file, self.doc.line_of(path))

    def conditions(self, question: Question, when, path: tuple) -> tuple[Condition, ...]:
        if not isinstance(when, dict):
            self.fail(path, "when 须为 {事实: 取值}", "when must be a mapping {fact: value}")
            return ()
        out = []
        for name, raw in when.items():
            where = (*path, name)
            fact = question.facts.get(name)
            if fact is None:
                self.fail(where, f"问题 {question.name} 不能依据 {name}，可用：{', '.join(question.facts)}",
                          f"{question.name} cannot depend on {name}; facts: {', '.join(question.facts)}")
                continue
            condition = self._condition(name, fact, raw, where)
            if condition is not None:
                out.append(condition)
        return tuple(out)

    def _condition(self, name: str, fact: Fact, raw, where: tuple) -> Condition | None:
        if fact.kind == "flag":
            if type(raw) is bool:
                return Condition(name, frozenset({raw}))
            self.fail(where, "须为 true 或 false", "must be true or false")
        elif fact.kind == "number":
            if type(raw) is int:
                return Condition(name, low=raw, high=raw)
            if isinstance(raw, dict) and raw and set(raw) <= {"min", "max"} and all(
                    type(x) is int for x in raw.values()):
                if raw.get("min", raw.get("max")) > raw.get("max", raw.get("min")):
                    self.fail(where, "min 不能大于 max", "min cannot be above max")
                    return None
                return Condition(name, low=raw.get("min"), high=raw.get("max"))
            self.fail(where, "须为整数，或 {min: 整数, max: 整数}", "must be a whole number, or {min: n, max: n}")
        else:
            values = raw if isinstance(raw, list) else [raw]
            if not values or not all(isinstance(x, str) and x for x in values):
                self.fail(where, "须为一个或一组取值", "must be a value or a list of values")
                return None
            unknown = [x for x in values if fact.choices and x not in fact.choices]
            if unknown:
                self.fail(where, f"未知的取值 {', '.join(unknown)}，可用：{', '.join(fact.choices)}",
                          f"unknown value {', '.join(unknown)}; one of: {', '.join(fact.choices)}")
                return None
            return Condition(name, frozenset(values))
        return None

    def versions(self, question: Question, spec, path: tuple) -> tuple[list[dt.date], list[Version | None]]:
        dates: list[dt.date] = []
        versions: list[Version | None] = []
        if not isinstance(spec, dict) or not spec:
            self.fail(path, "须按生效日期列出各版本", "versions must be listed by effective date")
            return dates, versions
        for day, body, where in dated(spec, path, self.fail, ("版本", "version")):
            if body is None:
                dates.append(day)
                versions.append(None)
                continue
            version = self.version(question, day, body, where)
            if version is not None:
                dates.append(day)
                versions.append(version)
        return dates, versions

    def version(self, question: Question, day: dt.date, body, path: tuple) -> Version | None:
        if not isinstance(body, dict):
            self.fail(path, "版本须为 {字段: 取值}，或 null 表示废止", "a version is {field: value}, or null to retire")
            return None
        allowed_keys = set(question.fields) | {"message"}
        for unknown in sorted(set(body) - allowed_keys, key=str):
            self.fail((*path, unknown), f"问题 {question.name} 没有字段 {unknown}，可用：{', '.join(question.fields)}",
                      f"{question.name} has no field {unknown}; fields: {', '.join(question.fields)}")
        literals: dict[str, object] = {}
        params: list[tuple[str, Parameter]] = []
        ok = True
        for name, spec in question.fields.items():
            required = spec.required or (spec.required_when_allowed and body.get("allowed") is True)
            if name not in body:
                if required:
                    self.fail(path, f"缺少字段 {name}", f"field {name} is missing")
                    ok = False
                elif spec.kind != "param":
                    literals[name] = spec.default
                continue
            raw, where = body[name], (*path, name)
            if spec.kind == "param":
                parameter = self.parameter(raw, spec, where)
                if parameter is None:
                    ok = False
                else:
                    params.append((name, parameter))
            elif not self._literal(spec, raw, where):
                ok = False
            else:
                literals[name] = tuple(raw) if spec.kind == "list" else raw
        named = [n for n in question.exactly_one if n in body]
        if question.exactly_one and len(named) != 1:
            self.fail(path, f"须且只能给出 {' 或 '.join(question.exactly_one)} 之一",
                      f"exactly one of {', '.join(question.exactly_one)} is needed")
            ok = False
        message = self._text(body["message"], (*path, "message")) if "message" in body else None
        if not ok:
            return None
        return Version(day, MappingProxyType(literals), tuple(params), message, self.doc.line_of(path))

    def parameter(self, raw, spec: Field, where: tuple) -> Parameter | None:
        if not isinstance(raw, str):
            self.fail(where, "须写参数名（数额都放在 parameters 里，带单位和出处）",
                      "must name a parameter (figures live in parameters, with a unit and a source)")
            return None
        parameter = self.find(raw)
        if parameter is None:
            self.fail(where, f"参数 {raw} 不存在（本地区和全国层都没有）",
                      f"parameter {raw} does not exist (neither in this region nor in the national layer)")
            return None
        if parameter.unit not in spec.units:
            self.fail(where, f"参数 {raw} 的单位是 {parameter.unit}，这里需要 {' 或 '.join(spec.units)}",
                      f"parameter {raw} is in {parameter.unit}; this field needs {' or '.join(spec.units)}")
            return None
        return parameter

    def _literal(self, spec: Field, raw, where: tuple) -> bool:
        if spec.kind == "flag" and type(raw) is not bool:
            self.fail(where, "须为 true 或 false", "must be true or false")
            return False
        if spec.kind == "choice" and raw not in spec.choices:
            self.fail(where, f"须为以下之一：{', '.join(spec.choices)}", f"must be one of: {', '.join(spec.choices)}")
            return False
        if spec.kind == "list":
            if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                self.fail(where, "须为列表", "must be a list")
                return False
            unknown = [x for x in raw if x not in spec.choices]
            if unknown:
                self.fail(where, f"未知的取值 {', '.join(unknown)}，可用：{', '.join(spec.choices)}",
                          f"unknown value {', '.join(unknown)}; one of: {', '.join(spec.choices)}")
                return False
        return True


# --- checks across rules --------------------------------------------------------------------


def parameter_gaps(rule: Rule) -> list[tuple[Version, str, dt.date]]:
    """(version, parameter, day) wherever a version is in force on a day its parameter is not."""
    gaps = []
    for (start, until), version in zip(rule.spans(), [x for x in rule.versions if x is not None], strict=True):
        for _, parameter in version.params:
            if parameter.at(start) is None:
                gaps.append((version, parameter.name, start))
                continue
            for day, value in zip(parameter.dates, parameter.values, strict=True):
                if value is None and start < day and (until is None or day < until):
                    gaps.append((version, parameter.name, day))
                    break
    return gaps


def overlapping(a: Rule, b: Rule) -> dt.date | None:
    """The first day two rules of one question could both answer with the same priority, else None."""
    if a.question != b.question or a.priority != b.priority:
        return None
    by_fact = {c.fact: c for c in a.conditions}
    for c in b.conditions:
        if c.fact in by_fact and not by_fact[c.fact].may_overlap(c):
            return None
    for a_from, a_until in a.spans():
        for b_from, b_until in b.spans():
            start = max(a_from, b_from)
            ends = [x for x in (a_until, b_until) if x is not None]
            if not ends or start < min(ends):
                return start
    return None
