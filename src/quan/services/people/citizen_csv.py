"""Reading an eligibility list (CSV) into validated rows, before anything touches the database.

The file is UTF-8 (a byte-order mark, as Excel writes, is fine; GBK is refused with the line to
look at). The first row names the columns, in English or Chinese; ``resident_id``, ``name`` and
``region_code`` are required. Rows are numbered as a spreadsheet shows them (the header is row 1),
and blank rows are skipped. Every problem is reported as (row, field, code, reason): never a
value from the file, so the report can be shared and stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from quan.domain.citizens import (
    INVALID_DISABILITY,
    Registration,
    RegistrationInput,
    check_registration,
)
from quan.domain.errors import Kind, QuanError, define

IMPORT_EMPTY = define(
    "IMPORT_EMPTY",
    Kind.INVALID,
    zh="文件为空或只有表头，没有数据行",
    en="The file is empty or has only a header row",
)
IMPORT_NOT_UTF8 = define(
    "IMPORT_NOT_UTF8",
    Kind.INVALID,
    zh="文件不是 UTF-8 编码（第 {line} 行附近）；请在 Excel 中另存为“CSV UTF-8”",
    en="The file is not UTF-8 (near line {line}); save it as 'CSV UTF-8'",
)
IMPORT_BAD_HEADER = define(
    "IMPORT_BAD_HEADER",
    Kind.INVALID,
    zh="表头不正确：缺少 {missing}，无法识别第 {unknown_columns} 列，重复 {repeated}",
    en="The header row is wrong: missing {missing}, unknown columns {unknown_columns}, "
    "repeated {repeated}",
)
IMPORT_MALFORMED = define(
    "IMPORT_MALFORMED",
    Kind.INVALID,
    zh="第 {row} 行不是有效的 CSV（例如引号未闭合或含有空字符）",
    en="Row {row} is not valid CSV (an unclosed quote or a NUL character, for example)",
)
IMPORT_TOO_LARGE = define(
    "IMPORT_TOO_LARGE",
    Kind.BAD_REQUEST,
    zh="文件过大：最多 {max_bytes} 字节，请拆分后分批导入",
    en="The file is too large: at most {max_bytes} bytes; split it and import the parts",
)
IMPORT_TOO_MANY_ROWS = define(
    "IMPORT_TOO_MANY_ROWS",
    Kind.BAD_REQUEST,
    zh="文件行数过多：最多 {max_rows} 行，请拆分后分批导入",
    en="The file has too many rows: at most {max_rows}; split it and import the parts",
)
WRONG_COLUMN_COUNT = define(
    "WRONG_COLUMN_COUNT",
    Kind.INVALID,
    zh="该行的列数与表头不一致",
    en="This row does not have as many columns as the header",
)

MAX_ROWS = 1_000_000
PROGRESS_EVERY = 2_000

Progress = Callable[[str, int, int], None]
"""Called with (phase, done, total) while a long import runs."""

# Canonical column → the names accepted for it (compared after trimming, case-insensitively).
COLUMNS: dict[str, tuple[str, ...]] = {
    "resident_id": ("resident_id", "身份证号", "身份证号码", "居民身份证号码"),
    "name": ("name", "姓名"),
    "region_code": ("region_code", "行政区划代码", "区划代码"),
    "phone": ("phone", "手机号", "手机号码"),
    "income_group": ("income_group", "收入类别", "家庭收入类别"),
    "disabled": ("disabled", "是否残疾"),
    "disability_grade": ("disability_grade", "残疾等级"),
}
REQUIRED = ("resident_id", "name", "region_code")
_ALIASES = {alias.lower(): column for column, names in COLUMNS.items() for alias in names}
_YES = frozenset({"1", "true", "yes", "y", "是"})
_NO = frozenset({"0", "false", "no", "n", "否"})
_GRADES = {"1": 1, "2": 2, "3": 3, "4": 4, "一级": 1, "二级": 2, "三级": 3, "四级": 4}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    code: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ValidRow:
    row: int
    registration: Registration


@dataclass(slots=True)
class ParsedFile:
    """Every data row, either valid or with its errors."""

    rows_total: int = 0
    valid: list[ValidRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def decode(data: bytes) -> str:
    """The file as text: UTF-8, with or without a byte-order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuanError(IMPORT_NOT_UTF8, line=data[: exc.start].count(b"\n") + 1) from exc


