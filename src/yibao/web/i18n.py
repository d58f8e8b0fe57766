"""Languages of the pages: zh-CN first, English by the switch or the browser's Accept-Language.

Texts come from Babel message catalogs (`web/locale/<locale>/LC_MESSAGES/messages.po`, compiled to `.mo` by
`make`); money and dates are formatted by Babel for the chosen locale. A catalog not compiled yet is compiled
in memory from its `.po`, so a fresh checkout serves the same texts."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "yibao_lang"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
CHINA = dates.get_timezone("Asia/Shanghai")


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page's locale: `?lang=`, then the switch's cookie, then the browser's preference, then zh-CN."""
    for asked in (query, cookie):
        found = _known(asked)
        if found:
            return found
    for part in (accept_language or "").split(","):
        found = _known(part.split(";")[0].strip())
        if found:
            return found
    return DEFAULT


def _known(tag: str | None) -> str | None:
    tag = (tag or "").strip().replace("-", "_").lower()
    if not tag:
        return None
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


@cache
def translations(locale: str) -> Translations:
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    mo, po = folder / "messages.mo", folder / "messages.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp)
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(locale: str, message: str, **values) -> str:
    text = translations(locale).gettext(message)
    return text % values if values else text


def money(fen: int | None, locale: str) -> str:
    """Integer fen as the locale writes yuan: ¥1,234.56 (zh-CN)."""
    if fen is None:
        return "—"
    return numbers.format_currency(Decimal(int(fen)) / 100, "CNY", locale=locale)


def day(value: dt.date | dt.datetime | str | None, locale: str) -> str:
    """A date as the locale writes it: 2026年3月2日 (zh-CN), March 2, 2026 (en)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = _in_china(value).date()
    return dates.format_date(value, format="long", locale=locale)


def _in_china(value: dt.datetime) -> dt.datetime:
    """A moment in China's time (UTC+8); a moment without a zone is taken as UTC, as the store keeps them."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(CHINA)


def moment(value: dt.datetime | str | None, locale: str) -> str:
    """A time of day with its date, in China's time (UTC+8), as the locale writes it."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return dates.format_datetime(_in_china(value), format="medium", tzinfo=CHINA, locale=locale)


def language_name(locale: str) -> str:
    return Locale.parse(locale).get_display_name(locale)
