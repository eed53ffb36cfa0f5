"""I3: what the citizens table holds in clear must not narrow an ID number down.

An ID number is region (6) + birth date (8) + sequence (3) + check character. The test reads
every stored row of 2,000 generated citizens, takes every column that is neither sealed
(``*_enc``) nor a keyed hash (``*_hash``), and counts the numbers consistent with them, giving
the reader the best case: the person lives in the region where they were registered at birth.
With the old mask (first 3 and last 2 characters kept) about ten candidates were left, the true
one always among them; now the three sequence digits stay open.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select

from quan.domain.resident_id import check_character
from quan.services.people import citizen_import
from quan.services.people.citizens import CitizenKeys
from quan.store.citizen_tables import citizens
from tests.citizen_samples import csv_bytes, people
from tests.conftest import World

MIN_CANDIDATES = 1000

# Columns allowed in clear, and why; a new clear column must be argued for here.
CLEAR = {
    "id": "random id",
    "resident_id_masked": "first three characters only",
    "name_masked": "surname",
    "phone_masked": "first 3 and last 4 digits of a phone, not of the ID number",
    "region_code": "eligibility: region rules",
    "birth_date": "eligibility: age to the local day",
    "income_group": "eligibility: priority groups",
    "disabled": "eligibility: priority groups",
    "disability_grade": "eligibility",
    "registered_via": "channel",
    "registered_by": "staff id",
    "import_id": "import id",
    "created_at": "time",
}


def candidates(row: Any) -> int:
    """How many ID numbers are consistent with the clear columns of ``row``."""
    born: date = row.birth_date
    mask: str = row.resident_id_masked
    head = f"{row.region_code}{born:%Y%m%d}"
    if any(m not in ("*", n) for m, n in zip(mask[:14], head, strict=True)):
        return 0
    count = 0
    for sequence in range(1000):
        digits = f"{sequence:03d}"
        if any(m not in ("*", n) for m, n in zip(mask[14:17], digits, strict=True)):
            continue
        if mask[17] != "*" and check_character(head + digits) != mask[17]:
            continue
        count += 1
    return count


def test_the_clear_columns_leave_at_least_a_thousand_candidates(world: World) -> None:
    crowd = list(people(2000, seed=13))
    runtime = world.runtime
    report = citizen_import.import_citizens(
        runtime.db,
        runtime.clock,
        CitizenKeys.from_settings(runtime.settings),
        world.users["operator"].actor(),
        data=csv_bytes(crowd),
        file_name="crowd.csv",
    )
    assert report.created == len(crowd)
    stored = {c.name for c in citizens.columns}
    clear = {n for n in stored if not n.endswith(("_enc", "_hash"))}
    assert clear == set(CLEAR), "a clear column must be argued for in CLEAR"
    with runtime.db.read() as tx:
        rows = tx.execute(select(*[citizens.c[n] for n in sorted(clear)])).all()
    sizes = Counter(candidates(row) for row in rows)
    assert sum(sizes.values()) == len(crowd)
    assert min(sizes) >= MIN_CANDIDATES, sorted(sizes.items())[:5]
