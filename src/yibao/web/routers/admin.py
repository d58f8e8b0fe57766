"""The administrator's console, /admin: users and roles, institutions and their designation periods, policy publication (check, difference, people affected, effective date, notices) and the scheduled jobs."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
