"""Masking of ID numbers, phones and bank numbers for every view but the owner's own."""

import re


def mask_id_number(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:] if number else number


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if phone and len(phone) == 11 else "*" * len(phone or "")


def mask_account_no(number: str) -> str:
    return "*" * (len(number) - 4) + number[-4:] if number else number


def mask_username(username: str) -> str:
    """A user name shown as the actor of a change: masked when it is a phone or ID number
    (self-registered persons sign in with their phone by default)."""
    name = username or ""
    if re.fullmatch(r"1[3-9][0-9]{9}", name):
        return mask_phone(name)
    if re.fullmatch(r"[0-9]{15}|[0-9]{17}[0-9Xx]", name):
        return mask_id_number(name)
    return username


def mask_name(name: str) -> str:
    """Keep the first character (usually the surname), hide the rest: 张伟 → 张*."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""
