"""A decision and its reasons: allowed or not, how much, what is needed, and which rules said so.

Messages are templates filled from the facts (as domain errors are), rendered in Chinese and
English when they are read: a decision costs nothing to explain until someone asks.
"""

from __future__ import annotations

import datetime as dt
import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from yibao.domain import vocabulary as v
from yibao.domain.money import yuan


class Fen(int):
    """An amount of money in a message: shown as yuan (¥1,234.50)."""


class Label(tuple):
    """A term already labelled: (中文, English)."""

    @classmethod
    def of(cls, terms, value: str | None) -> Label:
        return cls(v.label(terms, value or ""))


# Which vocabulary labels a list or a term, by the name it has in a message template.
TERMS = {"documents": v.DocumentType, "missing": v.DocumentType, "channels": v.Channel,
         "channel": v.Channel, "categories": v.Category, "uncovered": v.Category,
         "relation": v.Relation, "relations": v.Relation, "reason": None, "type": v.FilingType,
         "institution_kind": v.InstitutionKind, "scheme": v.Scheme}
_LANG = {"zh": 0, "en": 1}


def render(name: str, value, lang: str) -> str:
    i = _LANG[lang]
    if isinstance(value, Label):
        return value[i]
    if isinstance(value, Fen):
        return yuan(value)
    if isinstance(value, bool):
        return ("是", "yes")[i] if value else ("否", "no")[i]
    if isinstance(value, Decimal):
        return f"{(value * 100).normalize():f}%"
    if isinstance(value, dt.date):
        return value.isoformat()
    terms = TERMS.get(name)
    if isinstance(value, tuple | list | frozenset | set):
        items = [v.label(terms, x)[i] if terms else str(x) for x in value]
        return ("、" if lang == "zh" else ", ").join(items) or ("（无）", "(none)")[i]
    if isinstance(value, str) and terms:
        return v.label(terms, value)[i]
    return str(value)


@functools.cache
def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def fill(template: str, args: Mapping, lang: str, figures: Mapping = MappingProxyType({})) -> str:
    """A template with its placeholders filled from the facts (`args`), else the rule's figures; only the
    placeholders the template has are rendered."""
    return template.format_map({name: render(name, args[name] if name in args else figures[name], lang)
                                for name in _placeholders(template)})


@dataclass(slots=True)
class Message:
    """A message in two languages, rendered from its template when read."""

    template: tuple[str, str]
    args: Mapping = field(default_factory=dict)

    @property
    def message_zh(self) -> str:
        return fill(self.template[0], self.args, "zh", self._figures())

    @property
    def message_en(self) -> str:
        return fill(self.template[1], self.args, "en", self._figures())

    def _figures(self) -> Mapping:
        return MappingProxyType({})


@dataclass(slots=True)
class Reason(Message):
    """One rule's part in a decision: its citation, and the rule's figures and the facts its message is
    filled from."""

    rule_id: str = ""
    region: str = ""
    effective_from: dt.date = dt.date.min
    reference: str = ""
    figures: Mapping = field(default_factory=dict)

    def _figures(self) -> Mapping:
        return self.figures

    def citation(self) -> dict:
        return {"rule_id": self.rule_id, "region": self.region, "effective_from": self.effective_from.isoformat(),
                "reference": self.reference}

    def as_dict(self) -> dict:
        return {**self.citation(), "message_zh": self.message_zh, "message_en": self.message_en}


class Note(Message):
    """A fact that is no rule's but explains the outcome, e.g. a balance too small or a document missing."""

    __slots__ = ()


# What each kind of requirement says, filled with its value.
REQUIREMENT_TEXTS = {
    "document": ("需提供：{value}", "Bring: {value}"),
    "channel": ("办理渠道：{value}", "Where to apply: {value}"),
    "in_person": ("须本人办理，不可代办", "Only the person themselves may apply; no proxy"),
    "in_person:heir": ("须由继承人本人办理，不可代办", "The heir must apply in person; no proxy"),
    "filing": ("须先办理异地就医备案", "A cross-region filing is needed first"),
    "window": ("须在 {value} 前申请", "Apply by {value}"),
    "within": ("须在事由发生之日起 {value} 内申请", "Apply within {value} of the event"),
}
_PERIODS = {"months": ("{} 个月", "{} months"), "days": ("{} 日", "{} days")}
_REQUIREMENT_TERMS = {"document": "documents", "channel": "channels"}


@dataclass(slots=True)
class Requirement:
    """Something the person must bring or do; `met` says whether the facts show it done (None: not known)."""

    kind: str  # document | channel | in_person | filing | window
    value: object = None
    met: bool | None = None

    def _text(self, lang: str) -> str:
        text = f"{self.kind}:{self.value}" if self.kind == "in_person" and self.value else self.kind
        template = REQUIREMENT_TEXTS[text][_LANG[lang]]
        if self.kind == "within":
            count, unit = self.value
            return template.format(value=_PERIODS[unit][_LANG[lang]].format(count))
        return template.format(value=render(_REQUIREMENT_TERMS.get(self.kind, ""), self.value, lang))

    def as_dict(self) -> dict:
        value = list(self.value) if isinstance(self.value, tuple) else (
            self.value.isoformat() if isinstance(self.value, dt.date) else self.value)
        return {"kind": self.kind, "value": value, "met": self.met,
                "message_zh": self._text("zh"), "message_en": self._text("en")}

    def key(self) -> str:
        """kind:value, the way policy cases name a requirement (a list of values joined by |)."""
        if self.value is None:
            return self.kind
        if self.kind == "within":
            return f"within:{self.value[0]} {self.value[1]}"
        value = "|".join(self.value) if isinstance(self.value, tuple) else str(self.value)
        return f"{self.kind}:{value}"


@dataclass(slots=True)
class Decision:
    action: str
    allowed: bool
    max_amount_fen: int | None = None
    code: str | None = None  # why not, as a stable error code (e.g. withdrawal.not_allowed)
    requirements: list[Requirement] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    limited_by: list[str] = field(default_factory=list)  # settle: what kept the account from paying it all
    details: dict = field(default_factory=dict)  # figures of the action: fee_fen, valid_to, expected_arrival, …
    notes: list[Note] = field(default_factory=list)  # facts that are no rule's, e.g. the balance

    @property
    def missing_documents(self) -> list[str]:
        return [r.value for r in self.requirements if r.kind == "document" and r.met is False]

    def explanation(self, lang: str) -> str:
        return _joined([getattr(r, f"message_{lang}") for r in (*self.reasons, *self.notes)], lang)

    def as_dict(self) -> dict:
        details = {k: (x.isoformat() if isinstance(x, dt.date) else list(x) if isinstance(x, tuple) else x)
                   for k, x in self.details.items()}
        reasons = [r.as_dict() for r in self.reasons]  # each message rendered once, for the list and the summary
        notes = [(n.message_zh, n.message_en) for n in self.notes]
        return {
            "action": self.action, "allowed": self.allowed, "max_amount_fen": self.max_amount_fen,
            "code": self.code, "limited_by": list(self.limited_by),
            "requirements": [r.as_dict() for r in self.requirements],
            "reasons": reasons,
            "details": details,
            "explanation_zh": _joined([r["message_zh"] for r in reasons] + [zh for zh, _ in notes], "zh"),
            "explanation_en": _joined([r["message_en"] for r in reasons] + [en for _, en in notes], "en"),
        }


def _joined(parts: list[str], lang: str) -> str:
    return ("；" if lang == "zh" else "; ").join(parts)
