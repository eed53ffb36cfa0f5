"""The dashboard's downloads: one table as CSV, every table as an XLSX workbook.

CSV goes through the one CSV writer (:func:`quan.domain.csv_export.csv_text`, formulas
defused); amounts are exact decimals of yuan (``1234.50``), ratios decimals, percentages
``25.00%``. The workbook (XlsxWriter) has one sheet per table; every text cell is written with
``write_string`` — never ``write``, which would take a merchant's name beginning with ``=`` for
a formula — and every amount as a number in yuan with a ``#,##0.00`` format, so the office can
sum it. (A spreadsheet's numbers are binary floating point; a yuan amount with two decimals
reads back exactly as written.)
"""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

from quan.domain.csv_export import csv_text
from quan.web.report_tables import Kind, Table, Typed, ratio_decimal, yuan_decimal

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _unpack(value: Any, kind: Kind) -> tuple[Any, Kind]:
    return (value.value, value.kind) if isinstance(value, Typed) else (value, kind)


def _csv_cell(value: Any, kind: Kind) -> Any:
    value, kind = _unpack(value, kind)
    if value is None:
        return None
    if kind == "yuan":
        return yuan_decimal(value)
    if kind == "percent":
        return f"{ratio_decimal(value, kind)}%"
    if kind == "ratio":
        return ratio_decimal(value, kind)
    if kind == "count":
        return int(value)
    return str(value)


def table_csv(table: Table) -> str:
    kinds = [c.kind for c in table.columns]
    return csv_text(
        [c.header for c in table.columns],
        ([_csv_cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in table.rows),
    )


def workbook(tables: list[Table]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    head = book.add_format({"bold": True, "bg_color": "#F3F5F8", "bottom": 1})
    formats = {
        "yuan": book.add_format({"num_format": "#,##0.00"}),
        "percent": book.add_format({"num_format": "0.00%"}),
        "ratio": book.add_format({"num_format": "0.00"}),
        "count": book.add_format({"num_format": "#,##0"}),
    }
    for table in tables:
        sheet = book.add_worksheet(table.title[:31])
        widths = [max(8, len(c.header) * 2) for c in table.columns]
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, column.header, head)
        for r, row in enumerate(table.rows, start=1):
            for col, (raw, column) in enumerate(zip(row, table.columns, strict=True)):
                value, kind = _unpack(raw, column.kind)
                if value is None:
                    sheet.write_blank(r, col, None)
                elif kind == "text":
                    sheet.write_string(r, col, str(value))
                    widths[col] = max(widths[col], min(len(str(value)) * 2, 60))
                elif kind == "yuan":
                    sheet.write_number(r, col, float(yuan_decimal(value)), formats["yuan"])
                else:  # counts, ratios and percentages
                    sheet.write_number(r, col, float(value), formats[kind])
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
