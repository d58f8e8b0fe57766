"""Identity numbers: resident ID (GB 11643), unified social credit code (GB 32100),
mainland mobile phones, bank card numbers (Luhn), and personal names.

Validation is python-stdnum's; this module turns its exceptions into domain errors
that say what is wrong in Chinese and English. A resident ID's place code is checked
against every period of the GB/T 2260 history that python-stdnum ships (its cn/loc
data): the code is where the number was issued, often years after the birth, so a
code that exists in any period is a real one.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass

from stdnum import luhn, numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from yibao.domain import errors

_REASONS: dict[type[ValidationError], tuple[str, str]] = {
    InvalidLength: ("位数不对", "wrong length"),
    InvalidFormat: ("含有不允许的字符", "contains characters that are not allowed"),
    InvalidChecksum: ("校验位不符", "the check digit does not match"),
}
_BIRTH_DATE_UNREAL = {"reason_zh": "出生日期不存在", "reason_en": "the birth date does not exist"}
_BIRTH_DATE_AHEAD = {"reason_zh": "出生日期晚于今天", "reason_en": "the birth date is in the future"}
_PLACE_UNKNOWN = {"reason_zh": "地址码不存在", "reason_en": "the place code does not exist in GB/T 2260"}
_MALFORMED = {"reason_zh": "格式不正确", "reason_en": "malformed"}


def _reason(exc: ValidationError) -> dict[str, str]:
    for kind, (zh, en) in _REASONS.items():
        if isinstance(exc, kind):
            return {"reason_zh": zh, "reason_en": en}
    return dict(_MALFORMED)


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "male" | "female"
    birth_place: str


def _place_names(code: str) -> dict[str, str]:
    """python-stdnum's GB/T 2260 entries for a 6-digit place code: province and county (the county with
    the periods of its names, e.g. "[-1991]东郊区,[1992-]东丽区"); no county when the code never existed."""
    return {k: v for _, props in numdb.get("cn/loc").info(code) for k, v in props.items()}


@functools.lru_cache(maxsize=8192)
def place_code_known(code: str) -> bool:
    """Whether a 6-digit place code exists in any period of the GB/T 2260 history."""
    return len(code) == 6 and code.isdigit() and "county" in _place_names(code)


def _county_name(periods: str, year: int) -> str:
    """The county's name in force in a year, else its latest one: "[1983-]中山区" → "中山区"."""
    named = []
    for entry in periods.split(","):
        if entry.startswith("[") and "]" in entry:
            span, name = entry[1:].split("]", 1)
            start, _, end = span.partition("-")
            named.append((int(start or 0), int(end or 9999), name))
        else:
            named.append((0, 9999, entry))
    return next((name for start, end, name in named if start <= year <= end), named[-1][2])


def _check_id_number(raw: str) -> tuple[str, dt.date]:
    try:
        number = ric.compact(raw or "")
        if len(number) != 18:
            raise InvalidLength()
        if not number[:-1].isdigit() or not number[:-1].isascii():
            raise InvalidFormat()
        if number[-1] != ric.calc_check_digit(number):
            raise InvalidChecksum()
    except ValidationError as exc:
        raise errors.IdNumberInvalid(**_reason(exc)) from None
    except Exception:  # whatever else the library raises on odd input is still bad input, never a crash
        raise errors.IdNumberInvalid(**_MALFORMED) from None
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise errors.IdNumberInvalid(**_BIRTH_DATE_UNREAL) from None
    if not place_code_known(number[:6]):
        raise errors.IdNumberInvalid(**_PLACE_UNKNOWN)
    return number, birth


def parse_id_number(raw: str, *, today: dt.date | None = None) -> ResidentId:
    """Validate an 18-digit resident ID (check digit, a real birth date not after today, a place code of
    any GB/T 2260 period); derive birth date, sex and place."""
    number, birth = _check_id_number(raw)
    if today is not None and birth > today:
        raise errors.IdNumberInvalid(**_BIRTH_DATE_AHEAD)
    info = _place_names(number[:6])
    place = info.get("province", "") + _county_name(info["county"], birth.year)
    sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number, birth, sex, place)


_COMPACT_ID = re.compile(r"[0-9]{17}[0-9X]")


def id_number_of(raw: str) -> str:
    """The validated ID number, as parse_id_number checks it; quick for numbers already written compactly
    (a contribution file holds millions), which skip python-stdnum's cleaning and take the place code's
    answer from a cache. Anything else goes through parse_id_number and its errors."""
    if raw and _COMPACT_ID.fullmatch(raw) and raw[-1] == ric.calc_check_digit(raw):
        try:
            dt.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
        except ValueError:
            return parse_id_number(raw).number
        if place_code_known(raw[:6]):
            return raw
    return parse_id_number(raw).number


def validate_uscc(raw: str) -> str:
    try:
        return uscc.validate(raw or "")
    except ValidationError as exc:
        raise errors.UsccInvalid(**_reason(exc)) from None


_PHONE = re.compile(r"1[3-9][0-9]{9}")


def validate_phone(raw: str) -> str:
    phone = re.sub(r"[\s-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _PHONE.fullmatch(phone):
        raise errors.PhoneInvalid()
    return phone


NAME_MAX = 50


def validate_name(raw: str) -> str:
    """A personal name: letters (any script), the middle dot of transliterated names, spaces."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    ok = 0 < len(name) <= NAME_MAX and any(ch.isalpha() for ch in name) and all(
        ch.isalpha() or ch in "·• " for ch in name
    )
    if not ok:
        raise errors.NameInvalid(max_length=NAME_MAX)
    return name


def same_name(a: str, b: str) -> bool:
    """Real-name comparison: NFC, case and surrounding whitespace do not count."""
    def norm(s: str) -> str:
        return unicodedata.normalize("NFC", s or "").strip().casefold()

    return norm(a) == norm(b)


def validate_bank_account_no(raw: str) -> str:
    number = re.sub(r"[\s-]", "", raw or "")
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise errors.BankAccountInvalid(reason_zh="应为 12 至 19 位数字", reason_en="must be 12 to 19 digits")
    try:
        luhn.validate(number)
    except ValidationError:
        raise errors.BankAccountInvalid(reason_zh="校验位不符", reason_en="the check digit does not match") from None
    return number


def with_luhn_digit(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def with_ric_digit(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def with_uscc_digit(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)
