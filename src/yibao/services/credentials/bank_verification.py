"""Bank-card verification (银行卡四要素核验): whether a card belongs to the person linking it, by name, ID
number, card number and the phone the bank holds.

One port, two adapters. Without a bank service configured, the register adapter checks what the agency
itself records (name, ID number and phone against the person's record); it cannot tell whose card a number
is, so the agency configures its bank's service (`YIBAO_BANK_VERIFY_URL`) for that: the HTTP adapter posts
the four elements as JSON and reads `{"match": true|false}`. No network call is made unless a URL is set.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from yibao.domain import errors
from yibao.domain.identity import same_name
from yibao.domain.registry import Person
from yibao.domain.residents import Resident, ResidentStatus
from yibao.services.context import Context


@dataclass(frozen=True)
class CardHolder:
    """The four elements (四要素) a bank compares."""

    name: str
    id_number: str
    card_no: str
    phone: str


class BankVerifier(Protocol):
    def matches(self, holder: CardHolder) -> bool:
        """True when the bank (or the register) confirms the card is this person's; False when it says no."""


class RegisterVerifier:
    """The shipped adapter: the name, ID number and phone as the person's record holds them, and the residents
    register's name and status where the register knows the number."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def matches(self, holder: CardHolder) -> bool:
        with self.ctx.uow() as uow:
            person = uow.one_by(Person, id_number=holder.id_number)
            if person is None or not same_name(person.name, holder.name) or person.phone != holder.phone:
                return False
            listed = uow.one_by(Resident, id_number=holder.id_number)  # the register's word, where it knows the number
            return listed is None or (listed.status == ResidentStatus.ALIVE and same_name(listed.name, holder.name))


class HttpBankVerifier:
    """The bank's verification service: POST {name, id_number, card_no, phone} → {"match": bool}."""

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self.url, self.timeout = url, timeout_seconds

    def matches(self, holder: CardHolder) -> bool:
        body = json.dumps({"name": holder.name, "id_number": holder.id_number, "card_no": holder.card_no,
                           "phone": holder.phone}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                found = json.loads(answer.read(64 * 1024))
        except (urllib.error.URLError, TimeoutError, OSError, ValueError):
            raise errors.BankVerificationUnavailable() from None
        if not isinstance(found, dict) or not isinstance(found.get("match"), bool):
            raise errors.BankVerificationUnavailable()
        return found["match"]


def verifier(ctx: Context) -> BankVerifier:
    """The adapter the settings select: the bank's service when its URL is set, else the register."""
    url = ctx.settings.bank_verify_url
    if url:
        return HttpBankVerifier(url, timeout_seconds=ctx.settings.bank_verify_timeout_seconds)
    return RegisterVerifier(ctx)
