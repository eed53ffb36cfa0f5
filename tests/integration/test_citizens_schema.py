"""Migration 0003 builds exactly the citizen and blacklist tables the code declares."""

from __future__ import annotations

from typing import Any

from quan.store import citizen_tables
from quan.store.db import Database
from quan.store.schema import metadata
from tests.schema_diff import schema_diff

OURS = {"citizens", "citizen_imports", "citizen_otps", "blacklist_entries", "blacklist_appeals"}


def _table_of(diff: Any) -> str | None:
    # Diffs are tuples like ("add_column", schema, table, column) or lists of such for columns.
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if name in OURS:
            return str(name)
    strings = [p for p in item[1:] if isinstance(p, str)]
    return next((s for s in strings if s in OURS), None)


def test_the_migrated_schema_matches_the_declared_tables(db: Database) -> None:
    assert {t for t in metadata.tables if t in OURS} == OURS
    diffs = schema_diff(db, compare_type=True)
    ours = [d for d in diffs if _table_of(d) in OURS]
    assert ours == [], ours


def test_the_tables_live_in_the_citizen_tables_module() -> None:
    declared = {
        t.name
        for t in vars(citizen_tables).values()
        if getattr(t, "name", None) in OURS and hasattr(t, "columns")
    }
    assert declared == OURS
