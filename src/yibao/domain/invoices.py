"""Invoices (发票) as claimed by reimbursements: what makes two claims the same invoice.

An invoice is named by its issuer and number, and, where it has one, by the national e-invoice code (全国统一
电子票据号码). Both are normalised before they are compared (full-width characters, case, spaces and dashes
do not make another invoice), and kept only as a digest: the claims table never holds an invoice number.
A direct settlement's receipt number is its settlement id, so a claim naming one is found as well.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_NOT_WORD = re.compile(r"[\W_]", re.UNICODE)
_SETTLEMENT_RECEIPT = re.compile(r"STL([0-9A-F]{16})")


def normal_number(number: str) -> str:
    """An invoice or e-invoice number as compared: half-width, upper case, letters and digits only."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", number or "").upper())


def normal_issuer(issuer: str) -> str:
    """An issuer's name or code as compared: half-width, case-folded, without spaces or punctuation."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", issuer or "").casefold())


@dataclass(frozen=True)
class InvoiceKey:
    kind: str  # number (issuer and number) | einvoice (the national e-invoice code)
    key: str  # a SHA-256 digest of the normalised invoice


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def keys_of(invoice: dict) -> list[InvoiceKey]:
    """The keys under which an invoice is claimed: its issuer and number, and its e-invoice code if given."""
    found = [InvoiceKey("number", _digest("number", normal_issuer(invoice.get("issuer") or ""),
                                          normal_number(invoice.get("number") or "")))]
    if code := normal_number(invoice.get("einvoice_code") or ""):
        found.append(InvoiceKey("einvoice", _digest("einvoice", code)))
    return found


def settlement_receipt(number: str) -> str | None:
    """The settlement id an invoice number would be, if it is written like one (a direct settlement's receipt)."""
    match = _SETTLEMENT_RECEIPT.fullmatch(normal_number(number))
    return f"stl_{match.group(1).lower()}" if match else None
