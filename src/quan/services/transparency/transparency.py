"""The transparency log's use cases: sequencing events, signed checkpoints, entries and proofs.

The sequencer step (:func:`sequence_batch`) takes the oldest queued events, turns each into its
leaf (:mod:`quan.domain.log_leaf`), appends the leaf hashes and the complete subtrees they finish
(:func:`quan.domain.merkle.nodes_to_append`), takes the events off the queue and signs a C2SP
checkpoint for the new size, all in the caller's one transaction. Readers get the latest signed
checkpoint, the log's public key, entries recomputed from the events, and RFC 9162 proofs built
from stored subtree hashes with one node read each.

The log is identified by its Ed25519 key: the seed is ``Settings.log_signing_key`` and the origin
line (also the signed-note key name) is ``quan/log/<first 4 bytes of SHA-256(public key), hex>``.
Personal data in a payload is pseudonymised under a key derived from ``Settings.pii_key``, which
must therefore never change (it already cannot: it also keys the resident-ID lookups).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection

from quan.config import ConfigError, Settings
from quan.domain import merkle
from quan.domain.checkpoint import Checkpoint, format_verifier_key, sign_checkpoint
from quan.domain.errors import Kind, QuanError, define
from quan.domain.log_leaf import (
    LEAF_VERSION,
    LEGACY_VERSION,
    Pseudonymize,
    Pseudonymizer,
    encode_leaf,
    leaf_bytes,
)
from quan.store import log as store
from quan.store import log_read
from quan.store.db import Database
from quan.store.log import StoredCheckpoint

log = logging.getLogger("quan.log")

MAX_ENTRIES_PER_PAGE = 1000
"""Entries answered per request; a larger range is cut short and the client asks again."""

DEFAULT_BATCH = 10_000
"""Events appended per transaction (and per checkpoint) by the sequencer."""

_HASH_CHUNK = 1000
"""Leaves hashed between two writes of the entries stream (see :func:`sequence_batch`)."""

MAX_POSITION = 2**63 - 1
"""Largest index or size the API accepts (the database's BIGINT)."""

_PSEUDONYM_CONTEXT = b"quan/log/pseudonym/v1"

LOG_NOT_STARTED = define(
    "LOG_NOT_STARTED",
    Kind.NOT_FOUND,
    zh="透明日志尚未生成签名检查点，请稍后再试",
    en="The transparency log has no signed checkpoint yet; try again shortly",
)
LOG_BEYOND_TREE_SIZE = define(
    "LOG_BEYOND_TREE_SIZE",
    Kind.INVALID,
    zh="{field}={value} 超出了日志当前的大小 {tree_size}",
    en="{field}={value} is beyond the log's current size {tree_size}",
)
LOG_INVALID_RANGE = define(
    "LOG_INVALID_RANGE",
    Kind.INVALID,
    zh="请求的日志位置或范围无效（{reason}）",
    en="The requested log position or range is not valid ({reason})",
)
# ``reason`` of LOG_INVALID_RANGE: the structured field clients can branch on.
NEGATIVE = "negative"
END_BEFORE_START = "end_before_start"
FIRST_AFTER_SECOND = "first_after_second"
FIRST_IS_ZERO = "first_is_zero"
INDEX_NOT_IN_TREE = "index_not_in_tree"


# --- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogKey:
    """The log's signing key and the name (= origin) its checkpoints carry."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> LogKey:
        if len(seed) != 32:
            raise ConfigError("QUAN_LOG_SIGNING_KEY must be 32 bytes (base64) for Ed25519")
        private_key = Ed25519PrivateKey.from_private_bytes(seed)
        fingerprint = hashlib.sha256(private_key.public_key().public_bytes_raw()).hexdigest()
        return cls(name=f"quan/log/{fingerprint[:8]}", private_key=private_key)

    @classmethod
    def from_settings(cls, settings: Settings) -> LogKey:
        return cls.from_seed(settings.secret_bytes("log_signing_key"))

    @property
    def origin(self) -> str:
        return self.name

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def verifier_key(self) -> str:
        """``name+keyid+base64`` as C2SP note verifiers take it."""
        return format_verifier_key(self.name, self.public_key)


def pseudonymizer(settings: Settings) -> Pseudonymizer:
    """Pseudonyms for personal values that reach a leaf, and the public projection of events
    (citizens as per-program pseudonyms, the lottery's), keyed from the personal-data key."""
    pii_key = settings.secret_bytes("pii_key")
    return Pseudonymizer(
        hmac.new(pii_key, _PSEUDONYM_CONTEXT, hashlib.sha256).digest(), master=pii_key
    )


# --- sequencing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SequencedBatch:
    appended: int
    tree_size: int
    root_hash: bytes
    last_event_id: int | None = None  # the highest event id appended, if any


def sequence_batch(
    tx: Connection,
    now: datetime,
    key: LogKey,
    pseudonymize: Pseudonymize,
    *,
    limit: int = DEFAULT_BATCH,
    after: int = 0,
    prefetched: list[store.QueuedEvent] | None = None,
    on_full: Callable[[int], None] | None = None,
) -> SequencedBatch:
    """Append up to ``limit`` queued events and sign the new tree head, in the caller's transaction.

    With nothing queued it only makes sure a checkpoint for the current size exists (so a fresh
    log publishes its empty tree head). Two callers racing past the lease cannot both commit:
    the second one's log indexes collide with the first one's primary keys.

    ``after`` (the previous batch's ``last_event_id`` in the same run) starts the queue read past
    that id; when that finds less than a full batch, the whole queue is read again, so an event
    that committed late with a lower id is appended in this batch rather than left behind.

    ``prefetched``: the same read (``after``, ``limit``), made on another connection while the
    previous batch was being written; used only when it is a full batch. ``on_full`` is called
    with the last event id as soon as a full batch is read, so the caller can start that read
    for the next batch.
    """
    head = store.latest_checkpoint(tx)
    size = head.tree_size if head else 0
    if prefetched is not None and len(prefetched) == limit:
        queued = prefetched
    else:
        queued = store.queued_events(tx, limit, after=after)
        if after and len(queued) < limit:
            queued = store.queued_events(tx, limit)
    if on_full is not None and len(queued) == limit:
        on_full(queued[-1][0])
    if not queued:
        if head is None:
            return _sign(tx, now, key, 0, merkle.EMPTY_ROOT, appended=0)
        return SequencedBatch(0, head.tree_size, head.root_hash)

    event_ids = [event[0] for event in queued]
    projected_from = store.first_index_of(tx, LEAF_VERSION)
    hashes: list[bytes] = []
    # Entries stream to the database chunk by chunk while the next chunk is hashed.
    with store.appending(tx, size) as write_entries:
        for start in range(0, len(queued), _HASH_CHUNK):
            chunk = _leaf_hashes(
                queued[start : start + _HASH_CHUNK], pseudonymize, size + start, projected_from
            )
            write_entries(event_ids[start : start + _HASH_CHUNK], chunk)
            hashes.extend(chunk)
    reader = log_read.NodeStore(tx)
    # Leaves are stored with their entries (log_entries), so only the upper nodes are wanted.
    created = merkle.nodes_to_append(size, hashes, reader, leaves=False)
    store.finish_append(tx, event_ids=event_ids, nodes=created)
    new_size = size + len(queued)
    root = merkle.root(new_size, reader)
    batch = _sign(tx, now, key, new_size, root, appended=len(queued))
    return SequencedBatch(batch.appended, batch.tree_size, batch.root_hash, queued[-1][0])


def _leaf_hashes(
    queued: list[store.QueuedEvent],
    pseudonymize: Pseudonymize,
    first_index: int = 0,
    projected_from: int = 0,
) -> list[bytes]:
    """The leaf hash of each queued event: the sequencer's inner loop, kept tight.

    ``first_index`` is the log index of the first; entries from ``projected_from`` on are in
    format 2 (all of them, once the migration has run: it records the log's size then).
    """
    sha256 = hashlib.sha256
    loads = json.loads
    hashes: list[bytes] = []
    append = hashes.append
    legacy = max(projected_from - first_index, 0)  # how many of these predate format 2
    for n, (event_id, type_, actor, subject_type, subject_id, program_id, payload, at) in (
        enumerate(queued)
    ):
        touched: list[str] = []
        data = leaf_bytes(
            event_id,
            type_,
            actor,
            subject_type,
            subject_id,
            program_id,
            loads(payload),
            at,
            pseudonymize,
            touched,
            LEGACY_VERSION if n < legacy else LEAF_VERSION,
        )
        if touched:
            # The paths only: the values are exactly what must not reach a log line either.
            log.warning(
                "event %s (%s) carried personal data at %s; pseudonymised in its leaf",
                event_id,
                type_,
                ", ".join(touched),
            )
        append(sha256(b"\x00" + data).digest())  # merkle.leaf_hash, inlined
    return hashes


def _sign(
    tx: Connection, now: datetime, key: LogKey, size: int, root: bytes, *, appended: int
) -> SequencedBatch:
    note = sign_checkpoint(Checkpoint(key.origin, size, root), key.name, key.private_key)
    store.save_checkpoint(tx, tree_size=size, root_hash=root, note=note, at=now)
    return SequencedBatch(appended, size, root)


# --- reading -------------------------------------------------------------------------------------


def latest(tx: Connection) -> StoredCheckpoint:
    """The newest signed checkpoint; the log answers nothing beyond its size."""
    head = store.latest_checkpoint(tx)
    if head is None:
        raise QuanError(LOG_NOT_STARTED)
    return head


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    data: bytes


def entries(tx: Connection, start: int, end: int, pseudonymize: Pseudonymize) -> list[Entry]:
    """Leaves ``start…end`` inclusive, at most :data:`MAX_ENTRIES_PER_PAGE` of them.

    The bytes are recomputed from the event rows. A leaf whose hash no longer matches the one
    appended means the event was changed behind the database's back: it is served as it now
    reads (the verifier's job is to notice) and logged as an error for the operators.
    """
    size = latest(tx).tree_size
    _non_negative(start=start, end=end)
    if end < start:
        raise QuanError(LOG_INVALID_RANGE, reason=END_BEFORE_START)
    for field, value in (("start", start), ("end", end)):
        if value >= size:
            raise QuanError(LOG_BEYOND_TREE_SIZE, field=field, value=value, tree_size=size)
    end = min(end, start + MAX_ENTRIES_PER_PAGE - 1)
    return _encoded(tx, log_read.entries(tx, start, end), pseudonymize)


def entries_at(tx: Connection, indexes: Sequence[int], pseudonymize: Pseudonymize) -> list[Entry]:
    """The leaves at ``indexes`` (at most :data:`MAX_ENTRIES_PER_PAGE`), newest first, exactly
    as :func:`entries` serves them."""
    if len(indexes) > MAX_ENTRIES_PER_PAGE:
        raise ValueError(f"at most {MAX_ENTRIES_PER_PAGE} entries at a time")
    return _encoded(tx, log_read.entries_at(tx, indexes), pseudonymize)


def _encoded(
    tx: Connection, stored_entries: Sequence[log_read.StoredEntry], pseudonymize: Pseudonymize
) -> list[Entry]:
    """Each stored entry's leaf bytes, recomputed from its event (see :func:`entries`)."""
    projected_from = store.first_index_of(tx, LEAF_VERSION)
    out: list[Entry] = []
    for stored in stored_entries:
        version = LEAF_VERSION if stored.index >= projected_from else LEGACY_VERSION
        leaf = encode_leaf(stored.event, pseudonymize, version)
        if merkle.leaf_hash(leaf.data) != stored.leaf_hash:
            log.error(
                "log entry %s (event %s) no longer matches its leaf hash",
                stored.index,
                stored.event.id,
            )
        out.append(Entry(stored.index, leaf.data))
    return out


def inclusion_proof(db: Database, index: int, tree_size: int) -> list[bytes]:
    """RFC 9162 audit path of leaf ``index`` in the published tree of ``tree_size`` leaves.

    Reads through the process's :class:`quan.store.log_read.PublicLogReader`: at most one query for
    the nodes, and none for the published size unless ``tree_size`` is larger than the largest
    this process has seen.
    """
    _non_negative(index=index, tree_size=tree_size)
    reader = log_read.public_reader(db)
    _published(reader, "tree_size", tree_size)
    if index >= tree_size:
        raise QuanError(LOG_INVALID_RANGE, reason=INDEX_NOT_IN_TREE)
    return merkle.inclusion_proof(index, tree_size, reader)


def consistency_proof(db: Database, first: int, second: int) -> list[bytes]:
    """RFC 9162 proof that the tree of ``first`` leaves is a prefix of the one of ``second``."""
    _non_negative(first=first, second=second)
    reader = log_read.public_reader(db)
    _published(reader, "second", second)
    if first > second:
        raise QuanError(LOG_INVALID_RANGE, reason=FIRST_AFTER_SECOND)
    if first == 0:
        # RFC 9162 defines no proof from the empty tree: every tree extends it.
        raise QuanError(LOG_INVALID_RANGE, reason=FIRST_IS_ZERO)
    return merkle.consistency_proof(first, second, reader)


def _published(reader: log_read.PublicLogReader, field: str, tree_size: int) -> None:
    """Proofs are for trees the log has published, never for a size it has not signed."""
    size = reader.published_size(tree_size)
    if size is None:
        raise QuanError(LOG_NOT_STARTED)
    if tree_size > size:
        raise QuanError(LOG_BEYOND_TREE_SIZE, field=field, value=tree_size, tree_size=size)


def _non_negative(**values: int) -> None:
    for value in values.values():
        if value < 0:
            raise QuanError(LOG_INVALID_RANGE, reason=NEGATIVE)
