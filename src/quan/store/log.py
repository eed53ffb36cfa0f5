"""Queries of the transparency log: the sequencer's queue, appends, node reads, entries, heads.

Everything here is plain storage; what the rows mean (leaf bytes, hashing, signing) lives in
:mod:`quan.domain.log_leaf`, :mod:`quan.domain.merkle` and :mod:`quan.services.transparency`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    Connection,
    Row,
    Text,
    func,
    insert,
    select,
    type_coerce,
)
from sqlalchemy.exc import DBAPIError

from quan.domain.log_leaf import LogEvent
from quan.domain.merkle import Node, NodeKey
from quan.store.log_tables import log_checkpoints, log_entries, log_queue
from quan.store.tables import events

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
"""A result row of any width (SQLAlchemy 2.1 types rows by their column tuple)."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime


def _checkpoint(row: AnyRow) -> StoredCheckpoint:
    return StoredCheckpoint(
        tree_size=int(row.tree_size),
        root_hash=bytes(row.root_hash),
        note=row.note,
        created_at=row.created_at,
    )


def latest_checkpoint(tx: Connection) -> StoredCheckpoint | None:
    """The newest signed tree head; its size is the size of the published log."""
    row = tx.execute(
        select(log_checkpoints).order_by(log_checkpoints.c.tree_size.desc()).limit(1)
    ).first()
    return None if row is None else _checkpoint(row)


def save_checkpoint(
    tx: Connection, *, tree_size: int, root_hash: bytes, note: str, at: datetime
) -> None:
    tx.execute(
        insert(log_checkpoints).values(
            tree_size=tree_size, root_hash=root_hash, note=note, created_at=at
        )
    )


def entry_count(tx: Connection) -> int:
    """Leaves appended so far (equals the latest checkpoint's size once its run commits)."""
    last = tx.execute(select(func.max(log_entries.c.log_index))).scalar_one()
    return 0 if last is None else int(last) + 1


# occurred_at is read as the driver gives it (a datetime from PostgreSQL, the stored text from
# SQLite) and converted in _log_event: UtcDateTime's per-row processing would otherwise cost more
# than hashing the event.
_EVENT_COLUMNS = (
    events.c.id,
    events.c.type,
    events.c.actor,
    events.c.subject_type,
    events.c.subject_id,
    events.c.program_id,
    events.c.payload,
    type_coerce(events.c.occurred_at, Text).label("occurred_at"),
)


def _time(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)  # SQLite keeps naive UTC


def _log_event(row: tuple[Any, ...]) -> LogEvent:
    # Positional, in _EVENT_COLUMNS order: this runs once per event the sequencer appends.
    event_id, type_, actor, subject_type, subject_id, program_id, payload, occurred_at = row
    return LogEvent(
        int(event_id),
        type_,
        actor,
        subject_type,
        subject_id,
        program_id,
        json.loads(payload),
        _time(occurred_at),
    )


def queued_events(tx: Connection, limit: int) -> list[LogEvent]:
    """The oldest ``limit`` events waiting for the log, in event id order.

    Reads the queue, not ``events.id > last``: an event whose transaction commits after a higher
    id was sequenced is still in the queue and is taken on the next run.
    """
    rows = tx.execute(
        select(*_EVENT_COLUMNS)
        .select_from(log_queue.join(events, events.c.id == log_queue.c.event_id))
        .order_by(log_queue.c.event_id)
        .limit(limit)
    ).all()
    return [_log_event(tuple(row)) for row in rows]


def queued_count(tx: Connection, program_id: str | None = None) -> int:
    query = select(func.count()).select_from(log_queue)
    if program_id is not None:
        query = query.join(events, events.c.id == log_queue.c.event_id).where(
            events.c.program_id == program_id
        )
    return int(tx.execute(query).scalar_one())


def append(
    tx: Connection,
    *,
    first_index: int,
    event_ids: Sequence[int],
    leaf_hashes: Sequence[bytes],
    nodes: Iterable[Node],
) -> None:
    """Write entries ``first_index…`` and the new complete nodes, and take the events off the queue.

    The primary keys (log index, node key) and the unique event id make a second writer that
    raced past the lease fail instead of forking the log.
    """
    _bulk_insert(
        tx,
        "log_entries",
        [
            (first_index + offset, event_id, leaf)
            for offset, (event_id, leaf) in enumerate(zip(event_ids, leaf_hashes, strict=True))
        ],
    )
    # Level 0 is the leaf hash, already in log_entries.
    upper = [(level, index, value) for level, index, value in nodes if level > 0]
    if upper:
        _bulk_insert(tx, "log_nodes", upper)
    _dequeue(tx, event_ids)


