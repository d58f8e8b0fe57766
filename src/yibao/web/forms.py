"""What every console's forms share: each field's own message, dates, yuan and choices as typed, and the
documents a form carries. The messages never echo what was typed."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import Request
from starlette.datastructures import UploadFile

from yibao.domain import errors
from yibao.domain import vocabulary as v
from yibao.services.applications import documents
from yibao.web import render
from yibao.web.labels import N_

REQUIRED = N_("This field is required.")
BAD_DATE = N_("Give the date as YYYY-MM-DD.")
DATES_REVERSED = N_("The start must not be after the end.")
_YUAN = re.compile(r"^\d{1,9}(\.\d{1,2})?$")

Files = list[tuple[str, bytes, str]]


class FormErrors(dict):
    """Each field's own message, in the page's language (a domain error or a catalog message)."""

    def __init__(self, request: Request) -> None:
        super().__init__()
        self._ = render.gettext(request)

    def need(self, name: str, value: str) -> str:
        """The value without surrounding blanks; an empty one is marked required."""
        value = (value or "").strip()
        if not value:
            self[name] = self._(REQUIRED)
        return value

    def add(self, name: str, message: str | errors.DomainError) -> None:
        """Mark a field with a domain error or a catalog message (translated here)."""
        self[name] = message if isinstance(message, errors.DomainError) else self._(message)


def choices(request: Request, terms) -> list[tuple[str, str]]:
    """A vocabulary list as choices: (term, its label in the page's language)."""
    zh = render.locale_of(request) == "zh_CN"
    return [(t.value, t.zh if zh else t.en) for t in terms]


def fen_of(text: str) -> int | None:
    """Yuan as typed (12 or 12.5 or 12.50) in fen; None when it is not an amount."""
    text = (text or "").strip().replace(",", "")
    if not _YUAN.match(text):
        return None
    whole, _, part = text.partition(".")
    return int(whole) * 100 + int((part + "00")[:2])


def day_of(text: str) -> dt.date | None:
    """A date typed as YYYY-MM-DD; None when it is not one."""
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def typed_day(problems: FormErrors, name: str, raw: str) -> dt.date | None:
    """A date typed as YYYY-MM-DD (or nothing); a bad one marks its field."""
    if not (raw or "").strip():
        return None
    if (day := day_of(raw)) is None:
        problems.add(name, BAD_DATE)
    return day


def period(problems: FormErrors, date_from: str, date_to: str, *, names=("from", "to")):
    """Two dates typed (either may be empty); a bad one or a start after the end marks its field."""
    day_from, day_to = typed_day(problems, names[0], date_from), typed_day(problems, names[1], date_to)
    if day_from and day_to and day_from > day_to:
        problems.add(names[1], DATES_REVERSED)
    return day_from, day_to


async def uploads(request: Request) -> Files:
    """The files the form carries, one field per document type (`doc_<type>`), as (type, content, name)."""
    form = await request.form()
    found = []
    for type in v.DocumentType:
        for item in form.getlist(f"doc_{type.value}"):
            if isinstance(item, UploadFile) and item.filename:
                found.append((type.value, await item.read(), item.filename))
    return found


def file_problems(request: Request, files: Files) -> dict:
    """The refusal beside each file field whose file would not be accepted (nothing is kept yet)."""
    problems = {}
    for type, content, _name in files:
        try:
            documents.check(request.app.state.ctx, type=type, content=content)
        except (errors.DocumentInvalid, errors.DocumentTooLarge) as exc:
            problems[f"doc_{type}"] = exc
    return problems
