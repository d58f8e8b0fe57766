"""Opaque identifiers: a short kind prefix and random hex, never derived from personal data."""

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"
