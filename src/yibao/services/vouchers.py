"""Vouchers (凭证, R9): every printed document carries a verification code that confirms what it states."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from yibao.domain import errors
from yibao.domain.masking import mask_id_number, mask_name
from yibao.domain.registry import Person
from yibao.domain.users import Actor
from yibao.ledger import seals
from yibao.services.context import Context
from yibao.services.ports import UnitOfWork

# No 0/O, 1/I/L: a code read off paper and typed back in should not be mistyped.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def record(ctx: Context, uow: UnitOfWork, actor: Actor, *, code: str, kind: str, person_id: str, subject: dict,
           document: bytes, created_at: dt.datetime | None = None) -> None:
    """Store a voucher's code with what it states; `created_at` is the time printed on it (default: now)."""
    row = {"code": code, "kind": kind, "person_id": person_id, "subject": subject,
           "sha256": hashlib.sha256(document).hexdigest(), "created_at": created_at or ctx.now(),
           "created_by": actor.username}
    uow.vouchers.add(row)
    ctx.audit(uow, actor, "voucher.issue", "voucher", code, kind=kind, person_id=person_id,
              seals=[seals.seal("vouchers", row)])


@dataclass
class VoucherCheck:
    code: str
    kind: str
    created_at: object
    holder_name: str
    holder_id_number: str
    subject: dict
    sha256: str


def confirm(ctx: Context, *, code: str) -> VoucherCheck:
    """What a voucher states, for anyone holding it; the holder's name and ID number masked."""
    wanted = normalise(code)
    with ctx.uow() as uow:
        found = uow.vouchers.find(wanted) if wanted else None
        if found is None:
            raise errors.VoucherNotFound()
        person = uow.get(Person, found["person_id"])
        return VoucherCheck(display(found["code"]), found["kind"], found["created_at"], mask_name(person.name),
                            mask_id_number(person.id_number), found["subject"], found["sha256"])
