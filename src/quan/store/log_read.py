"""Reading the public log: its nodes (a cache of the upper levels kept per process, read on
connections of its own), the entries and a subject's events."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    select,
)
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError

from quan.domain.log_leaf import LogEvent
from quan.domain.merkle import NodeKey
from quan.store.db import Database
from quan.store.log import _EVENT_COLUMNS, AnyRow, _log_event
from quan.store.log_tables import log_entries
from quan.store.tables import events


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


CACHED_MAX_NODES = 200_000


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


def entries_at(tx: Connection, indexes: Sequence[int]) -> list[StoredEntry]:
    """The log entries at ``indexes`` with the events they record, newest first."""
    rows = tx.execute(
        select(log_entries.c.log_index, log_entries.c.leaf_hash, *_EVENT_COLUMNS)
        .select_from(log_entries.join(events, events.c.id == log_entries.c.event_id))
        .where(log_entries.c.log_index.in_(list(indexes)))
        .order_by(log_entries.c.log_index.desc())
    ).all()
    return [StoredEntry(int(row[0]), bytes(row[1]), _log_event(tuple(row[2:]))) for row in rows]


@dataclass(frozen=True, slots=True)
class EntryQuery:
    """Which log entries an auditor looks for: every given condition holds (None: any).

    ``type`` is an event type (``voucher.redeemed``) or a family (``voucher``: every
    ``voucher.…`` type); ``since``/``until`` bound the event's time (UTC, until exclusive).
    """

    type: str | None = None
    program_id: str | None = None
    subject_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def find_entries(tx: Connection, query: EntryQuery, below: int, limit: int) -> list[int]:
    """Indexes of the entries below ``below`` whose events match ``query``, newest first."""
    e = events.c
    statement = (
        select(log_entries.c.log_index)
        .select_from(log_entries.join(events, e.id == log_entries.c.event_id))
        .where(log_entries.c.log_index < below)
    )
    if query.type:
        if "." in query.type:
            statement = statement.where(e.type == query.type)
        else:
            statement = statement.where(e.type.startswith(query.type + ".", autoescape=True))
    if query.program_id:
        statement = statement.where(e.program_id == query.program_id)
    if query.subject_id:
        statement = statement.where(e.subject_id == query.subject_id)
    if query.since is not None:
        statement = statement.where(e.occurred_at >= query.since)
    if query.until is not None:
        statement = statement.where(e.occurred_at < query.until)
    rows = tx.execute(statement.order_by(log_entries.c.log_index.desc()).limit(limit))
    return [int(index) for index in rows.scalars()]


def subject_events(
    tx: Connection,
    program_id: str,
    subject_types: Sequence[str],
    limit: int,
    types: Sequence[str] | None = None,
) -> Sequence[AnyRow]:
    """A program's events about the given subjects (of the given ``types`` only, when given),
    oldest first, each with its log index.

    ``log_index`` is NULL for an event the sequencer has not appended yet.
    """
    where = [events.c.program_id == program_id, events.c.subject_type.in_(subject_types)]
    if types is not None:
        where.append(events.c.type.in_(types))
    return tx.execute(
        select(*_EVENT_COLUMNS, log_entries.c.log_index)
        .select_from(events.outerjoin(log_entries, log_entries.c.event_id == events.c.id))
        .where(*where)
        .order_by(events.c.id)
        .limit(limit)
    ).all()
