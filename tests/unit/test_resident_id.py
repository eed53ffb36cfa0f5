"""Rules of the GB 11643 resident ID number: what is accepted, what is refused and why."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from quan.domain.errors import Kind, QuanError
from quan.domain.resident_id import (
    INVALID_RESIDENT_ID,
    ResidentId,
    Sex,
    check_character,
    is_known_region_code,
    mask_resident_id,
    parse_resident_id,
)

TODAY = date(2026, 1, 15)

# Published examples (GB 11643 annex and python-stdnum's tests).
VALID = {
    "11010519491231002X": (date(1949, 12, 31), "110105", Sex.FEMALE),
    "360426199101010071": (date(1991, 1, 1), "360426", Sex.MALE),
    "44011320141005001X": (date(2014, 10, 5), "440113", Sex.MALE),
    "412723199010050012": (date(1990, 10, 5), "412723", Sex.MALE),
}

# Region codes from the table that exist today, for generated numbers.
REGIONS = ["110105", "310115", "440305", "510104", "650102", "330106", "810000"]


def with_check(first17: str) -> str:
    """A number completed with its check character, computed by python-stdnum (an oracle
    independent of the module under test)."""
    return first17 + ric.calc_check_digit(first17 + "0")


def reason_for(text: str, today: date = TODAY) -> str:
    with pytest.raises(QuanError) as caught:
        parse_resident_id(text, today=today)
    assert caught.value.spec is INVALID_RESIDENT_ID
    return str(caught.value.params["reason"])


@pytest.mark.parametrize(("text", "facts"), VALID.items())
def test_published_numbers_are_valid_and_decoded(text: str, facts: tuple[date, str, Sex]) -> None:
    parsed = parse_resident_id(text, today=TODAY)
    assert (parsed.birth_date, parsed.region_code, parsed.sex) == facts
    assert parsed.number == text


def test_lower_case_x_is_normalized_to_upper_case() -> None:
    assert parse_resident_id("11010519491231002x", today=TODAY).number == "11010519491231002X"


def test_spaces_and_full_width_characters_are_accepted() -> None:
    assert parse_resident_id(" 110105 19491231 002X ", today=TODAY).number == "11010519491231002X"
    full_width = "１１０１０５１９４９１２３１００２Ｘ"
    assert parse_resident_id(full_width, today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002X1",  # 19 characters
        "1101051949123100XX",  # X before the last place
        "11010519491231002Y",  # a letter other than X
        "A1010519491231002X",
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits are digits to Python, not to GB 11643
    ],
)
def test_malformed_text_is_refused_as_format(text: str) -> None:
    assert reason_for(text) == "format"


def test_every_single_digit_change_is_refused_as_check_digit() -> None:
    valid = "11010519491231002X"
    for position in range(17):
        for digit in "0123456789":
            if digit != valid[position]:
                mutated = valid[:position] + digit + valid[position + 1 :]
                assert reason_for(mutated) == "check_digit", mutated


def test_every_adjacent_transposition_is_refused_as_check_digit() -> None:
    valid = "360426199101010071"
    for position in range(16):
        a, b = valid[position], valid[position + 1]
        if a != b:
            swapped = valid[:position] + b + a + valid[position + 2 :]
            assert reason_for(swapped) == "check_digit", swapped


def test_wrong_check_character_is_refused() -> None:
    assert reason_for("110105194912310021") == "check_digit"


@pytest.mark.parametrize(
    "birth",
    ["19490230", "19491301", "19490000", "20230229"],
)
def test_date_that_does_not_exist_is_refused_as_birth_date(birth: str) -> None:
    assert reason_for(with_check("110105" + birth + "002")) == "birth_date"


def test_birth_date_after_today_is_refused() -> None:
    tomorrow = TODAY + timedelta(days=1)
    assert reason_for(with_check("110105" + tomorrow.strftime("%Y%m%d") + "002")) == "birth_date"


def test_person_born_today_is_accepted() -> None:
    number = with_check("110105" + TODAY.strftime("%Y%m%d") + "002")
    assert parse_resident_id(number, today=TODAY).birth_date == TODAY


def test_birth_before_1900_is_refused_and_1900_is_accepted() -> None:
    assert reason_for(with_check("11010518991231002")) == "birth_date"
    assert parse_resident_id(with_check("11010519000101002"), today=TODAY).birth_date == date(
        1900, 1, 1
    )


@pytest.mark.parametrize("region", ["990426", "110199", "000000", "100000"])
def test_region_code_not_in_the_division_table_is_refused(region: str) -> None:
    assert reason_for(with_check(region + "19900101002")) == "region"


def test_region_code_created_after_the_birth_year_is_accepted() -> None:
    # 110111 (房山区) exists since 1986; numbers take the code in force when first assigned,
    # so a person born in 1980 can hold it. python-stdnum refuses this number.
    number = "110111198012010078"
    assert not ric.is_valid(number)
    assert parse_resident_id(number, today=TODAY).region_code == "110111"


def test_code_of_an_abolished_division_is_accepted() -> None:
    # 110103 (崇文区) was merged away in 2010; numbers issued before are never reissued.
    parsed = parse_resident_id(with_check("11010319650302003"), today=TODAY)
    assert parsed.region_code == "110103"


def test_taiwan_residence_permit_code_is_accepted() -> None:
    assert parse_resident_id(with_check("83000019880808002"), today=TODAY).region_code == "830000"


def test_odd_sequence_digit_is_male_and_even_is_female() -> None:
    assert parse_resident_id(with_check("11010519900101001"), today=TODAY).sex is Sex.MALE
    assert parse_resident_id(with_check("11010519900101002"), today=TODAY).sex is Sex.FEMALE


def test_refusal_is_an_invalid_input_error_that_does_not_carry_the_number() -> None:
    with pytest.raises(QuanError) as caught:
        parse_resident_id("110105194912310021", today=TODAY)
    error = caught.value
    assert error.code == "INVALID_RESIDENT_ID"
    assert error.kind is Kind.INVALID
    assert "110105194912310021" not in str(error)
    assert "110105194912310021" not in repr(error.params)
    assert error.message("zh") == "居民身份证号码无效，请核对后重新输入"
    assert "resident ID number is not valid" in error.message("en")


def test_mask_keeps_only_the_first_three_characters() -> None:
    assert mask_resident_id("11010519491231002X") == "110" + "*" * 15
    assert mask_resident_id("11010519491231002x") == "110" + "*" * 15


def test_mask_hides_short_text_entirely() -> None:
    assert mask_resident_id("1101052") == "*******"


def test_repr_of_a_resident_id_does_not_show_the_number() -> None:
    parsed = parse_resident_id("11010519491231002X", today=TODAY)
    assert "19491231" not in repr(parsed)
    assert parsed.masked in repr(parsed)


def test_check_character_needs_seventeen_digits() -> None:
    with pytest.raises(ValueError, match="17 digits"):
        check_character("1234")


def test_region_lookup_refuses_what_is_not_six_digits() -> None:
    assert is_known_region_code("110105")
    assert not is_known_region_code("11010")
    assert not is_known_region_code("11010A")


@st.composite
def resident_numbers(draw: st.DrawFn) -> tuple[str, date, str, int]:
    region = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(min_value=0, max_value=999))
    return with_check(f"{region}{birth:%Y%m%d}{sequence:03d}"), birth, region, sequence


@given(resident_numbers())
def test_any_well_formed_number_is_decoded(case: tuple[str, date, str, int]) -> None:
    number, birth, region, sequence = case
    parsed = parse_resident_id(number, today=TODAY)
    assert parsed == ResidentId(
        number=number,
        birth_date=birth,
        region_code=region,
        sex=Sex.MALE if sequence % 2 else Sex.FEMALE,
    )
    assert check_character(number[:17]) == number[17]


@given(resident_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_character_change_is_refused(
    case: tuple[str, date, str, int], position: int, replacement: str
) -> None:
    number = case[0]
    mutated = number[:position] + replacement + number[position + 1 :]
    if mutated != number:
        with pytest.raises(QuanError):
            parse_resident_id(mutated, today=TODAY)
