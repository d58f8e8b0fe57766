"""The verification codes of printed vouchers, on a session (`services.ports.VoucherStore`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.store.tables import vouchers


class SqlVouchers:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, voucher: dict) -> None:
        """Keep a voucher's code with what it states."""
        self._session.execute(vouchers.insert().values(voucher))

    def find(self, code: str) -> dict | None:
        """The voucher with this code, as its stored fields."""
        row = self._session.execute(sa.select(vouchers).where(vouchers.c.code == code)).first()
        return None if row is None else row._asdict()
