"""Queries of the transparency log: the sequencer's queue, appends, node reads, entries, heads.

Everything here is plain storage; what the rows mean (leaf bytes, hashing, signing) lives in
:mod:`quan.domain.log_leaf`, :mod:`quan.domain.merkle` and :mod:`quan.services.transparency`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)

from quan.domain.merkle import Node, NodeKey
from quan.store.log_tables import log_checkpoints, log_entries, log_nodes, log_queue
from quan.store.tables import events

# Bound parameters per statement stay well under SQLite's 32766 and PostgreSQL's 65535.
_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime


def _checkpoint(row: Row[Any]) -> StoredCheckpoint:
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


_EVENT_COLUMNS = (
    events.c.id,
    events.c.type,
    events.c.actor,
    events.c.subject_type,
    events.c.subject_id,
    events.c.program_id,
    events.c.payload,
    events.c.occurred_at,
)


def queued_events(tx: Connection, limit: int) -> Sequence[Row[Any]]:
    """The oldest ``limit`` events waiting for the log, in event id order.

    Reads the queue, not ``events.id > last``: an event whose transaction commits after a higher
    id was sequenced is still in the queue and is taken on the next run.
    """
    return tx.execute(
        select(*_EVENT_COLUMNS)
        .select_from(log_queue.join(events, events.c.id == log_queue.c.event_id))
        .order_by(log_queue.c.event_id)
        .limit(limit)
    ).all()


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
    tx.execute(
        insert(log_entries),
        [
            {"log_index": first_index + offset, "event_id": event_id, "leaf_hash": leaf}
            for offset, (event_id, leaf) in enumerate(zip(event_ids, leaf_hashes, strict=True))
        ],
    )
    upper = [
        {"level": level, "node_index": index, "hash": value}
        for level, index, value in nodes
        if level > 0  # level 0 is the leaf hash, already in log_entries
    ]
    if upper:
        tx.execute(insert(log_nodes), upper)
    for start in range(0, len(event_ids), _CHUNK):
        chunk = list(event_ids[start : start + _CHUNK])
        # Exactly these ids: a range delete could remove a queue row that committed meanwhile.
        tx.execute(delete(log_queue).where(log_queue.c.event_id.in_(chunk)))


class NodeStore:
    """:class:`quan.domain.merkle.NodeReader` over the log tables: one query per ``nodes`` call."""

    def __init__(self, tx: Connection) -> None:
        self._tx = tx

    def nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        leaves = [index for level, index in keys if level == 0]
        upper = [(level, index) for level, index in keys if level > 0]
        parts = []
        if leaves:
            parts.append(
                select(
                    literal(0).label("level"),
                    log_entries.c.log_index.label("node_index"),
                    log_entries.c.leaf_hash.label("hash"),
                ).where(log_entries.c.log_index.in_(leaves))
            )
        if upper:
            parts.append(
                select(log_nodes.c.level, log_nodes.c.node_index, log_nodes.c.hash).where(
                    or_(
                        *(
                            and_(log_nodes.c.level == level, log_nodes.c.node_index == index)
                            for level, index in upper
                        )
                    )
                )
            )
        if not parts:
            return {}
        query = parts[0] if len(parts) == 1 else union_all(*parts)
        return {
            (int(level), int(index)): bytes(value)
            for level, index, value in self._tx.execute(query)
        }


def entries(tx: Connection, start: int, end: int) -> Sequence[Row[Any]]:
    """Log entries ``start…end`` (inclusive) with the event each one records, in log order."""
    return tx.execute(
        select(log_entries.c.log_index, log_entries.c.leaf_hash, *_EVENT_COLUMNS)
        .select_from(log_entries.join(events, events.c.id == log_entries.c.event_id))
        .where(log_entries.c.log_index.between(start, end))
        .order_by(log_entries.c.log_index)
    ).all()


def log_indexes(tx: Connection, event_ids: Sequence[int]) -> dict[int, int]:
    """``event id → log index`` for those of ``event_ids`` already in the log."""
    found: dict[int, int] = {}
    for start in range(0, len(event_ids), _CHUNK):
        chunk = list(event_ids[start : start + _CHUNK])
        rows = tx.execute(
            select(log_entries.c.event_id, log_entries.c.log_index).where(
                log_entries.c.event_id.in_(chunk)
            )
        )
        found.update({int(event_id): int(index) for event_id, index in rows})
    return found
