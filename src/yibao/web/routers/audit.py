"""The auditor's console (read-only), /audit: the audit trail by person, entity, actor and date, the verification of the books and the last checkpoint, policy versions and their differences."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
