"""Money moves once: a request that moves money carries a key; a retry gets the first answer back.

The key is claimed in the same transaction as the money it guards, so a request that fails
leaves no key behind and may be retried, and two concurrent requests with one key move money once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from yibao.domain import errors
from yibao.ledger import seals
from yibao.ledger.chain import canonical
from yibao.services.ports import UnitOfWork


def request_hash(request: dict) -> str:
    return hashlib.sha256(canonical(request)).hexdigest()


class Once:
    """Claim a key for a request; `earlier` is the first answer when this is a retry.

    `claim(scope, key, request_hash, at)`, when given, claims the key in a statement of the caller's (a use case
    may claim it in the statement that reads its first facts) and tells whether it did; by default the key is
    claimed by a statement of its own."""

    def __init__(self, uow: UnitOfWork, *, scope: str, key: str, request: dict, now,
                 claim: Callable[[str, str, str, dt.datetime], bool] | None = None) -> None:
        if not key or len(key) > 128:
            raise errors.RequestInvalid(summary="idempotency_key: 1 to 128 characters")
        self.uow, self.scope, self.key, self.now = uow, scope, key, now
        self.earlier: dict | None = None
        self.request_hash = digest = request_hash(request)
        if not (claim or uow.keys.claim_key)(scope, key, digest, now):
            row = uow.keys.key_row(scope, key)
            if row.request_hash != digest:
                raise errors.IdempotencyConflict()
            self.earlier = row.response

    def answer_seal(self, response: dict) -> list:
        """The seal of the answer this key keeps (for the use case's own audit record)."""
        return seals.answer_seal(self.scope, self.key, self.request_hash, response)

    def remember(self, response: dict, *, sealed: bool = False) -> dict:
        """Keep the answer; it is sealed by an audit record of its own unless the caller's record seals it."""
        self.uow.keys.store_response(self.scope, self.key, response)
        if not sealed:
            self.uow.keys.seal_answers(self.now, [self.answer_seal(response)])
        return response


def answered(uow: UnitOfWork, *, scope: str, key: str, request: dict) -> dict | None:
    """The first answer to a request already made with this key, without claiming it (for checks that must
    not run again on a retry, such as a PIN); a different request with the key is a conflict."""
    row = uow.keys.key_row(scope, key) if key and len(key) <= 128 else None
    if row is None or row.response is None:
        return None
    if row.request_hash != request_hash(request):
        raise errors.IdempotencyConflict()
    return row.response
