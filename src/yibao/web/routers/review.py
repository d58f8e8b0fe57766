"""The reviewer's queue, /review: applications by filters, their documents inline, approve, reject or ask for a supplement (never one's own intake), and the bank batches: make, download, upload the return, retry."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from yibao.web import csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.guard)])
