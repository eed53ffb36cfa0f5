"""Queries of the transparency log: the sequencer's queue, appends, node reads, entries, heads.

Everything here is plain storage; what the rows mean (leaf bytes, hashing, signing) lives in
:mod:`quan.domain.log_leaf`, :mod:`quan.domain.merkle` and
:mod:`quan.services.transparency.transparency`.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError

from quan.domain.log_leaf import LogEvent, format_time
from quan.domain.merkle import Node, NodeKey
from quan.store.db import Database
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
        statement = _nodes_statement(keys, self._tx.dialect.name)
        if statement is None:
            return {}
        rows = self._tx.exec_driver_sql(statement)
        return {(int(level), int(index)): bytes(value) for level, index, value in rows}


def _nodes_statement(keys: Sequence[NodeKey], dialect: str) -> str | None:
    """One ``UNION ALL`` statement reading ``keys`` (leaves from log_entries, the rest from
    log_nodes), or None when there is nothing to read.

    PostgreSQL joins log_nodes to the keys as a ``VALUES`` list: one primary-key probe per key,
    where ``(level = … AND node_index = …) OR …`` becomes a bitmap OR of one index scan per key,
    ten times slower for a proof's two dozen keys. SQLite has no column names for ``VALUES`` and
    answers the ``OR`` form from the primary key.
    """
    # int() makes every interpolated value an integer literal: nothing else reaches the SQL.
    leaves = ",".join(str(int(index)) for level, index in keys if level == 0)
    parts = []
    if leaves:
        parts.append(
            f"SELECT 0, log_index, leaf_hash FROM log_entries WHERE log_index IN ({leaves})"  # noqa: S608
        )
    upper = [(int(level), int(index)) for level, index in keys if level > 0]
    if upper and dialect == "postgresql":
        values = ",".join(f"({level},{index})" for level, index in upper)
        parts.append(
            "SELECT n.level, n.node_index, n.hash"  # noqa: S608
            f" FROM (VALUES {values}) AS k (level, node_index)"
            " JOIN log_nodes n ON n.level = k.level AND n.node_index = k.node_index"
        )
    elif upper:
        terms = " OR ".join(f"(level = {level} AND node_index = {index})" for level, index in upper)
        parts.append(f"SELECT level, node_index, hash FROM log_nodes WHERE {terms}")  # noqa: S608
    return " UNION ALL ".join(parts) if parts else None


CACHED_MIN_LEVEL = 10
"""Nodes at this level and above (each covering at least 1,024 leaves) are kept in memory by
:class:`PublicLogReader`: a complete subtree never changes, and every proof needs one per level."""

CACHED_MAX_NODES = 200_000
"""At most this many cached nodes (about 30 MB) per process and database."""

_IDLE_CONNECTIONS = 4


class PublicLogReader:
    """The public log's proof reads, with as little as possible between a request and its query.

    A proof needs O(log n) complete-subtree hashes and a check that its tree size was published.
    Both only ever grow, so this reader keeps, per process and database, the largest published
    size it has seen (it asks again only for a larger one) and the upper nodes it has read
    (levels >= :data:`CACHED_MIN_LEVEL`); the rest comes from one query, which on its own is a
    consistent read. On PostgreSQL that query runs on autocommit driver connections kept for this
    purpose (no pool checkout, no transaction, no SQLAlchemy result processing: a proof's server
    time is then about one round trip); on SQLite, in an ordinary read transaction.

    Use :func:`public_reader`; ``queries`` counts the statements it ran (tests check it).
    """

    def __init__(self, db: Database) -> None:
        # Weakly: public_reader() keys its readers by their database, which must stay collectable.
        self._db_ref = weakref.ref(db)
        self._engine = db.engine
        self._dialect = db.dialect
        self._lock = threading.Lock()
        self._idle: list[Any] = []  # psycopg connections detached from the pool
        self._size = -1
        self._nodes: dict[NodeKey, bytes] = {}
        self.queries = 0
        self.cached_min_level = CACHED_MIN_LEVEL
        sa_event.listen(db.engine, "engine_disposed", self._on_dispose)

    def cached_nodes(self) -> int:
        return len(self._nodes)

    def published_size(self, at_least: int) -> int | None:
        """The latest published tree size, read again only when ``at_least`` exceeds the largest
        seen so far; None when no checkpoint has been signed."""
        if at_least <= self._size:
            return self._size
        rows = self._rows("SELECT MAX(tree_size) FROM log_checkpoints")
        found = rows[0][0] if rows else None
        if found is None:
            return None
        with self._lock:
            self._size = max(self._size, int(found))
            return self._size

    def nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        cache = self._nodes
        found = {key: cache[key] for key in keys if key in cache}
        statement = _nodes_statement([key for key in keys if key not in found], self._dialect)
        if statement is not None:
            floor = self.cached_min_level
            for level, index, value in self._rows(statement):
                key = (int(level), int(index))
                found[key] = value = bytes(value)
                if key[0] >= floor and len(cache) < CACHED_MAX_NODES:
                    cache[key] = value
        return found

    def _rows(self, statement: str) -> list[tuple[Any, ...]]:
        self.queries += 1
        if self._dialect != "postgresql":
            db = self._db_ref()
            if db is None:
                raise RuntimeError("the database of this log reader is gone")
            with db.read() as tx:
                return [tuple(row) for row in tx.exec_driver_sql(statement)]
        for _ in range(_IDLE_CONNECTIONS):
            try:
                return self._driver_rows(statement)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # A kept connection died (server restart, idle timeout): try the next one.
        return self._driver_rows(statement)

    def _driver_rows(self, statement: str) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            fairy = self._engine.raw_connection()  # the engine's own connect arguments
            conn = fairy.driver_connection
            assert conn is not None
            fairy.detach()  # ours from now on: the pool neither resets nor pings it
            conn.rollback()  # whatever the checkout's ping began
            conn.autocommit = True
        dbapi = self._engine.dialect.loaded_dbapi
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement)
                rows: list[tuple[Any, ...]] = cursor.fetchall()
        except dbapi.Error as exc:
            broken = bool(conn.closed) or isinstance(
                exc, dbapi.OperationalError | dbapi.InterfaceError
            )
            if broken:
                conn.close()
            else:
                self._give_back(conn)
            raise DBAPIError.instance(
                statement, None, exc, dbapi.Error, connection_invalidated=broken
            ) from exc
        self._give_back(conn)
        return rows

    def _give_back(self, conn: Any) -> None:
        with self._lock:
            if len(self._idle) < _IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def _on_dispose(self, _engine: Any) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


_readers: weakref.WeakKeyDictionary[Database, PublicLogReader] = weakref.WeakKeyDictionary()
_readers_lock = threading.Lock()


def public_reader(db: Database) -> PublicLogReader:
    """The process's :class:`PublicLogReader` for ``db``."""
    reader = _readers.get(db)
    if reader is None:
        with _readers_lock:
            reader = _readers.get(db)
            if reader is None:
                reader = _readers[db] = PublicLogReader(db)
    return reader


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
