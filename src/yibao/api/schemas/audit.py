"""Confirming a printed voucher by its code."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class VoucherRead(BaseModel):
    code: str
    kind: str
    created_at: dt.datetime
    holder_name: str
    holder_id_number: str
    subject: dict
    sha256: str
