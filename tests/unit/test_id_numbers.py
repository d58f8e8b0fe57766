"""Resident ID numbers of real people: a place code is where the number was issued, often years after
the birth, so any code of the GB/T 2260 history is accepted whatever the birth year; a code that never
existed is refused with the ID number's error, never a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain import errors
from yibao.domain.identity import id_number_of, parse_id_number, place_code_known, with_ric_digit

# Districts that got their code in 1983 or later, with their name today.
LATE_CODES = {
    "210202": "辽宁省中山区",  # 大连市中山区, since 1983
    "440305": "广东省南山区",  # 深圳市, 南头区办事处 from 1983, 南山区 from 1990
    "110112": "北京市通州区",  # since 1997
    "110115": "北京市大兴区",  # since 2001
    "110118": "北京市密云区",  # since 2015
    "320583": "江苏省昆山市",  # since 1989
}
# Codes no period of GB/T 2260 ever had: a county unknown in a known province, an unknown province.
NEVER_CODES = ["110199", "210299", "990101", "000000"]


def test_the_dalian_number_of_a_man_born_in_1958_is_valid():
    resident = parse_id_number("210202195806121713")

    assert resident.birth_date == dt.date(1958, 6, 12)
    assert resident.sex == "male"
    assert resident.birth_place == "辽宁省中山区"
    assert id_number_of("210202195806121713") == "210202195806121713"


@given(code=st.sampled_from(sorted(LATE_CODES)), birth=st.dates(dt.date(1940, 1, 1), dt.date(1982, 12, 31)),
       sequence=st.integers(0, 999))
def test_people_born_1940_to_1982_in_districts_coded_later_are_accepted(code, birth, sequence):
    number = with_ric_digit(f"{code}{birth:%Y%m%d}{sequence:03d}")

    resident = parse_id_number(number, today=dt.date(2026, 12, 1))

    assert resident.number == number
    assert resident.birth_date == birth
    assert resident.birth_place == LATE_CODES[code]
    assert id_number_of(number) == number


@pytest.mark.parametrize("code", NEVER_CODES)
def test_a_code_that_never_existed_is_refused_by_both_checks(code):
    number = with_ric_digit(f"{code}19850312001")

    for check in (parse_id_number, id_number_of):
        with pytest.raises(errors.IdNumberInvalid) as caught:
            check(number)
        assert caught.value.facts["reason_en"] == "the place code does not exist in GB/T 2260"
        assert code not in caught.value.en and number not in caught.value.zh
    assert not place_code_known(code)


@given(raw=st.text(max_size=24))
def test_any_text_is_an_id_number_or_the_id_number_error(raw):
    try:
        resident = parse_id_number(raw)
    except errors.IdNumberInvalid as exc:
        assert exc.status == 422 and exc.code == "person.id_number_invalid"
    else:
        assert len(resident.number) == 18


@given(digits=st.text("0123456789X", min_size=18, max_size=18))
def test_any_eighteen_characters_are_an_id_number_or_the_id_number_error(digits):
    try:
        assert parse_id_number(digits).number == id_number_of(digits)
    except errors.IdNumberInvalid:
        with pytest.raises(errors.IdNumberInvalid):
            id_number_of(digits)
