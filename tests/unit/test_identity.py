"""Identity validators: resident ID (GB 11643), unified social credit code (GB 32100),
bank card numbers (Luhn), mainland mobile phones and personal names, and the
bilingual errors they raise."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.domain import errors
from yibao.domain.identity import (
    NAME_MAX,
    id_number_of,
    parse_id_number,
    same_name,
    validate_bank_account_no,
    validate_name,
    validate_phone,
    validate_uscc,
    with_luhn_digit,
    with_ric_digit,
    with_uscc_digit,
)

# Birth-place codes that exist in GB/T 2260 for every birth year from 1950 to 2010.
PLACES = {"110101": "北京市东城区", "110105": "北京市朝阳区", "110108": "北京市海淀区", "310104": "上海市徐汇区"}
DIGITS = "0123456789"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z


def replace_at(text: str, index: int, char: str) -> str:
    return text[:index] + char + text[index + 1 :]


@st.composite
def id_bodies(draw):
    """The first 17 characters of a resident ID: place, birth date, sequence."""
    place = draw(st.sampled_from(sorted(PLACES)))
    birth = draw(st.dates(dt.date(1950, 1, 1), dt.date(2010, 12, 31)))
    sequence = draw(st.integers(0, 999))
    return place + birth.strftime("%Y%m%d") + f"{sequence:03d}", place, birth, sequence


@st.composite
def one_character_changed(draw, valid: st.SearchStrategy[str], alphabet_at):
    """A valid number with one character replaced by a different allowed one."""
    number = draw(valid)
    index = draw(st.integers(0, len(number) - 1))
    other = draw(st.sampled_from([c for c in alphabet_at(index, len(number)) if c != number[index]]))
    return number, replace_at(number, index, other)


# --- resident ID -------------------------------------------------------------


@given(id_bodies())
def test_resident_id_with_its_check_digit_parses_to_birth_date_sex_and_place(body_parts):
    body, place, birth, sequence = body_parts

    resident = parse_id_number(with_ric_digit(body))

    assert resident.number[:17] == body
    assert resident.birth_date == birth
    assert resident.sex == ("male" if sequence % 2 else "female")
    assert resident.birth_place == PLACES[place]


valid_ids = id_bodies().map(lambda parts: with_ric_digit(parts[0]))


@given(one_character_changed(valid_ids, lambda i, n: DIGITS + "X" if i == n - 1 else DIGITS))
def test_resident_id_with_one_character_changed_is_invalid(numbers):
    _, changed = numbers

    with pytest.raises(errors.IdNumberInvalid) as caught:
        parse_id_number(changed)

    assert caught.value.code == "person.id_number_invalid"


def test_resident_id_lowercase_x_and_surrounding_spaces_are_accepted():
    assert parse_id_number(" 11010519850312008x ").number == "11010519850312008X"


def test_resident_id_known_example():
    resident = parse_id_number("110105198503120258")

    assert (resident.birth_date, resident.sex, resident.birth_place) == (dt.date(1985, 3, 12), "male", "北京市朝阳区")


def test_place_code_of_any_period_is_accepted_whatever_the_birth_year():
    # 440305 (深圳市南山区) was created in 1983: a person born there in 1975 was issued the number later.
    assert parse_id_number("440305199001010018").birth_place == "广东省南山区"
    assert parse_id_number(with_ric_digit("44030519750101001")).birth_place == "广东省南山区"


def test_place_code_that_never_existed_is_invalid():
    with pytest.raises(errors.IdNumberInvalid) as caught:
        parse_id_number(with_ric_digit("11019919850312001"))  # 北京市 is known, county 99 never was

    assert caught.value.en == "The resident ID number is not valid: the place code does not exist in GB/T 2260"
    assert caught.value.zh == "身份证号码无效：地址码不存在"


def test_resident_id_with_impossible_birth_date_is_invalid():
    with pytest.raises(errors.IdNumberInvalid) as caught:
        parse_id_number(with_ric_digit("11010519850230001"))

    assert caught.value.zh == "身份证号码无效：出生日期不存在"


def test_resident_id_born_after_today_is_invalid():
    number = with_ric_digit("11010520300101001")
    assert parse_id_number(number).birth_date == dt.date(2030, 1, 1)  # no day given: the shape only

    with pytest.raises(errors.IdNumberInvalid) as caught:
        parse_id_number(number, today=dt.date(2026, 12, 1))

    assert caught.value.en == "The resident ID number is not valid: the birth date is in the future"


@pytest.mark.parametrize(
    ("raw", "reason_zh", "reason_en"),
    [
        ("11010519850312025", "位数不对", "wrong length"),
        ("", "位数不对", "wrong length"),
        ("1101051985031202A8", "含有不允许的字符", "contains characters that are not allowed"),
        ("110105198503120259", "校验位不符", "the check digit does not match"),
    ],
)
def test_resident_id_error_says_what_is_wrong_in_both_languages(raw, reason_zh, reason_en):
    with pytest.raises(errors.IdNumberInvalid) as caught:
        parse_id_number(raw)

    assert caught.value.zh == f"身份证号码无效：{reason_zh}"
    assert caught.value.en == f"The resident ID number is not valid: {reason_en}"


# --- unified social credit code ----------------------------------------------


@st.composite
def uscc_bodies(draw):
    kind = draw(st.sampled_from(["11", "12", "51", "52", "91", "92", "93"]))
    region = draw(st.sampled_from(sorted(PLACES)))
    organisation = draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return kind + region + organisation


valid_usccs = uscc_bodies().map(with_uscc_digit)


@given(uscc_bodies())
def test_uscc_with_its_check_character_is_valid(body):
    code = with_uscc_digit(body)

    assert len(code) == 18
    assert validate_uscc(code) == code
    assert validate_uscc(code.lower()) == code


@given(one_character_changed(valid_usccs, lambda i, n: USCC_ALPHABET))
def test_uscc_with_one_character_changed_is_invalid(codes):
    _, changed = codes

    with pytest.raises(errors.UsccInvalid) as caught:
        validate_uscc(changed)

    assert caught.value.code == "employer.uscc_invalid"


@pytest.mark.parametrize(
    ("raw", "reason_en"),
    [
        ("91110105MA0000001", "wrong length"),
        ("91110105MA000000I2", "contains characters that are not allowed"),
        ("91110105MA00000013", "the check digit does not match"),
    ],
)
def test_uscc_error_says_what_is_wrong(raw, reason_en):
    with pytest.raises(errors.UsccInvalid) as caught:
        validate_uscc(raw)

    assert caught.value.en == f"The unified social credit code is not valid: {reason_en}"


# --- bank card numbers ------------------------------------------------------------


bank_bodies = st.text(DIGITS, min_size=11, max_size=18)
valid_bank_numbers = bank_bodies.map(with_luhn_digit)


@given(bank_bodies)
def test_bank_number_with_its_luhn_digit_is_valid(body):
    number = with_luhn_digit(body)

    assert validate_bank_account_no(number) == number


@given(valid_bank_numbers)
def test_bank_number_typed_in_groups_of_four_is_accepted(number):
    grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))

    assert validate_bank_account_no(grouped) == number


@given(one_character_changed(valid_bank_numbers, lambda i, n: DIGITS))
def test_bank_number_with_one_digit_changed_is_invalid(numbers):
    _, changed = numbers

    with pytest.raises(errors.BankAccountInvalid) as caught:
        validate_bank_account_no(changed)

    assert caught.value.code == "bank_account.invalid"
    assert caught.value.en == "The bank account number is not valid: the check digit does not match"


@pytest.mark.parametrize(
    "raw",
    [with_luhn_digit("6222020000"), with_luhn_digit("6222020000000000000"), "", "6222 0200 0000 000A 018"],
    ids=["11 digits", "20 digits", "empty", "letter"],
)
def test_bank_number_must_be_12_to_19_digits(raw):
    with pytest.raises(errors.BankAccountInvalid) as caught:
        validate_bank_account_no(raw)

    assert caught.value.zh == "银行卡号无效：应为 12 至 19 位数字"


def test_bank_number_lengths_12_and_19_are_accepted():
    short, long = with_luhn_digit("62220200000"), with_luhn_digit("622202000000000001")

    assert (len(short), len(long)) == (12, 19)
    assert validate_bank_account_no(short) == short
    assert validate_bank_account_no(long) == long


# --- phones -------------------------------------------------------------------


mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(DIGITS, min_size=9, max_size=9),
)


@given(mobiles)
def test_mainland_mobile_is_accepted_as_typed_or_with_86_and_separators(phone):
    spaced = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    dashed = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"

    assert validate_phone(phone) == phone
    assert validate_phone("+86" + phone) == phone
    assert validate_phone("+86 " + spaced) == phone
    assert validate_phone(dashed) == phone


@given(st.text(DIGITS, min_size=11, max_size=11).filter(lambda p: not (p[0] == "1" and p[1] in "3456789")))
def test_eleven_digits_not_starting_13_to_19_are_refused(phone):
    with pytest.raises(errors.PhoneInvalid):
        validate_phone(phone)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1381234567",
        "138123456789",
        "12812345678",
        "8613812345678",
        "+85213812345678",
        "13812a45678",
        "１３８１２３４５６７８",
        "1381234５６７８",
        "138١٢٣٤٥٦٧٨",
    ],
)
def test_other_phones_are_refused(raw):
    # Regression: "\d" matched full-width and Arabic-Indic digits, which were then stored as typed.
    with pytest.raises(errors.PhoneInvalid) as caught:
        validate_phone(raw)

    assert caught.value.code == "person.phone_invalid"


# --- names ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["张三", "欧阳娜娜", "阿卜杜·热合曼", "买买提•吐尔逊", "Li Na", "张" * NAME_MAX])
def test_personal_name_is_accepted(name):
    assert validate_name(name) == name


@given(st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=NAME_MAX))
def test_any_chinese_name_up_to_the_limit_is_accepted(name):
    assert validate_name(name) == name


def test_name_is_trimmed():
    assert validate_name("  阿卜杜·热合曼 ") == "阿卜杜·热合曼"


@pytest.mark.parametrize("name", ["", "   ", "张3", "张三!", "张_三", "李@", "张" * (NAME_MAX + 1), "·", " · "])
def test_name_with_digits_symbols_or_no_letters_is_refused(name):
    # Regression: a name of nothing but middle dots used to pass.
    with pytest.raises(errors.NameInvalid) as caught:
        validate_name(name)

    assert caught.value.code == "person.name_invalid"
    assert str(NAME_MAX) in caught.value.zh


def test_same_name_ignores_surrounding_whitespace_and_case():
    assert same_name(" 张三 ", "张三")
    assert same_name("Li Na", "  li na")
    assert same_name("Zoe\u0301", "zoé")  # decomposed and composed é


def test_same_name_tells_different_names_apart():
    assert not same_name("张三", "张四")
    assert not same_name("Li Na", "LiNa")


# --- bilingual messages ---------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: parse_id_number("123"),
        lambda: validate_uscc("123"),
        lambda: validate_bank_account_no("123"),
        lambda: validate_phone("123"),
        lambda: validate_name("123"),
    ],
    ids=["id_number", "uscc", "bank", "phone", "name"],
)
def test_identity_errors_carry_chinese_and_english_messages(call):
    with pytest.raises(errors.DomainError) as caught:
        call()

    zh, en = caught.value.zh, caught.value.en
    assert zh and en and zh != en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
    assert en.isascii()


@pytest.mark.parametrize("raw", [
    "11010519491231002X",  # valid
    "110105194912310021",  # check digit wrong
    "110105194913310021",  # no 13th month
    "999999199001010016",  # no such place
    "110199199001010010",  # no such county in a known province
    "210202195806121713",  # a place code given in 1983 to a person born in 1958
    "11010519491231002x",  # lower-case x: not compact, still valid
    " 11010519491231002X",  # not compact
    "1101051949123100",  # too short
    "",
])
def test_the_quick_id_check_answers_as_the_full_one(raw):
    def outcome(check):
        try:
            return check(raw)
        except errors.DomainError as exc:
            return exc.code, exc.zh, exc.en

    assert outcome(id_number_of) == outcome(lambda r: parse_id_number(r).number)
