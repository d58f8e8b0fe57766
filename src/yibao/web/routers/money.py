"""The person's money pages: /me/history (with the chart and the statement PDF), /me/evoucher (the QR that
refreshes every minute), /me/cards, /me/bank and /me/notices."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
