"""Settings from the environment (YIBAO_*), with pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YIBAO_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = Field(default="dev-only-change-me", min_length=8)
    token_ttl_minutes: int = 8 * 60
    # Argon2 cost: "standard" for service use; "light" keeps test suites quick.
    argon2_profile: Literal["standard", "light"] = "standard"
    # Physical cards are issued for this many years unless the issuer says otherwise.
    card_validity_years: int = 10
    # The policy tree `yibao policy load` reads by default; empty: the one shipped with the code.
    policy_dir: Path | None = None
    # How often a running service looks for a policy set loaded by another process.
    policy_refresh_seconds: float = 5.0
    # Uploaded documents (PDF, JPEG, PNG) up to this size.
    document_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # A request body over this size is refused before it is read, signed in or not; a document's upload has its
    # own limit, document_max_bytes (and room for the form around the file).
    request_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # The bank's file service (付款文件与回盘), e.g. https://bank.example/agency; empty: files are handed over by
    # hand (in `dev`, `yibao serve` then starts the bank simulator). The amount on a sent line stays held until
    # the bank's signed return settles it, however long that takes.
    bank_url: str = ""
    bank_timeout_seconds: float = 10.0
    # The bank's Ed25519 PUBLIC key, which verifies its return files: base64 of the raw key or PEM, or a file.
    bank_public_key: str = ""
    bank_public_key_file: Path | None = None
    # How long a cross-region cash voucher may be redeemed.
    cash_voucher_days: int = 30
    # The bank's card verification service (四要素: name, ID number, card number, phone), e.g.
    # https://bank.example/verify; empty: cards are checked against the agency's own records only.
    bank_verify_url: str = ""
    bank_verify_timeout_seconds: float = 5.0
    # Sign-in throttling: failed sign-ins allowed per user name and per client address within a window from the
    # first failure; then every sign-in for that name or from that address answers 429 until the window ends.
    # Counted in this process's memory (one count per server process).
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_max_failures_per_address: int = Field(default=20, ge=1)
    sign_in_window_seconds: int = Field(default=15 * 60, ge=1)
    # A unit's person look-ups that find no one (an unknown number, or a name that does not match), allowed per
    # unit user within a window; then every look-up by that user answers 429 until the window ends.
    unit_lookup_max_misses: int = Field(default=10, ge=1)
    unit_lookup_window_seconds: int = Field(default=60 * 60, ge=1)
    # Payment codes (付款码): how many one-minute codes one e-voucher, and one client address, may ask for within
    # the window; then 429 payment_code.too_many until it ends. Counted in this process's memory.
    payment_codes_per_evoucher: int = Field(default=10, ge=1)
    payment_codes_per_address: int = Field(default=60, ge=1)
    payment_codes_window_seconds: int = Field(default=60, ge=1)
    # Checkpoints (检查点): the key that signs them, kept outside the database (a file, or the variable itself),
    # and the append-only file they are written to (default: checkpoints.jsonl in the data directory).
    checkpoint_key: str = ""
    checkpoint_key_file: Path | None = None
    checkpoint_file: Path | None = None
    # How often `yibao jobs run-due` signs a checkpoint (it runs every few minutes; checkpoints are hourly).
    checkpoint_every_minutes: int = Field(default=60, ge=1)
    # While the database cannot be reached, requests answer 503 service.unavailable with this Retry-After.
    outage_retry_after_seconds: int = Field(default=30, ge=1)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'yibao.db'}"
