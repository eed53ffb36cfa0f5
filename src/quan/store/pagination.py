"""Cursor pagination by id: ``?limit=&cursor=`` → ``{items, next_cursor}``.

The cursor is the last id seen, base64url-encoded so clients treat it as opaque. Ids are
time-ordered (see ids.py) so pages follow creation order, and a row inserted meanwhile never
shifts a page the way OFFSET would.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Row, Select

from quan.domain.errors import Kind, QuanError, define

INVALID_CURSOR = define(
    "INVALID_CURSOR", Kind.INVALID, zh="分页游标无效", en="The pagination cursor is not valid"
)

MAX_LIMIT = 200


def encode_cursor(last_id: Any) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


_LAST_ID = re.compile(r"^(?:[a-z]+_[0-9a-z]{26}|[0-9]{1,19})$")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        last_id = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise QuanError(INVALID_CURSOR) from exc
    if not _LAST_ID.match(last_id):
        raise QuanError(INVALID_CURSOR)
    return last_id


def page(
    tx: Connection,
    query: Select[Any],
    id_column: Column[Any],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[Sequence[Row[Any]], str | None]:
    if cursor:
        after: Any = decode_cursor(cursor)
        if id_column.type.python_type is int:
            if not after.isdigit():
                raise QuanError(INVALID_CURSOR)
            after = int(after)
        query = query.where(id_column > after)
    rows = tx.execute(query.order_by(id_column).limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1]._mapping[id_column.name])
    return rows, None
