"""The cashier's desk of a designated hospital or pharmacy, /institution: the dynamic code or card and PIN, the items, a preview of what the account would pay, settlement and its receipt, refunds, the day's list and its reconciliation."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
