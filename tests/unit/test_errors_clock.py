"""Every domain error has a stable unique code, a status and zh/en messages; the
injected clock reads naive times as Shanghai time and dates follow Shanghai's calendar."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest

from yibao.domain import errors
from yibao.domain.clock import SHANGHAI, SettableClock, SystemClock, local_date, today

# The categories that give a status; the errors a person sees are their subclasses.
CATEGORIES = {errors.NotFound, errors.Conflict, errors.Invalid, errors.Unauthorized, errors.Forbidden}


def all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


ERRORS = [
    cls
    for cls in all_subclasses(errors.DomainError)
    if cls.__module__ == errors.__name__ and cls not in CATEGORIES
]


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# --- errors --------------------------------------------------------------------


def test_the_error_catalogue_is_found():
    assert len(ERRORS) > 40
    assert {errors.CardLost, errors.PinLocked, errors.IdNumberInvalid} <= set(ERRORS)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_error_has_its_own_dotted_lowercase_code(cls):
    assert "code" in vars(cls)
    assert re.fullmatch(r"[a-z_]+\.[a-z_]+", cls.code)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_error_status_is_one_the_api_answers_with(cls):
    assert cls.status in {401, 403, 404, 409, 413, 422, 429, 503}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_error_message_reads_in_chinese_and_in_english(cls):
    facts = {name: "X" for name in template_fields(cls.message_zh) | template_fields(cls.message_en)}

    error = cls(**facts)

    assert error.zh and error.en and error.zh != error.en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.zh)
    assert error.en.isascii()
    assert str(error) == error.en


def test_error_codes_are_unique():
    codes = [cls.code for cls in ERRORS]

    assert sorted(code for code in set(codes) if codes.count(code) > 1) == []


def test_error_keeps_its_facts_and_fills_them_into_both_messages():
    error = errors.PinWrong(tries_left=2)

    assert error.facts == {"tries_left": 2}
    assert error.zh == "密码错误，还可尝试 2 次"
    assert error.en == "Wrong PIN; 2 tries left"


# --- clock ---------------------------------------------------------------------


def close_to(moment: dt.datetime, expected: dt.datetime) -> bool:
    return dt.timedelta(0) <= moment - expected < dt.timedelta(seconds=5)


def test_naive_time_set_on_the_clock_is_shanghai_time():
    clock = SettableClock()
    clock.set(dt.datetime(2026, 3, 2, 0, 30))

    assert close_to(clock.now(), dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))
    assert today(clock) == dt.date(2026, 3, 2)


def test_aware_time_set_on_the_clock_is_taken_as_given():
    clock = SettableClock(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))

    assert close_to(clock.now(), dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))


def test_clock_tells_utc_and_keeps_running_after_being_set():
    clock = SettableClock(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))

    first, second = clock.now(), clock.now()

    assert first.utcoffset() == dt.timedelta(0)
    assert second >= first


def test_system_clock_tells_utc():
    assert SystemClock().now().utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("utc", "shanghai_date"),
    [
        (dt.datetime(2026, 3, 1, 15, 59, tzinfo=dt.UTC), dt.date(2026, 3, 1)),
        (dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC), dt.date(2026, 3, 2)),
        (dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC), dt.date(2026, 3, 2)),
        (dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC), dt.date(2026, 1, 1)),
    ],
)
def test_local_date_follows_the_shanghai_calendar(utc, shanghai_date):
    assert local_date(utc) == shanghai_date


def test_local_date_of_a_shanghai_time_is_its_own_date():
    assert local_date(dt.datetime(2026, 3, 2, 0, 30, tzinfo=SHANGHAI)) == dt.date(2026, 3, 2)
