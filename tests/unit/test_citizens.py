"""Rules about citizens: age and priority groups, and what registration input is accepted."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.citizens import (
    INVALID_DISABILITY,
    INVALID_INCOME_GROUP,
    INVALID_NAME,
    INVALID_PHONE,
    UNKNOWN_REGION_CODE,
    CitizenProfile,
    IncomeGroup,
    PriorityGroup,
    RegistrationInput,
    age_on,
    check_disability,
    check_registration,
    local_date,
    mask_name,
    parse_income_group,
    parse_name,
    parse_phone,
    parse_region_code,
    priority_groups,
    priority_groups_at,
    validate_registration,
)
from quan.domain.errors import QuanError
from quan.domain.resident_id import INVALID_RESIDENT_ID
from tests.citizen_samples import resident_id

TODAY = date(2026, 11, 25)
NUMBER = resident_id("330106", date(1966, 11, 26), 123)  # turns 60 on 2026-11-26


def profile(birth: date = date(1990, 5, 1), **kw: object) -> CitizenProfile:
    return CitizenProfile(birth_date=birth, region_code="330106", **kw)  # type: ignore[arg-type]


def refused(spec: object, call: object) -> QuanError:
    with pytest.raises(QuanError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.spec is spec
    return caught.value


# --- age and priority groups -------------------------------------------------------------


def test_age_counts_completed_years_and_turns_on_the_birthday() -> None:
    assert age_on(date(1966, 11, 26), date(2026, 11, 25)) == 59
    assert age_on(date(1966, 11, 26), date(2026, 11, 26)) == 60


def test_someone_born_on_29_february_gets_older_on_1_march_in_common_years() -> None:
    assert age_on(date(1964, 2, 29), date(2025, 2, 28)) == 60
    assert age_on(date(1966, 2, 28), date(2026, 2, 28)) == 60
    assert age_on(date(1964, 2, 29), date(2023, 2, 28)) == 58
    assert age_on(date(1964, 2, 29), date(2023, 3, 1)) == 59


def test_age_is_never_negative() -> None:
    assert age_on(date(2026, 1, 1), date(2025, 1, 1)) == 0


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 120))
def test_age_on_the_nth_birthday_is_n(birth: date, years: int) -> None:
    try:
        birthday = birth.replace(year=birth.year + years)
    except ValueError:  # 29 February in a common year: the birthday is 1 March
        birthday = date(birth.year + years, 3, 1)
    assert age_on(birth, birthday) == years


def test_elderly_from_the_60th_birthday_in_the_programs_time_zone() -> None:
    senior = profile(date(1966, 11, 26))
    # 16:00 UTC on the 25th is midnight of the 26th in Shanghai, still the 25th in UTC.
    midnight_shanghai = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert PriorityGroup.ELDERLY in priority_groups_at(senior, midnight_shanghai, "Asia/Shanghai")
    assert PriorityGroup.ELDERLY not in priority_groups_at(senior, midnight_shanghai, "UTC")
    assert local_date(midnight_shanghai) == date(2026, 11, 26)


def test_low_income_group_covers_low_income_and_subsistence_households() -> None:
    assert priority_groups(profile(income_group=IncomeGroup.LOW_INCOME), TODAY) == {
        PriorityGroup.LOW_INCOME
    }
    assert priority_groups(profile(income_group=IncomeGroup.SUBSISTENCE), TODAY) == {
        PriorityGroup.LOW_INCOME
    }
    assert priority_groups(profile(), TODAY) == frozenset()


def test_a_person_can_belong_to_every_priority_group_at_once() -> None:
    everyone = profile(date(1940, 1, 1), income_group=IncomeGroup.SUBSISTENCE, disabled=True)
    assert priority_groups(everyone, TODAY) == set(PriorityGroup)


def test_local_date_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2026, 1, 1))


# --- phone, name, region, attributes -------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        " 138 1234 5678 ",
        "138-1234-5678",
        "+8613812345678",
        "008613812345678",
        "8613812345678",
        "１３８１２３４５６７８",
    ],
)
def test_phone_numbers_are_accepted_as_people_type_them(typed: str) -> None:
    assert parse_phone(typed) == "13812345678"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12812345678",
        "1381234567",
        "138123456789",
        "0571-87654321",
        "abc",
        "1381234567x",
        "+1 415 555 0100",
        "١٣٨١٢٣٤٥٦٧٨",
    ],
)
def test_malformed_phone_numbers_are_refused_without_echoing_them(typed: str) -> None:
    error = refused(INVALID_PHONE, lambda: parse_phone(typed))
    assert error.params == {}


def test_names_are_trimmed_and_inner_spaces_collapsed() -> None:
    assert parse_name("  欧阳   娜娜 ") == "欧阳 娜娜"
    assert parse_name("阿依古丽·买买提") == "阿依古丽·买买提"


@pytest.mark.parametrize("typed", ["", "   ", "张3", "110105194912310021", "a\x00b", "字" * 65])
def test_a_name_with_digits_control_characters_or_no_letters_is_refused(typed: str) -> None:
    refused(INVALID_NAME, lambda: parse_name(typed))


def test_masked_names_keep_only_the_first_character() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "*"


def test_region_codes_must_be_known_divisions() -> None:
    assert parse_region_code(" 330106 ") == "330106"
    for typed in ("999999", "33010", "3301066", "abcdef", ""):
        refused(UNKNOWN_REGION_CODE, lambda typed=typed: parse_region_code(typed))


def test_income_groups_are_read_by_code_or_chinese_name_and_blank_means_normal() -> None:
    assert parse_income_group("低保") is IncomeGroup.SUBSISTENCE
    assert parse_income_group("LOW_INCOME") is IncomeGroup.LOW_INCOME
    assert parse_income_group(" ") is IncomeGroup.NORMAL
    assert parse_income_group(None) is IncomeGroup.NORMAL
    refused(INVALID_INCOME_GROUP, lambda: parse_income_group("rich"))


def test_a_disability_grade_is_1_to_4_and_only_for_a_disabled_person() -> None:
    assert check_disability(True, 2) == (True, 2)
    assert check_disability(True, None) == (True, None)
    assert check_disability(False, None) == (False, None)
    refused(INVALID_DISABILITY, lambda: check_disability(False, 2))
    refused(INVALID_DISABILITY, lambda: check_disability(True, 5))
    refused(INVALID_DISABILITY, lambda: check_disability(True, 0))


# --- a whole registration ----------------------------------------------------------------


def raw(**overrides: object) -> RegistrationInput:
    values: dict[str, object] = {
        "resident_id": NUMBER,
        "name": "王芳",
        "region_code": "330106",
        "phone": "13812345678",
    }
    values.update(overrides)
    return RegistrationInput(**values)  # type: ignore[arg-type]


def test_a_valid_registration_takes_the_birth_date_from_the_id_number() -> None:
    registration = validate_registration(raw(), today=TODAY)
    assert registration.resident_id.birth_date == date(1966, 11, 26)
    assert registration.profile.birth_date == date(1966, 11, 26)
    assert registration.income_group is IncomeGroup.NORMAL


def test_every_failing_field_is_reported_not_only_the_first() -> None:
    bad = raw(resident_id=NUMBER[:-1] + "0", name="张3", region_code="999999", phone="123")
    registration, errors = check_registration(bad, today=TODAY)
    assert registration is None
    assert {(e.field, e.error.code) for e in errors} == {
        ("resident_id", "INVALID_RESIDENT_ID"),
        ("name", "INVALID_NAME"),
        ("region_code", "UNKNOWN_REGION_CODE"),
        ("phone", "INVALID_PHONE"),
    }


def test_a_refused_registration_names_the_field_and_the_id_reason_but_not_the_number() -> None:
    error = refused(
        INVALID_RESIDENT_ID,
        lambda: validate_registration(raw(resident_id=NUMBER[:-1] + "0"), today=TODAY),
    )
    assert error.params["field"] == "resident_id"
    assert error.params["reason"] == "check_digit"
    assert NUMBER not in str(error.params)
    assert NUMBER[:-1] not in str(error)


def test_a_blank_phone_means_no_phone() -> None:
    assert validate_registration(raw(phone="  "), today=TODAY).phone is None


def test_the_repr_of_a_registration_shows_no_personal_data() -> None:
    registration = validate_registration(raw(), today=TODAY)
    text = repr(registration)
    assert NUMBER not in text
    assert "王芳" not in text
    assert "13812345678" not in text
