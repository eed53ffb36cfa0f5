"""Queries of the transparency log: the sequencer's queue, appends, node reads, entries, heads.

Everything here is plain storage; what the rows mean (leaf bytes, hashing, signing) lives in
:mod:`quan.domain.log_leaf`, :mod:`quan.domain.merkle` and
:mod:`quan.services.transparency.transparency`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
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

from quan.domain.log_leaf import LogEvent, format_time
from quan.domain.merkle import Node
from quan.store.log_tables import log_checkpoints, log_entries, log_formats, log_queue
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


def first_index_of(tx: Connection, version: int) -> int:
    """The log index from which leaves are in format ``version`` (0 when not recorded)."""
    found = tx.execute(
        select(log_formats.c.first_index).where(log_formats.c.version == version)
    ).scalar()
    return 0 if found is None else int(found)


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


QueuedEvent: TypeAlias = tuple[int, str, str, str, str, str | None, str, str]
"""A queued event as the sequencer reads it: ``(id, type, actor, subject_type, subject_id,
program_id, payload as stored (JSON text), occurred_at as leaves write it)``."""

# The queued ids first, then their events by primary key: joined instead, PostgreSQL plans a
# merge join that walks the events index from the very first event, so every batch would cost
# more than the last as the log grows. occurred_at comes formatted exactly as leaves write it
# (UTC, six fractional digits, "Z"), which spares building a datetime and formatting it again.
_QUEUED_PG = (
    "SELECT e.id, e.type, e.actor, e.subject_type, e.subject_id, e.program_id, e.payload,"
    " to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    " FROM events e"
    " WHERE e.id = ANY(ARRAY(SELECT event_id FROM log_queue WHERE event_id > %s"
    " ORDER BY event_id LIMIT %s))"
    " ORDER BY e.id"
)


def queued_events(tx: Connection, limit: int, *, after: int = 0) -> list[QueuedEvent]:
    """The oldest ``limit`` events waiting for the log with an id above ``after``, in id order.

    Reads the queue, not ``events.id > last``: an event whose transaction commits after a higher
    id was sequenced is still in the queue and is taken on the next run. ``after`` lets a run's
    later batches start past the queue rows its earlier ones deleted (their index entries stay
    until vacuum, and scanning them each batch grows with the run). Rows are plain tuples (see
    :data:`QueuedEvent`): this runs once per event the sequencer appends.
    """
    if tx.dialect.name == "postgresql":
        return _driver_fetch(tx, _QUEUED_PG, (after, limit))
    rows = tx.execute(
        select(*_EVENT_COLUMNS)
        .select_from(log_queue.join(events, events.c.id == log_queue.c.event_id))
        .where(log_queue.c.event_id > after)
        .order_by(log_queue.c.event_id)
        .limit(limit)
    ).all()
    return [
        (
            int(event_id),
            type_,
            actor,
            subject_type,
            subject_id,
            program_id,
            payload,
            _sqlite_time(occurred_at),
        )
        for event_id, type_, actor, subject_type, subject_id, program_id, payload, occurred_at in (
            rows
        )
    ]


def _sqlite_time(value: str) -> str:
    # SQLite keeps naive UTC as "YYYY-MM-DD HH:MM:SS.ffffff"; anything else takes the long way.
    if len(value) == 26 and value[10] == " " and value[19] == ".":
        return f"{value[:10]}T{value[11:]}Z"
    return format_time(_time(value))


def _driver_fetch(tx: Connection, statement: str, params: tuple[Any, ...]) -> list[Any]:
    """Rows as the driver gives them (tuples), in the caller's transaction, past SQLAlchemy."""
    raw = tx.connection.driver_connection
    dbapi = tx.dialect.loaded_dbapi
    try:
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(statement, params)
            return list(cursor.fetchall())
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, params, exc, dbapi.Error) from exc


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
    with appending(tx, first_index) as write_entries:
        write_entries(event_ids, leaf_hashes)
    finish_append(tx, event_ids=event_ids, nodes=nodes)


