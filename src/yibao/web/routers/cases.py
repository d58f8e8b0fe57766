"""The person's cases: /me/family (grants), /me/filings (cross-region filing), /me/applications (reimbursement
and withdrawal, from the explain answer to "paid") and /ask (the 12393/12333 answer)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
