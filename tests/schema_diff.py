"""What differs between a migrated database and the tables the code declares (alembic's
autogenerate comparison), for the tests that each check their own tables."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from quan.store.db import Database
from quan.store.schema import metadata


def schema_diff(db: Database, *, compare_type: bool = False) -> list[Any]:
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (the lottery's PostgreSQL-only covering
        # index): alembic skips them there and says so; the PostgreSQL run compares them.
        warnings.filterwarnings(
            "ignore", message="autogenerate skipping metadata-specified expression-based index"
        )
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        return list(compare_metadata(context, metadata))
