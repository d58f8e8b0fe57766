"""GB/T 2260 region names and parents, and the masking of ID numbers, phones and bank
numbers shown to anyone but their owner."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain import errors
from yibao.domain.masking import mask_account_no, mask_id_number, mask_phone
from yibao.domain.regions import parents, region_name, validate_region

DIGITS = "0123456789"

# --- regions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110000", "北京市"),
        ("310000", "上海市"),
        ("410000", "河南省"),
        ("210200", "大连市"),
        ("210100", "沈阳市"),
        ("110100", "北京市"),
        ("110105", "朝阳区"),
        ("440305", "南山区"),
    ],
)
def test_region_name_of_a_known_code(code, name):
    assert region_name(code) == name
    assert validate_region(code) == code


@pytest.mark.parametrize("code", ["999999", "12345", "1100000", "abcdef", "", "110103"])
def test_unknown_or_retired_code_has_no_name_and_is_refused(code):
    # 110103 (崇文区) was merged into 东城区 in 2010.
    assert region_name(code) is None
    with pytest.raises(errors.RegionUnknown) as caught:
        validate_region(code)

    assert caught.value.code == "region.unknown"
    assert caught.value.facts == {}  # the code given is not repeated back
    assert not code or code not in caught.value.en


def test_parents_of_a_district_run_from_it_to_its_province():
    assert parents("110105") == ["110105", "110100", "110000"]
    assert parents("210202") == ["210202", "210200", "210000"]


def test_parents_of_a_prefecture_and_of_a_province_do_not_repeat():
    assert parents("210200") == ["210200", "210000"]
    assert parents("410000") == ["410000"]


# --- masking ---------------------------------------------------------------------


def test_id_number_keeps_first_four_and_last_four():
    assert mask_id_number("110105198503120258") == "1101**********0258"
    assert mask_id_number("11010519850312008X") == "1101**********008X"


def test_phone_keeps_first_three_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


def test_phone_of_another_length_is_masked_entirely():
    assert mask_phone("0105551234") == "**********"


def test_account_number_keeps_last_four():
    assert mask_account_no("6222020000000000018") == "***************0018"


id_numbers = st.builds(str.__add__, st.text(DIGITS, min_size=17, max_size=17), st.sampled_from(DIGITS + "X"))
phones = st.text(DIGITS, min_size=11, max_size=11)
account_numbers = st.text(DIGITS, min_size=12, max_size=19)


@given(id_numbers)
def test_masked_id_number_hides_the_birth_date_and_sequence(number):
    masked = mask_id_number(number)

    assert len(masked) == len(number)
    assert number not in masked
    assert masked[4:14] == "*" * 10
    assert (masked[:4], masked[-4:]) == (number[:4], number[-4:])


@given(phones)
def test_masked_phone_never_shows_the_whole_number(phone):
    masked = mask_phone(phone)

    assert len(masked) == len(phone)
    assert phone not in masked
    assert masked[3:7] == "****"


@given(account_numbers)
def test_masked_account_number_never_shows_the_whole_number(number):
    masked = mask_account_no(number)

    assert len(masked) == len(number)
    assert number not in masked
    assert masked == "*" * (len(number) - 4) + number[-4:]
