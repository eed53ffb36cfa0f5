"""The one CSV writer of every export: cells a spreadsheet would run as a formula are defused.

A name typed by a merchant, an operator or a citizen ends up in an auditor's spreadsheet; a cell
beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel and
LibreOffice (``=HYPERLINK("http://…","点此")`` becomes a live link, ``=cmd|…`` worse). Following
OWASP's *CSV Injection* advice, such a text cell is written with a leading apostrophe, which
spreadsheets show as text and do not display. Numbers (fen, counts, yuan as ``Decimal``) are
written as numbers: a negative amount is not text and stays ``-100`` or ``-1.00``.

Every CSV answer of the API, the console and the CLI goes through :func:`csv_text`;
``tests/unit/test_csv_export.py`` fails on a ``csv.writer`` anywhere else.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

FORMULA_LEADS: Final = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet evaluate a cell (OWASP CSV Injection)."""


def safe_cell(value: Any) -> str:
    """``value`` as a CSV cell: ``None`` empty, times in UTC ISO 8601, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    if text.startswith(FORMULA_LEADS):
        return "'" + text
    return text


def csv_text(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """CSV (``\\r\\n`` line ends, as spreadsheets expect) of ``rows``, after ``header`` if given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
