"""Reading an eligibility list: what a file must look like, and how each bad row is reported."""

from __future__ import annotations

from datetime import date

import pytest

from quan.domain.errors import QuanError
from quan.services.people.citizen_csv import (
    IMPORT_BAD_HEADER,
    IMPORT_EMPTY,
    IMPORT_MALFORMED,
    IMPORT_NOT_UTF8,
    ParsedFile,
    decode,
    parse,
)
from tests.citizen_samples import people

TODAY = date(2026, 11, 25)
A, B, C = list(people(3))


def parsed(text: str) -> ParsedFile:
    return parse(text, today=TODAY)


def refusal(text: str | bytes) -> QuanError:
    with pytest.raises(QuanError) as caught:
        parsed(decode(text) if isinstance(text, bytes) else text)
    return caught.value


def test_rows_are_validated_and_numbered_as_a_spreadsheet_shows_them() -> None:
    text = (
        "resident_id,name,region_code,phone\n"
        f"{A.resident_id},{A.name},{A.region_code},{A.phone}\n"
        f"{B.resident_id},{B.name},{B.region_code},\n"
    )
    result = parsed(text)
    assert result.rows_total == 2
    assert [v.row for v in result.valid] == [2, 3]
    assert result.valid[1].registration.phone is None


def test_chinese_column_names_and_an_excel_byte_order_mark_are_understood() -> None:
    text = "身份证号,姓名,行政区划代码,手机号,收入类别,残疾等级\n"
    text += f"{A.resident_id},{A.name},{A.region_code},{A.phone},低保,二级\n"
    result = parsed(decode(b"\xef\xbb\xbf" + text.encode()))
    (row,) = result.valid
    assert row.registration.income_group.value == "subsistence"
    assert (row.registration.disabled, row.registration.disability_grade) == (True, 2)


def test_each_bad_row_reports_row_field_and_code_and_never_the_value() -> None:
    broken_id = A.resident_id[:-1] + ("0" if A.resident_id[-1] != "0" else "1")
    text = (
        "resident_id,name,region_code,phone\n"
        f"{broken_id},{A.name},{A.region_code},{A.phone}\n"
        f"{B.resident_id},{B.name},999999,12345\n"
        f"{C.resident_id},{C.name},{C.region_code},{C.phone}\n"
    )
    result = parsed(text)
    assert [v.row for v in result.valid] == [4]
    assert {(e.row, e.field, e.code, e.reason) for e in result.errors} == {
        (2, "resident_id", "INVALID_RESIDENT_ID", "check_digit"),
        (3, "region_code", "UNKNOWN_REGION_CODE", None),
        (3, "phone", "INVALID_PHONE", None),
    }
    assert broken_id not in repr(result.errors)
    assert A.name not in repr(result.errors)


def test_blank_rows_are_skipped_but_still_counted_in_row_numbers() -> None:
    text = (
        f"resident_id,name,region_code\n\n{A.resident_id},{A.name},{A.region_code}\n,,\n"
        f"{B.resident_id},{B.name},{B.region_code}\n"
    )
    result = parsed(text)
    assert result.rows_total == 2
    assert [v.row for v in result.valid] == [3, 5]


def test_a_row_with_the_wrong_number_of_columns_is_an_error_of_that_row() -> None:
    text = f"resident_id,name,region_code\n{A.resident_id},{A.name}\n"
    result = parsed(text)
    assert [(e.row, e.field, e.code) for e in result.errors] == [(2, "*", "WRONG_COLUMN_COUNT")]


@pytest.mark.parametrize(
    ("disabled", "grade", "expected"),
    [
        ("是", "", (True, None)),
        ("", "4", (True, 4)),
        ("否", "", (False, None)),
        ("", "", (False, None)),
    ],
)
def test_disability_columns(disabled: str, grade: str, expected: tuple[bool, int | None]) -> None:
    text = "resident_id,name,region_code,disabled,disability_grade\n"
    text += f"{A.resident_id},{A.name},{A.region_code},{disabled},{grade}\n"
    (row,) = parsed(text).valid
    assert (row.registration.disabled, row.registration.disability_grade) == expected


@pytest.mark.parametrize(("disabled", "grade"), [("否", "2"), ("maybe", ""), ("", "五级")])
def test_contradictory_or_unreadable_disability_is_an_error(disabled: str, grade: str) -> None:
    text = "resident_id,name,region_code,disabled,disability_grade\n"
    text += f"{A.resident_id},{A.name},{A.region_code},{disabled},{grade}\n"
    (error,) = parsed(text).errors
    assert (error.field, error.code) == ("disability_grade", "INVALID_DISABILITY")


def test_a_file_not_in_utf8_is_refused_naming_the_line() -> None:
    text = f"resident_id,name,region_code\n{A.resident_id},{A.name},{A.region_code}\n"
    error = refusal(text.encode("gbk"))
    assert error.spec is IMPORT_NOT_UTF8
    assert error.params["line"] == 2


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", ",,,\n", "resident_id,name,region_code\n", "resident_id,name,region_code\n,,\n"],
)
def test_an_empty_file_or_a_header_alone_is_refused(text: str) -> None:
    assert refusal(text).spec is IMPORT_EMPTY


def test_a_wrong_header_names_what_is_missing_unknown_and_repeated() -> None:
    error = refusal(f"身份证号,name,姓名,地址\n{A.resident_id},{A.name},{A.name},x\n")
    assert error.spec is IMPORT_BAD_HEADER
    assert error.params["missing"] == ["region_code"]
    assert error.params["unknown_columns"] == [4]
    assert error.params["repeated"] == ["name"]


def test_a_file_without_a_header_is_refused_without_echoing_its_first_row() -> None:
    error = refusal(f"{A.resident_id},{A.name},{A.region_code}\n")
    assert error.spec is IMPORT_BAD_HEADER
    assert error.params["unknown_columns"] == [1, 2, 3]
    shown = f"{error.params} {error.message('zh')} {error.message('en')}"
    assert A.resident_id not in shown
    assert A.name not in shown


def test_broken_csv_quoting_is_refused_with_its_row() -> None:
    error = refusal(f'resident_id,name,region_code\n{A.resident_id},"{A.name},{A.region_code}\n')
    assert error.spec is IMPORT_MALFORMED
    assert error.params["row"] == 2
