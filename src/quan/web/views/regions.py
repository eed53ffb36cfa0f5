"""The districts a resident may choose as where they live: the county-level divisions within
the regions of the issuers this platform serves, by their current GB/T 2260 names."""

from __future__ import annotations

import re
from functools import lru_cache

from sqlalchemy import Connection, select

from quan.store.tables import issuers

_OPEN_ENDED = re.compile(r"^\[\d{4}-\]")  # "[1983-]西湖区": still in force


@lru_cache(maxsize=256)
def _children(area: str) -> tuple[tuple[str, str], ...]:
    """Current county-level divisions inside ``area`` (a county, or a city: ``3301`` + ``00``)."""
    from stdnum import numdb  # the GB/T 2260 table that resident ID validation reads too

    table = numdb.get("cn/loc")
    if not area.endswith("00"):
        codes = [area]
    elif area.endswith("0000"):
        return ()  # a whole province: too many to choose from; the code is typed instead
    else:
        codes = [f"{area[:4]}{n:02d}" for n in range(1, 100)]
    found = []
    for code in codes:
        parts = table.info(code)
        name = parts[1][1].get("county") if len(parts) == 2 else None
        if not name:
            continue
        name = str(name)
        if name.startswith("[") and not _OPEN_ENDED.match(name):
            continue  # abolished (e.g. "[1996-2017]临安市")
        name = name.rsplit("]", 1)[-1]
        if name != "市辖区":  # "the city's districts": a statistical code, not a place
            found.append((code, name))
    return tuple(found)


def district_choices(tx: Connection) -> list[tuple[str, str]]:
    """``(code, name)`` of every district an issuer here covers, in code order."""
    areas = sorted({r.region_code for r in tx.execute(select(issuers.c.region_code))})
    return sorted({choice for area in areas for choice in _children(area)})
