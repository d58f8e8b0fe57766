"""Idempotency keys as the ledger keeps them: the request a key was first used with, and the answer it got."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeptAnswer:
    """What a claimed key holds: the digest of its first request, and that request's answer once it has one."""

    request_hash: str
    response: dict | None
