"""Reading an XLSX workbook back in tests with the standard library only (zipfile and the XML
parser): no spreadsheet library is a dependency of Quan."""

from __future__ import annotations

import io
import re
import zipfile
from fractions import Fraction
from typing import Any
from xml.etree import ElementTree

NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_xlsx(content: bytes) -> dict[str, list[list[Any]]]:
    """Every sheet of a workbook as rows of cells (strings, or numbers as Fractions), read with
    zipfile and the XML parser only; a cell that holds a formula fails the test."""
    book = zipfile.ZipFile(io.BytesIO(content))
    strings = [
        "".join(t.text or "" for t in si.iter(f"{{{NS['x']}}}t"))
        for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("x:si", NS)
    ]
    names = [
        s.get("name")
        for s in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(f"{{{NS['x']}}}sheet")
    ]
    sheets: dict[str, list[list[Any]]] = {}
    for i, name in enumerate(names, start=1):
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{i}.xml"))
        rows: list[list[Any]] = []
        for row in root.iter(f"{{{NS['x']}}}row"):
            cells: list[Any] = []
            for c in row.findall("x:c", NS):
                assert c.find("x:f", NS) is None, "a formula in the export"
                col = ord(re.match(r"[A-Z]", c.get("r", "A")).group()) - ord("A")  # type: ignore[union-attr]
                cells += [None] * (col - len(cells))
                v = c.find("x:v", NS)
                if v is None:
                    cells.append(None)
                elif c.get("t") == "s":
                    cells.append(strings[int(v.text or 0)])
                else:
                    cells.append(Fraction(v.text or "0"))
            rows.append(cells)
        sheets[str(name)] = rows
    return sheets
