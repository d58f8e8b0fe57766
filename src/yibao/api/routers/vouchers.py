"""Vouchers: confirm a printed document by its verification code."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["vouchers"])