# The sequencer writes tens of thousands of rows per batch; SQLAlchemy's per-row parameter
# processing would cost more than the hashing, so these go to the driver directly: COPY on
# PostgreSQL, executemany on SQLite.
_COPY = {
    "log_entries": "COPY log_entries (log_index, event_id, leaf_hash) FROM STDIN",
    "log_nodes": "COPY log_nodes (level, node_index, hash) FROM STDIN",
}
_INSERT = {
    "log_entries": "INSERT INTO log_entries (log_index, event_id, leaf_hash) VALUES (?, ?, ?)",
    "log_nodes": "INSERT INTO log_nodes (level, node_index, hash) VALUES (?, ?, ?)",
}


def _bulk_insert(tx: Connection, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    if tx.dialect.name == "postgresql":
        raw = tx.connection.driver_connection
        dbapi = tx.dialect.loaded_dbapi
        try:
            with raw.cursor() as cursor, cursor.copy(_COPY[table]) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        except dbapi.Error as exc:
            # Past SQLAlchemy, so wrap as it would: a duplicate key must stay an IntegrityError.
            raise DBAPIError.instance(_COPY[table], None, exc, dbapi.Error) from exc
    else:
        tx.exec_driver_sql(_INSERT[table], list(rows))


def _dequeue(tx: Connection, event_ids: Sequence[int]) -> None:
    # Exactly these ids: a range delete could remove a queue row that committed meanwhile.
    if tx.dialect.name == "postgresql":
        tx.exec_driver_sql("DELETE FROM log_queue WHERE event_id = ANY(%s)", (list(event_ids),))
    else:
        tx.exec_driver_sql(
            "DELETE FROM log_queue WHERE event_id = ?", [(event_id,) for event_id in event_ids]
        )


class NodeStore:
    """:class:`quan.domain.merkle.NodeReader` over the log tables: one query per ``nodes`` call.

    Leaves (level 0) come from ``log_entries``, higher nodes from ``log_nodes``, in one
    ``UNION ALL`` statement. The keys are written into the SQL as integer literals: a proof needs
    a different number of keys each time, and building and compiling a bound statement of that
    shape costs several times the database's own work (SQLite also plans ``(a, b) IN (...)`` as a
    full scan, while it answers ``a = … AND b = …`` terms from the primary key).
    """

    def __init__(self, tx: Connection) -> None:
        self._tx = tx

    def nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        # int() makes every interpolated value an integer literal: nothing else reaches the SQL.
        leaves = ",".join(str(int(index)) for level, index in keys if level == 0)
        upper = " OR ".join(
            f"(level = {int(level)} AND node_index = {int(index)})"
            for level, index in keys
            if level > 0
        )
        parts = []
        if leaves:
            parts.append(
                f"SELECT 0, log_index, leaf_hash FROM log_entries WHERE log_index IN ({leaves})"  # noqa: S608
            )
        if upper:
            parts.append(f"SELECT level, node_index, hash FROM log_nodes WHERE {upper}")  # noqa: S608
        if not parts:
            return {}
        rows = self._tx.exec_driver_sql(" UNION ALL ".join(parts))
        return {(int(level), int(index)): bytes(value) for level, index, value in rows}


@dataclass(frozen=True, slots=True)
class StoredEntry:
    index: int
    leaf_hash: bytes  # as appended by the sequencer
    event: LogEvent  # as the events table holds it now


def entries(tx: Connection, start: int, end: int) -> list[StoredEntry]:
    """Log entries ``start…end`` (inclusive) with the event each one records, in log order."""
    rows = tx.execute(
        select(log_entries.c.log_index, log_entries.c.leaf_hash, *_EVENT_COLUMNS)
        .select_from(log_entries.join(events, events.c.id == log_entries.c.event_id))
        .where(log_entries.c.log_index.between(start, end))
        .order_by(log_entries.c.log_index)
    ).all()
    return [StoredEntry(int(row[0]), bytes(row[1]), _log_event(tuple(row[2:]))) for row in rows]


def subject_events(
    tx: Connection, program_id: str, subject_types: Sequence[str], limit: int
) -> Sequence[AnyRow]:
    """A program's events about the given subjects, oldest first, each with its log index.

    ``log_index`` is NULL for an event the sequencer has not appended yet.
    """
    return tx.execute(
        select(*_EVENT_COLUMNS, log_entries.c.log_index)
        .select_from(events.outerjoin(log_entries, log_entries.c.event_id == events.c.id))
        .where(events.c.program_id == program_id, events.c.subject_type.in_(subject_types))
        .order_by(events.c.id)
        .limit(limit)
    ).all()
