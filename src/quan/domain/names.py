"""The one check every name a person types goes through (programs, issuers, funders, merchants,
bank names, voucher types, batches, staff, citizens).

Names travel far: screens, SMS, public pages, the log's leaves and auditors' spreadsheets. A
control or format character (tab, newline, carriage return, zero-width and bidirectional marks:
Unicode categories ``C*``) in a name has no business there: it hides text, reorders it on screen,
or turns a CSV cell into a formula (see :mod:`quan.domain.csv_export`). Such names are refused,
never silently repaired; runs of ordinary spaces are collapsed.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from quan.domain.errors import ErrorSpec, Kind, QuanError, define

DEFAULT_MAX_LENGTH: Final = 200

INVALID_TEXT_NAME = define(
    "INVALID_TEXT_NAME",
    Kind.INVALID,
    zh="{field} 无效：须为 1–{max_length} 个字符，不含控制字符（如制表符、换行）",
    en="{field} is not valid: 1–{max_length} characters, without control characters "
    "(tabs, line breaks)",
)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control, format, surrogate, private-use or unassigned character."""
    return any(unicodedata.category(c).startswith("C") for c in text)


def check_name(
    text: str,
    *,
    field: str = "name",
    max_length: int = DEFAULT_MAX_LENGTH,
    error: ErrorSpec | None = None,
) -> str:
    """``text`` trimmed with inner space runs collapsed, or a refusal with ``error`` (default
    :data:`INVALID_TEXT_NAME` naming ``field``) if empty, too long or with a control character."""
    name = " ".join(text.split(" "))
    name = " ".join(part for part in name.split(" ") if part)
    if has_control_characters(name) or not 1 <= len(name) <= max_length:
        if error is None:
            raise QuanError(INVALID_TEXT_NAME, field=field, max_length=max_length)
        raise QuanError(error)
    return name
