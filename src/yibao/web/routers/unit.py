"""The unit's pages: /unit (its data, completeness and employees), enrolling one employee or a CSV file, and the
contribution declarations with their collection state."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
