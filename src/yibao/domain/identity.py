"""Identity numbers: resident ID (GB 11643), unified social credit code (GB 32100),
mainland mobile phones, bank card numbers (Luhn), and personal names.

Validation is python-stdnum's; this module turns its exceptions into domain errors
that say what is wrong in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from stdnum import luhn
from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from yibao.domain import errors

_REASONS: dict[type[ValidationError], tuple[str, str]] = {
    InvalidLength: ("位数不对", "wrong length"),
    InvalidFormat: ("含有不允许的字符", "contains characters that are not allowed"),
    InvalidChecksum: ("校验位不符", "the check digit does not match"),
    InvalidComponent: ("出生日期或地址码不存在", "the birth date or place code does not exist"),
}


def _reason(exc: ValidationError) -> dict[str, str]:
    for kind, (zh, en) in _REASONS.items():
        if isinstance(exc, kind):
            return {"reason_zh": zh, "reason_en": en}
    return {"reason_zh": "格式不正确", "reason_en": "malformed"}


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: dt.date
    sex: str  # "male" | "female"
    birth_place: str


def parse_id_number(raw: str) -> ResidentId:
    """Validate an 18-digit resident ID; derive birth date and sex."""
    try:
        number = ric.validate(raw or "")
    except ValidationError as exc:
        raise errors.IdNumberInvalid(**_reason(exc)) from None
    info = ric.get_birth_place(number)
    place = "".join(v for k, v in info.items() if k in ("province", "county"))
    sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number, ric.get_birth_date(number), sex, place)


_COMPACT_ID = re.compile(r"[0-9]{17}[0-9X]")


_PLACES_KNOWN: dict[tuple[str, int], bool] = {}


def _place_known(number: str, year: int) -> bool:
    """Whether the number's place code existed in its birth year (python-stdnum's rule), looked up once
    per place and year."""
    key = (number[:6], year)
    if key not in _PLACES_KNOWN:
        if len(_PLACES_KNOWN) > 100_000:
            _PLACES_KNOWN.clear()
        try:
            ric.get_birth_place(number)
            _PLACES_KNOWN[key] = True
        except ValidationError:
            _PLACES_KNOWN[key] = False
    return _PLACES_KNOWN[key]


def id_number_of(raw: str) -> str:
    """The validated ID number, as parse_id_number checks it; quick for numbers already written compactly
    (a contribution file holds millions), which skip python-stdnum's cleaning and repeat its place lookup
    from a cache. Anything else goes through parse_id_number and its errors."""
    if raw and _COMPACT_ID.fullmatch(raw) and raw[-1] == ric.calc_check_digit(raw):
        try:
            year = dt.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14])).year
        except ValueError:
            year = None
        if year is not None and _place_known(raw, year):
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