def parse(text: str, *, today: date, progress: Progress | None = None) -> ParsedFile:
    """Validate every row of the eligibility list ``text``; file-level problems raise."""
    records = _records(text)
    header = _header(next(records, None))
    parsed = ParsedFile()
    lines = text.count("\n") + 1  # an estimate of the rows to come, for progress bars
    for number, cells in records:
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress("validate", number, lines)
        if not any(c.strip() for c in cells):
            continue  # blank rows (Excel leaves trailing ",,,," lines)
        parsed.rows_total += 1
        if parsed.rows_total > MAX_ROWS:
            raise QuanError(IMPORT_TOO_MANY_ROWS, max_rows=MAX_ROWS)
        if len(cells) != len(header):
            parsed.errors.append(RowError(number, "*", WRONG_COLUMN_COUNT.code))
            continue
        _validate_row(parsed, number, dict(zip(header, cells, strict=True)), today)
    if parsed.rows_total == 0:
        raise QuanError(IMPORT_EMPTY)
    if progress is not None:
        progress("validate", lines, lines)
    return parsed


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    # Numbered by record, not by physical line: a quoted cell may span lines, a spreadsheet row
    # may not, so record numbers are the row numbers the operator sees.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise QuanError(IMPORT_MALFORMED, row=number) from exc
        yield number, cells


def _header(first: tuple[int, list[str]] | None) -> list[str]:
    if first is None or not any(c.strip() for c in first[1]):
        raise QuanError(IMPORT_EMPTY)
    names = [_ALIASES.get(c.strip().lower(), "") for c in first[1]]
    # Unknown columns are named by position, not by text: a file without a header has data in
    # its first row, and an ID number must not come back in the error.
    unknown = [i for i, n in enumerate(names, start=1) if not n]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    missing = [c for c in REQUIRED if c not in names]
    if unknown or repeated or missing:
        raise QuanError(
            IMPORT_BAD_HEADER,
            missing=missing,
            unknown_columns=unknown[:50],
            repeated=repeated,
            expected=list(COLUMNS),
        )
    return names


def _validate_row(parsed: ParsedFile, number: int, cells: dict[str, str], today: date) -> None:
    errors: list[RowError] = []
    disability = _disability(cells)
    if disability is None:
        errors.append(RowError(number, "disability_grade", INVALID_DISABILITY.code))
        disability = (False, None)
    raw = RegistrationInput(
        resident_id=cells["resident_id"],
        name=cells["name"],
        region_code=cells["region_code"],
        phone=cells.get("phone") or None,
        income_group=cells.get("income_group") or None,
        disabled=disability[0],
        disability_grade=disability[1],
    )
    registration, field_errors = check_registration(raw, today=today)
    for error in field_errors:
        reason = error.error.params.get("reason")
        errors.append(RowError(number, error.field, error.error.code, reason))
    if errors:
        parsed.errors.extend(errors)
    elif registration is not None:
        parsed.valid.append(ValidRow(number, registration))


def _disability(cells: dict[str, str]) -> tuple[bool, int | None] | None:
    """(disabled, grade) from the two optional columns; ``None`` when either is unreadable.

    A grade alone says the person is disabled; an explicit "no" next to a grade is a
    contradiction the domain check refuses.
    """
    grade_text = cells.get("disability_grade", "").strip()
    grade = _GRADES.get(grade_text) if grade_text else None
    if grade_text and grade is None:
        return None
    flag_text = cells.get("disabled", "").strip().lower()
    if not flag_text:
        return grade is not None, grade
    if flag_text in _YES:
        return True, grade
    if flag_text in _NO:
        return False, grade
    return None
