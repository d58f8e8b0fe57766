"""The bank (银行) as a port: send a payment file, fetch its return file; and the check of the bank's signature.

The agency holds only the bank's PUBLIC key (`YIBAO_BANK_PUBLIC_KEY`, base64 of the raw 32-byte Ed25519 key or
PEM, or `YIBAO_BANK_PUBLIC_KEY_FILE`): it can check that the bank signed a return file, and nobody here can
sign one. The HTTP adapter talks to the bank's file service at `YIBAO_BANK_URL` (the shipped bank simulator
speaks the same protocol). Without a URL the files are handed over by hand: the payment file is downloaded
from the batch and the bank's signed return file uploaded.

In `dev` with neither set, the key pair the demo's simulator made under the data directory is used.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from yibao.config import Settings
from yibao.domain import errors

SIMULATOR_DIR = "bank-simulator"
PUBLIC_KEY_FILE = "bank-public.pem"
MAX_RETURN_BYTES = 16 * 1024 * 1024


class Bank(Protocol):
    def send(self, *, file_id: str, content: bytes) -> None:
        """Hand a payment file to the bank; sending the same file again is harmless."""

    def fetch_return(self, *, file_id: str) -> bytes | None:
        """The bank's signed return file for a payment file, as its exact bytes; None while there is none."""


class HttpBank:
    """The bank's file service: `POST {url}/files` (the payment file), `GET {url}/files/{file_id}/return`."""

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout_seconds

    def _call(self, request: urllib.request.Request) -> bytes | None:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return answer.read(MAX_RETURN_BYTES)
        except urllib.error.HTTPError as refused:
            if refused.code == 404:
                return None
            raise errors.BankUnavailable() from None
        except (urllib.error.URLError, TimeoutError, OSError):
            raise errors.BankUnavailable() from None

    def send(self, *, file_id: str, content: bytes) -> None:
        answer = self._call(urllib.request.Request(f"{self.url}/files", data=content, method="POST",
                                                   headers={"Content-Type": "text/csv; charset=utf-8"}))
        if answer is None:
            raise errors.BankUnavailable()
        try:
            if json.loads(answer).get("file_id") != file_id:
                raise ValueError
        except (ValueError, AttributeError):
            raise errors.BankUnavailable() from None

    def fetch_return(self, *, file_id: str) -> bytes | None:
        return self._call(urllib.request.Request(f"{self.url}/files/{urllib.parse.quote(file_id)}/return",
                                                 headers={"Accept": "text/csv"}))


def port(settings: Settings) -> Bank | None:
    """The adapter the settings select: the bank's file service when its URL is set, else none (by hand)."""
    if not settings.bank_url:
        return None
    return HttpBank(settings.bank_url, timeout_seconds=settings.bank_timeout_seconds)


def public_key(settings: Settings) -> Ed25519PublicKey:
    """The bank's public key from the variable, its file, or (dev only) the demo simulator's; else a refusal."""
    raw: bytes | None = None
    if settings.bank_public_key:
        raw = settings.bank_public_key.strip().encode()
    else:
        path = settings.bank_public_key_file
        if path is None and settings.env == "dev":
            path = settings.data_dir / SIMULATOR_DIR / PUBLIC_KEY_FILE
        if path is not None:
            try:
                raw = Path(path).read_bytes().strip()
            except OSError:
                raw = None
    if not raw:
        raise errors.BankKeyMissing()
    return load_public_key(raw)


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    try:
        if raw.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(raw)
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError
            return key
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw, validate=True))
    except ValueError:
        raise errors.BankKeyMissing() from None


def encode_public_key(key: Ed25519PublicKey) -> str:
    """The base64 text of a raw public key, as `YIBAO_BANK_PUBLIC_KEY` takes it."""
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def verify(settings: Settings, *, signed: bytes, signature: bytes) -> None:
    """Refuse a return file whose signature the bank's public key does not verify over these exact bytes."""
    try:
        public_key(settings).verify(signature, signed)
    except InvalidSignature:
        raise errors.ReturnSignatureInvalid() from None