EntryWriter: TypeAlias = Callable[[Sequence[int], Sequence[bytes]], None]
"""Writes the next entries: their event ids and leaf hashes, in log order."""


@contextmanager
def appending(tx: Connection, first_index: int) -> Iterator[EntryWriter]:
    """Entries ``first_index…``, written chunk by chunk while the caller computes the next ones.

    On PostgreSQL the chunks go out through one ``COPY`` that stays open for the block, so the
    server inserts a chunk while Python hashes the next one (the two cores work at once); on
    SQLite each chunk is one ``executemany``. Nothing else may use ``tx`` inside the block.
    """
    position = first_index
    if tx.dialect.name != "postgresql":

        def insert_rows(event_ids: Sequence[int], leaf_hashes: Sequence[bytes]) -> None:
            nonlocal position
            rows = [
                (position + offset, event_id, leaf)
                for offset, (event_id, leaf) in enumerate(zip(event_ids, leaf_hashes, strict=True))
            ]
            tx.exec_driver_sql(_INSERT["log_entries"], rows)
            position += len(rows)

        yield insert_rows
        return
    raw = tx.connection.driver_connection
    dbapi = tx.dialect.loaded_dbapi
    statement = _COPY["log_entries"]
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]

            def copy_rows(event_ids: Sequence[int], leaf_hashes: Sequence[bytes]) -> None:
                nonlocal position
                copy.write(_copy_text(position, event_ids, leaf_hashes))
                position += len(event_ids)

            yield copy_rows
    except dbapi.Error as exc:
        # Past SQLAlchemy, so wrap as it would: a duplicate key must stay an IntegrityError.
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


def _copy_text(first_index: int, event_ids: Sequence[int], leaf_hashes: Sequence[bytes]) -> str:
    # COPY's text format in one piece: two integers and a bytea as "\\x<hex>". Formatting the
    # rows here costs a fraction of the driver's per-row write_row().
    return "".join(
        [
            f"{first_index + offset}\t{event_id}\t\\\\x{leaf.hex()}\n"
            for offset, (event_id, leaf) in enumerate(zip(event_ids, leaf_hashes, strict=True))
        ]
    )


def finish_append(tx: Connection, *, event_ids: Sequence[int], nodes: Iterable[Node]) -> None:
    """After :func:`appending`: write the new complete nodes and take the events off the queue."""
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


def _bulk_insert(tx: Connection, table: str, rows: Sequence[tuple[int, int, bytes]]) -> None:
    if tx.dialect.name == "postgresql":
        raw = tx.connection.driver_connection
        dbapi = tx.dialect.loaded_dbapi
        # COPY's text format, written in one piece (see _copy_text).
        data = "".join([f"{a}\t{b}\t\\\\x{value.hex()}\n" for a, b, value in rows])
        try:
            with raw.cursor() as cursor, cursor.copy(_COPY[table]) as copy:  # type: ignore[union-attr]
                copy.write(data)
        except dbapi.Error as exc:
            # Past SQLAlchemy, so wrap as it would: a duplicate key must stay an IntegrityError.
            raise DBAPIError.instance(_COPY[table], None, exc, dbapi.Error) from exc
    else:
        tx.exec_driver_sql(_INSERT[table], list(rows))


def _dequeue(tx: Connection, event_ids: Sequence[int]) -> None:
    # Exactly these ids: a range delete could remove a queue row that committed meanwhile.
    if tx.dialect.name == "postgresql":
        # The ids as one array literal: the driver would otherwise adapt them one by one.
        ids = "{" + ",".join(map(str, event_ids)) + "}"
        tx.exec_driver_sql("DELETE FROM log_queue WHERE event_id = ANY(%s::bigint[])", (ids,))
    else:
        tx.exec_driver_sql(
            "DELETE FROM log_queue WHERE event_id = ?", [(event_id,) for event_id in event_ids]
        )


"""Nodes at this level and above (each covering at least 1,024 leaves) are kept in memory by
:class:`PublicLogReader`: a complete subtree never changes, and every proof needs one per level."""

"""At most this many cached nodes (about 30 MB) per process and database."""
