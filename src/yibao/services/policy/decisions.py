"""Acting on policy decisions: a refusal becomes a problem with the decision's code, its explanation
in both languages, the rules it cites and what is missing."""

from __future__ import annotations

from yibao.domain import errors
from yibao.policy.decision import Decision


def enforce(decision: Decision) -> Decision:
    """The decision itself if it allows; otherwise raise RuleRefused carrying it."""
    if decision.allowed:
        return decision
    raise refusal(decision)


def refusal(decision: Decision) -> errors.RuleRefused:
    """A refused decision as the problem it answers: its code, explanation, rules cited and what is missing."""
    shown = decision.as_dict()
    facts = {"explanation_zh": shown["explanation_zh"], "explanation_en": shown["explanation_en"],
             "rules": [{k: r[k] for k in ("rule_id", "region", "effective_from", "reference")} for r in shown["reasons"]],
             "requirements": shown["requirements"], "limited_by": shown["limited_by"]}
    if decision.missing_documents:
        facts["missing"] = decision.missing_documents
    if decision.max_amount_fen is not None:
        facts["max_amount_fen"] = decision.max_amount_fen
    facts.update({k: v for k, v in shown["details"].items() if k not in facts})
    return errors.RuleRefused(decision.code or "policy.refused", **facts)


def citations(decision: Decision) -> list[dict]:
    return [r.citation() for r in decision.reasons]
