"""RFC 9162 Merkle tree arithmetic for Quan's transparency log: hashing, appends, proofs, checks.

This module owns the pure part of the log: how leaves and nodes are hashed (RFC 9162 §2.1.1,
SHA-256 with the 0x00/0x01 domain-separation prefixes), which stored nodes an append creates,
how inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) are assembled from stored nodes,
and how a client verifies them (§2.1.3.2, §2.1.4.2). It does no I/O: storage is reached through
the :class:`NodeReader` protocol, which the database layer implements.

Storage model
-------------
Only hashes of *complete* subtrees are stored. Node ``(level, index)`` covers the leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. A complete node
never changes once written, so the table is append-only like the log itself. A tree of size
``n`` whose right edge is not a perfect subtree has *ephemeral* nodes on that edge; their hashes
are composed on the fly from the O(log n) complete nodes that cover the same leaves.

Every proof function first works out the complete keys it needs, reads them with ONE
``reader.nodes`` call (O(log n) keys) and then hashes; none of them walks the whole tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

HASH_SIZE: Final = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""Root hash of the empty tree: MTH({}) = SHA-256() per RFC 9162 §2.1.1."""

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

NodeKey = tuple[int, int]
"""``(level, index)`` of a complete subtree."""

Node = tuple[int, int, bytes]
"""``(level, index, hash)`` of a complete subtree, as the store writes it."""


class MerkleProofError(ValueError):
    """A proof or hash given for verification does not check out."""


class MissingNodeError(LookupError):
    """The node store lacks nodes that a complete tree of the requested size must have."""

    def __init__(self, keys: Iterable[NodeKey]) -> None:
        self.keys: tuple[NodeKey, ...] = tuple(sorted(keys))
        shown = ", ".join(f"({level}, {index})" for level, index in self.keys[:8])
        more = "" if len(self.keys) <= 8 else f" and {len(self.keys) - 8} more"
        super().__init__(f"node store is missing {len(self.keys)} node(s): {shown}{more}")


class NodeReader(Protocol):
    """Batched read access to stored complete-subtree hashes.

    ``nodes`` receives every key a computation needs at once so that a database implementation
    can answer with a single query. Keys that are not stored are simply absent from the result.
    """

    def nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]: ...


# --- hashing -----------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Hash of a log entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _require_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise MerkleProofError(f"{what} must be {HASH_SIZE} bytes, got {size}")
    return bytes(value)


# --- tree shape --------------------------------------------------------------------------------


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier_keys(size: int) -> list[NodeKey]:
    """Keys of the maximal complete subtrees covering ``[0, size)``, left to right.

    These are the right-edge nodes an append may have to combine with; there is one per set
    bit of ``size``, so at most ``size.bit_length()`` of them.
    """
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    return [
        (level, (size >> level) - 1)
        for level in range(size.bit_length() - 1, -1, -1)
        if (size >> level) & 1
    ]


