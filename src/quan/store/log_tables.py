"""Tables of the transparency log (migration 0002): the queue, the entries, the tree, the heads.

- ``log_queue``: ids of events not yet in the log. A database trigger on ``events`` fills it in
  the same transaction as the event, so a row becomes visible exactly when its event commits;
  the sequencer removes the ids it appends. This is what keeps a slow transaction with a low
  event id (PostgreSQL sequences hand ids out before commit) from being skipped, and it keeps
  the sequencer's read small however long the history grows.
- ``log_entries``: log position → event, with the leaf hash (level 0 of the tree). The leaf
  bytes themselves are not stored: they are recomputed from the append-only event row, so the
  log vouches for the ``events`` table itself.
- ``log_nodes``: hashes of complete subtrees at level >= 1 (see :mod:`quan.domain.merkle`).
- ``log_checkpoints``: every signed tree head, as published (C2SP checkpoint text).
- ``log_keys``: the signing keys, oldest first, each after the first endorsed by the one before.

Entries, nodes, checkpoints and keys are append-only (database triggers), like events.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
)

from quan.store.tables import UtcDateTime, metadata

_BigId = BigInteger().with_variant(Integer, "sqlite")

log_queue = Table(
    "log_queue",
    metadata,
    Column("event_id", _BigId, primary_key=True, autoincrement=False),
)

log_entries = Table(
    "log_entries",
    metadata,
    Column("log_index", BigInteger, primary_key=True, autoincrement=False),
    # No foreign key: entries are only ever made from a join with events, which are append-only,
    # and PostgreSQL's per-row RI check would double the cost of appending.
    Column("event_id", _BigId, nullable=False, unique=True),
    Column("leaf_hash", LargeBinary, nullable=False),
    CheckConstraint("log_index >= 0", name="index"),
)

log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", SmallInteger, nullable=False),
    Column("node_index", BigInteger, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("level", "node_index", name="pk_log_nodes"),
    CheckConstraint("level >= 1 AND node_index >= 0", name="key"),
)

log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),  # the signed checkpoint text, byte for byte
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("tree_size >= 0", name="size"),
)

# From which log index on leaves are written in a format (migration 0013: format 2, the public
# projection, from the size the log had then). No row: every leaf is in the newest format.
log_formats = Table(
    "log_formats",
    metadata,
    Column("version", SmallInteger, primary_key=True, autoincrement=False),
    Column("first_index", BigInteger, nullable=False),
    CheckConstraint("first_index >= 0", name="first_index"),
)

# The signing keys, oldest first (quan.domain.log_keys): a rotation appends one, endorsed by
# the key before it. The first row is written by the first sequencer run (the log's first key).
log_keys = Table(
    "log_keys",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("verifier_key", Text, nullable=False, unique=True),
    Column("endorsement", Text, nullable=True),  # signed note; null for the first key only
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("position >= 0", name="position"),
)

APPEND_ONLY = ("log_entries", "log_nodes", "log_checkpoints", "log_keys")
