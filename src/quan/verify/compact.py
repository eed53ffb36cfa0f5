"""The right edge of a Merkle tree (its compact range), so a verifier can resume where it stopped.

A tree of ``size`` leaves is fully described, for appending, by the hashes of its maximal complete
subtrees (one per set bit of ``size``, largest first; :func:`quan.domain.merkle.frontier_keys`).
Keeping them lets a later run hash only the new entries and still recompute the new root, in
O(log n) memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from quan.domain.merkle import EMPTY_ROOT, HASH_SIZE, node_hash


class CompactRange:
    """The frontier hashes of a tree of ``size`` leaves; append leaf hashes, read the root."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"frontier hashes must be {HASH_SIZE} bytes")
        self._size = size
        self._stack = [bytes(h) for h in hashes]

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._stack)

    def append(self, leaf_hash: bytes) -> None:
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
        current = leaf_hash
        # Each trailing 1 bit of the size is a complete subtree of the new one's height: merge.
        merged = self._size
        while merged & 1:
            current = node_hash(self._stack.pop(), current)
            merged >>= 1
        self._stack.append(current)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf_hash in leaf_hashes:
            self.append(leaf_hash)

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result