def _cover(start: int, end: int) -> list[NodeKey]:
    """Complete-subtree keys that exactly cover leaves ``[start, end)``, left to right.

    Greedy: at each step take the largest block that is aligned at ``start`` and still fits.
    For the ranges RFC 9162 proofs use (``start`` aligned to a power of two at least as large
    as the range) levels strictly decrease, so folding from the right yields the range's MTH.
    """
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its cover (levels decreasing left to right)."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _read(reader: NodeReader, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH of each ``[start, end)`` range, with one batched read for all their covers."""
    covers = [_cover(start, end) for start, end in ranges]
    # dict.fromkeys keeps the order and drops duplicates; the covers of disjoint ranges never
    # overlap, but callers should not have to rely on that to keep the read minimal.
    keys = list(dict.fromkeys(key for cover in covers for key in cover))
    if not keys:
        return []
    found = reader.nodes(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        raise MissingNodeError(missing)
    for key in keys:
        value = found[key]
        if len(value) != HASH_SIZE:
            raise ValueError(f"stored node {key} is {len(value)} bytes, not {HASH_SIZE}")
    return [_fold([found[key] for key in cover]) for cover in covers]


# --- appending ---------------------------------------------------------------------------------


def nodes_to_append(
    size: int, leaf_hashes: Sequence[bytes], reader: NodeReader, *, leaves: bool = True
) -> list[Node]:
    """Every complete-subtree node that appending ``leaf_hashes`` to a tree of ``size`` creates.

    The result includes the new leaves themselves at level 0 (unless ``leaves`` is False, for a
    store that keeps them elsewhere) and is ordered by level, then index. Only frontier nodes
    that actually pair with a new node are read, in one call.
    The work is one SHA-256 per new node (fewer than two per leaf), done level by level so that
    large batches stay in tight list comprehensions.
    """
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    for position, value in enumerate(leaf_hashes):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise ValueError(f"leaf hash #{position} is not {HASH_SIZE} bytes")
    if not leaf_hashes:
        return []
    new_size = size + len(leaf_hashes)

    # A stored node at level L pairs with a new one exactly when it is the left child of a node
    # that becomes complete now: size has bit L set and the parent level gains a node.
    needed = [
        (level, (size >> level) - 1)
        for level in range(size.bit_length())
        if (size >> level) & 1 and (new_size >> (level + 1)) > (size >> (level + 1))
    ]
    frontier: Mapping[NodeKey, bytes] = reader.nodes(needed) if needed else {}
    missing = [key for key in needed if key not in frontier]
    if missing:
        raise MissingNodeError(missing)

    created: list[Node] = (
        [(0, size + offset, h) for offset, h in enumerate(leaf_hashes)] if leaves else []
    )
    sha256 = hashlib.sha256
    prefix = _NODE_PREFIX
    row: list[bytes] = list(leaf_hashes)
    level = 0
    while True:
        first_new = size >> level
        if first_new & 1:
            # The first new node here is a right child; its left sibling is on the frontier.
            row.insert(0, frontier[(level, first_new - 1)])
        # A trailing unpaired node stays incomplete until a later append, hence strict=False.
        pairs = zip(row[0::2], row[1::2], strict=False)
        parents = [sha256(prefix + left + right).digest() for left, right in pairs]
        if not parents:
            return created
        level += 1
        base = size >> level
        created.extend((level, base + offset, h) for offset, h in enumerate(parents))
        row = parents


# --- reading roots and proofs --------------------------------------------------------------------


def root(size: int, reader: NodeReader) -> bytes:
    """Root hash (MTH) of the tree's first ``size`` leaves."""
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    if size == 0:
        return EMPTY_ROOT
    (result,) = _read(reader, [(0, size)])
    return result


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form RFC 9162 PATH(index, D[0:size]), leaf to root."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    # The recursion emits the sibling nearest the root first; the proof lists it last.
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.3.1 audit path for leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _read(reader, _inclusion_ranges(index, size))


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form RFC 9162 PROOF(old_size, D[0:new_size])."""
    ranges: list[tuple[int, int]] = []
    # SUBPROOF(m, D[lo:hi], b) with m kept in absolute leaf numbers.
    lo, hi, whole_old_tree = 0, new_size, True
    while old_size != hi:
        k = _split(hi - lo)
        if old_size <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole_old_tree = False
    if not whole_old_tree:
        # The old tree's last subtree: the verifier cannot know it unless it is the old root.
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.4.1 proof that the tree of ``old_size`` is a prefix of ``new_size``.

    Equal sizes give the empty proof. ``old_size == 0`` is refused: RFC 9162 defines PROOF only
    for ``0 < m``, and every verifier refuses a proof from the empty tree.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size == new_size:
        return []
    return _read(reader, _consistency_ranges(old_size, new_size))


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ---------------------------------------------


# --- whole-log and in-memory helpers -------------------------------------------------------------
