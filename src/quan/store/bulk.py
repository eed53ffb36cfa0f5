"""Many plain-text rows into one table at once: PostgreSQL's ``COPY``, else ``executemany``.

For volume that carries no rules of its own (the vouchers a batch opening generates): ``COPY``
streams the rows in one command instead of one parsed and planned ``INSERT`` per row.
Values must be text without tabs, newlines or backslashes (ids, codes, enum values); the
caller's transaction keeps the all-or-nothing guarantee, and a duplicate key still raises
``IntegrityError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import DBAPIError


def copy_rows(
    tx: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    if not rows:
        return
    if tx.dialect.name != "postgresql":
        tx.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    if any("\t" in v or "\n" in v or "\\" in v for row in rows for v in row):
        raise ValueError("copy_rows takes plain text values only")
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    data = "".join("\t".join(row) + "\n" for row in rows)
    raw = tx.connection.driver_connection
    dbapi = tx.dialect.loaded_dbapi
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            copy.write(data)
    except dbapi.Error as exc:
        # Past SQLAlchemy, so wrap as it would: a duplicate key must stay an IntegrityError.
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
