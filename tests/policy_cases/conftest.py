"""Policy cases: the YAML files in this folder, each a list of cases a policy officer can read and check.

Every case is one test, named by its `name`, decided by the engine over the bundled `policies/`
tree (or that tree with an overlay) and compared with what the articles and policy files say:

    - name: 北京：同一药店当日再付200元，账户付100元、现金付100元     # the test id
      region: "110000"              # the person's insured region; goes into the facts as `region`
      date: 2026-03-02              # the day decided
      action: settle                # an action of yibao.policy.actions (contribute, settle, refund, …)
      facts: {...}                  # the action's facts (policy.interface lists them; an unknown or missing
                                    # one is an error naming the case); YAML dates are dates, settlement
                                    # `items` are [category, amount_fen] pairs, a filing's `existing` a mapping
      overlay: overlays/retired     # optional: a folder (relative to this file) whose files replace or add
                                    # to the bundled tree's by relative path, e.g. 000000-national/calendar.yaml
      reference: 种子文章 004（北京）  # optional: where the expectation comes from
      xfail: "<why>"                # optional: the engine is known to decide this wrongly (strict)
      expected: {...}

Each `expected` key present is checked exactly; absent keys are not checked:

    allowed            true | false
    max_amount_fen     the decision's max_amount_fen (fen, or null)
    code               the refusal's stable code, or null
    limited_by         what kept the account from paying it all, in order
    requirements       Requirement.key() strings, exact and in order ("in_person", "channel:counter|terminal",
                       "document:id_card", "window:2026-03-15", "filing")
    requirements_met   {requirement key: true | false | null}: `met` of the named requirements
    missing_documents  the documents the facts show missing, in order
    rule_ids           the rule id of every reason, exact and in order ("none" where no rule answers)
    cites              rule ids that must be among the reasons, in any order
    effective_from     {rule id: date}: the day the cited combination of rule version and figures took effect
    details            a subset of decision.details; a mapping inside it is compared as a subset too
    says               texts the Chinese explanation must contain (amounts as ¥1,234.50)
"""

from __future__ import annotations

import datetime as dt
import pprint
from pathlib import Path

import pytest
import yaml

from yibao.policy.engine import Engine
from yibao.policy.interface import FACTS, Facts, Filed
from yibao.policy.loader import load_files

HERE = Path(__file__).resolve().parent
POLICIES = HERE.parents[1] / "policies"

CASE_KEYS = {"name", "region", "date", "action", "facts", "expected", "overlay", "reference", "xfail"}
REQUIRED_KEYS = {"name", "region", "date", "action", "facts", "expected"}
EXPECTED_KEYS = {"allowed", "max_amount_fen", "code", "limited_by", "requirements", "requirements_met",
                 "missing_documents", "rule_ids", "cites", "effective_from", "details", "says"}
TEXT_LISTS = {"limited_by", "requirements", "missing_documents", "rule_ids", "cites", "says"}
_MISSING = object()


# --- the policy trees ----------------------------------------------------------------------------

_ENGINES: dict[Path | None, Engine] = {}


def _tree_files(root: Path) -> dict[str, bytes]:
    """Every policy file under root as {"<folder>/<file>.yaml": bytes}, the way the loader names them."""
    return {f"{p.parent.name}/{p.name}": p.read_bytes() for p in sorted(root.glob("*/*.yaml"))}


def engine_for(overlay: Path | None) -> Engine:
    """The engine over the bundled tree, or over the bundled tree with an overlay's files; each loaded once."""
    if overlay not in _ENGINES:
        files = _tree_files(POLICIES)
        if overlay is not None:
            files.update(_tree_files(overlay))
        _ENGINES[overlay] = Engine(load_files(files))
    return _ENGINES[overlay]


# --- collecting ----------------------------------------------------------------------------------


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix == ".yaml" and file_path.parent == HERE:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFileError(Exception):
    """A case file that cannot be read as cases: named by file, line and case."""


