"""Names the pages give to the system's codes, as catalog messages: `N_` marks a message for extraction without
translating it; the page translates it when it shows it (`_(ENTRY_KINDS[kind])`)."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark only"
    return message


ENTRY_KINDS = {
    "contribution": N_("Contribution credited"),
    "settlement": N_("Payment"),
    "refund": N_("Refund"),
    "hold_capture": N_("Paid out"),
    "year_end": N_("Year-end carry-over"),
    "quota_grant": N_("Allowance"),
    "quota_use": N_("Claim against limits"),
    "reversal": N_("Correction"),
}

ROLES = {
    "person": N_("Insured person"),
    "unit": N_("Unit"),
    "institution": N_("Cashier"),
    "counter": N_("Counter staff"),
    "terminal": N_("Self-service terminal"),
    "collector": N_("Collector"),
    "reviewer": N_("Reviewer"),
    "auditor": N_("Auditor"),
    "admin": N_("Administrator"),
}

# The staff consoles: the role's start page and its name in the menu.
CONSOLES = {
    "institution": ("/institution", N_("Cashier desk")),
    "counter": ("/counter", N_("Counter")),
    "reviewer": ("/review", N_("Review queue")),
    "auditor": ("/audit", N_("Audit")),
    "admin": ("/admin", N_("Administration")),
}
