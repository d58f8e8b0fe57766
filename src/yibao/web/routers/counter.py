"""The agency's counter (窗口), /counter: finding a person, registration and life events with documents, applications taken in person, bank accounts, freezes, cash vouchers and appointment slots."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