class CaseFile(pytest.File):
    def collect(self):
        text = self.path.read_text(encoding="utf-8")
        cases = yaml.safe_load(text)
        nodes = yaml.compose(text, Loader=yaml.SafeLoader)
        if not isinstance(cases, list) or not cases:
            raise CaseFileError(f"{self.path.name}: a case file is a non-empty list of cases")
        seen = set()
        for case, node in zip(cases, nodes.value, strict=True):
            line = node.start_mark.line + 1
            _check_case(self.path.name, line, case)
            if case["name"] in seen:
                raise CaseFileError(f"{self.path.name}:{line}: the name {case['name']!r} is used twice")
            seen.add(case["name"])
            facts = _facts_of(self.path.name, line, case)
            yield PolicyCase.from_parent(self, name=case["name"], case=case, facts=facts, line=line)


def _check_case(file: str, line: int, case) -> None:
    where = f"{file}:{line}"
    if not isinstance(case, dict):
        raise CaseFileError(f"{where}: a case is a mapping")
    unknown = set(case) - CASE_KEYS
    missing = REQUIRED_KEYS - set(case)
    if unknown or missing:
        raise CaseFileError(f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    name = case["name"]
    if not isinstance(name, str) or not name.strip() or "::" in name or "/" in name:
        raise CaseFileError(f"{where}: a name is text without '::' or '/'")
    if not isinstance(case["region"], str):
        raise CaseFileError(f"{where}: {name}: quote the region code, e.g. region: \"110000\"")
    if type(case["date"]) is not dt.date:
        raise CaseFileError(f"{where}: {name}: date must be YYYY-MM-DD")
    if not isinstance(case["facts"], dict) or not isinstance(case["expected"], dict):
        raise CaseFileError(f"{where}: {name}: facts and expected are mappings")
    unknown = set(case["expected"]) - EXPECTED_KEYS
    if unknown:
        raise CaseFileError(f"{where}: {name}: unknown expected keys {sorted(unknown)}; see conftest.py")
    for key in TEXT_LISTS & set(case["expected"]):
        texts = case["expected"][key]
        if not isinstance(texts, list) or not all(isinstance(x, str) for x in texts):
            raise CaseFileError(f"{where}: {name}: expected {key} is a list of texts (quote a text with a comma)")
    for key in ("requirements_met", "effective_from", "details"):
        if not isinstance(case["expected"].get(key, {}), dict):
            raise CaseFileError(f"{where}: {name}: expected {key} is a mapping")
    if not all(type(x) is dt.date for x in case["expected"].get("effective_from", {}).values()):
        raise CaseFileError(f"{where}: {name}: effective_from maps a rule id to a date")
    if "xfail" in case and not (isinstance(case["xfail"], str) and case["xfail"].strip()):
        raise CaseFileError(f"{where}: {name}: xfail names why the engine is wrong")


def _facts_of(file: str, line: int, case: dict) -> Facts:
    """The case's facts as the dataclass of its action, its region among them; a fact the action does not
    know, or one it needs and the case does not give, is an error naming the case."""
    where = f"{file}:{line}: {case['name']}"
    kind = FACTS.get(case["action"])
    if kind is None:
        raise CaseFileError(f"{where}: unknown action {case['action']!r}; one of {', '.join(FACTS)}")
    facts = dict(case["facts"], region=case["region"])
    if "items" in facts:
        facts["items"] = [tuple(item) for item in facts["items"]]
    try:
        if isinstance(facts.get("existing"), dict):
            facts["existing"] = Filed(**facts["existing"])
        return kind(**facts)
    except TypeError as error:
        raise CaseFileError(f"{where}: the facts of {case['action']}: {error}") from None


# --- running -------------------------------------------------------------------------------------


class CaseMismatch(Exception):
    def __init__(self, mismatches: list[str], expected: dict, decision: dict) -> None:
        super().__init__("\n".join(mismatches))
        self.mismatches, self.expected, self.decision = mismatches, expected, decision


class PolicyCase(pytest.Item):
    def __init__(self, *, case: dict, facts: Facts, line: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.case, self.facts, self.line = case, facts, line
        if "xfail" in case:
            self.add_marker(pytest.mark.xfail(reason=case["xfail"], strict=True))

    def runtest(self) -> None:
        overlay = self.case.get("overlay")
        engine = engine_for((self.path.parent / overlay).resolve() if overlay else None)
        decision = engine.decide(self.facts, at=self.case["date"])
        mismatches = compare(self.case["expected"], decision)
        if mismatches:
            raise CaseMismatch(mismatches, self.case["expected"], decision.as_dict())

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseMismatch):
            failure = excinfo.value
            return "\n".join([
                f"policy case {self.name!r} ({self.path.name}:{self.line}), {self.case['region']} on "
                f"{self.case['date']}, action {self.case['action']}",
                "", "what differs:", *(f"  {m}" for m in failure.mismatches),
                "", "expected:", _show(failure.expected),
                "", "decision.as_dict():", _show(failure.decision),
            ])
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.line - 1, f"policy case: {self.name}"


def _show(data) -> str:
    return "\n".join("  " + line for line in pprint.pformat(data, width=110, sort_dicts=False).splitlines())


# --- comparing -----------------------------------------------------------------------------------


def _plain(value):
    """Tuples as lists, mappings as dicts, all the way down: how YAML writes them."""
    if isinstance(value, tuple | list):
        return [_plain(x) for x in value]
    if isinstance(value, dict):
        return {k: _plain(x) for k, x in value.items()}
    return value


def _subset(expected, actual, path: str, out: list[str]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, want in expected.items():
            _subset(want, actual.get(key, _MISSING), f"{path}.{key}", out)
    elif actual is _MISSING:
        out.append(f"{path}: expected {expected!r}, not in the decision")
    elif _plain(actual) != expected or type(_plain(actual)) is bool and type(expected) is not bool:
        out.append(f"{path}: expected {expected!r}, got {_plain(actual)!r}")


def compare(expected: dict, decision) -> list[str]:
    """Every way the decision differs from the expectation, as lines a policy officer can read."""
    keys = [r.key() for r in decision.requirements]
    actual = {
        "allowed": decision.allowed, "max_amount_fen": decision.max_amount_fen, "code": decision.code,
        "limited_by": list(decision.limited_by), "requirements": keys,
        "missing_documents": list(decision.missing_documents),
        "rule_ids": [r.rule_id for r in decision.reasons],
    }
    out = []
    for key, got in actual.items():
        if key in expected and expected[key] != got:
            out.append(f"{key}: expected {expected[key]!r}, got {got!r}")
    if "requirements_met" in expected:
        met = {r.key(): r.met for r in decision.requirements}
        for key, want in expected["requirements_met"].items():
            got = met.get(key, _MISSING)
            if got is _MISSING:
                out.append(f"requirements_met.{key}: expected {want!r}, no such requirement")
            elif got is not want:
                out.append(f"requirements_met.{key}: expected {want!r}, got {got!r}")
    if "cites" in expected:
        cited = {r.rule_id for r in decision.reasons}
        absent = [x for x in expected["cites"] if x not in cited]
        if absent:
            out.append(f"cites: {absent} not among the reasons {sorted(cited)}")
    if "effective_from" in expected:
        since = {}
        for reason in decision.reasons:
            since.setdefault(reason.rule_id, reason.effective_from)
        for rule_id, want in expected["effective_from"].items():
            got = since.get(rule_id, _MISSING)
            if got is _MISSING:
                out.append(f"effective_from.{rule_id}: expected {want}, the rule is not among the reasons")
            elif got != want:
                out.append(f"effective_from.{rule_id}: expected {want}, got {got}")
    if "details" in expected:
        _subset(expected["details"], decision.details, "details", out)
    if "says" in expected:
        text = decision.explanation("zh")
        for part in expected["says"]:
            if part not in text:
                out.append(f"says: {part!r} is not in the explanation {text!r}")
    return out
