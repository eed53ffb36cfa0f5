"""Checking Merkle proofs (RFC 9162 §2.1.3.2 and §2.1.4.2) and the whole-log, in-memory helpers
(a root from every leaf hash, a dictionary node store) that verifiers and tests use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from quan.domain.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MerkleProofError,
    Node,
    NodeKey,
    _fold,
    _require_hash,
    node_hash,
    nodes_to_append,
)


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` implies for ``leaf_hash`` at ``index`` in a tree of ``size``.

    Raises :class:`MerkleProofError` if the proof cannot belong to such a tree at all (index out
    of range, wrong number of hashes, hashes of the wrong length).
    """
    if index < 0 or size < 0:
        raise MerkleProofError(f"index ({index}) and size ({size}) must not be negative")
    if index >= size:
        raise MerkleProofError(f"leaf index {index} is not in a tree of size {size}")
    result = _require_hash(leaf_hash, "leaf hash")
    path = [_require_hash(p, f"inclusion proof hash #{i}") for i, p in enumerate(proof)]

    fn, sn = index, size - 1
    for p in path:
        if sn == 0:
            raise MerkleProofError(f"inclusion proof is too long ({len(path)} hashes)")
        if fn & 1 or fn == sn:
            result = node_hash(p, result)
            # Skip the levels where this node is the lone right-edge child: no sibling there.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError(f"inclusion proof is too short ({len(path)} hashes)")
    return result


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` sits at ``index`` in the tree of ``size`` with ``root``."""
    expected = _require_hash(root, "root hash")
    calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if calculated != expected:
        raise MerkleProofError(
            f"inclusion proof for leaf {index} of {size} leads to root {calculated.hex()}, "
            f"not {expected.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` with ``root1`` is a prefix of ``size2`` with ``root2``."""
    if size1 < 0 or size2 < 0:
        raise MerkleProofError(f"tree sizes must not be negative ({size1}, {size2})")
    if size2 < size1:
        raise MerkleProofError(f"size2 ({size2}) is smaller than size1 ({size1})")
    if size1 == 0:
        # Every tree extends the empty one, so such a "proof" would only ever vouch for garbage.
        raise MerkleProofError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise MerkleProofError("sizes are equal but the consistency proof is not empty")
        if bytes(root1) != bytes(root2):
            raise MerkleProofError("sizes are equal but the roots differ")
        return
    # RFC 9162 §2.1.4.2 step 1.
    if not proof:
        raise MerkleProofError("consistency proof is empty")
    first = _require_hash(root1, "root1")
    second = _require_hash(root2, "root2")
    path = [_require_hash(c, f"consistency proof hash #{i}") for i, c in enumerate(proof)]

    if size1 & (size1 - 1) == 0:
        # The old tree is a complete subtree of the new one, so its root is the starting node.
        path.insert(0, first)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MerkleProofError(f"consistency proof is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError(f"consistency proof is too short ({len(proof)} hashes)")
    if fr != first:
        raise MerkleProofError(
            f"consistency proof leads to old root {fr.hex()}, not {first.hex()} (size {size1})"
        )
    if sr != second:
        raise MerkleProofError(
            f"consistency proof leads to new root {sr.hex()}, not {second.hex()} (size {size2})"
        )


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of a stream of leaf hashes in O(log n) memory, for verifiers that fetch every entry.

    Keeps only the frontier (one hash per set bit of the count so far), merging equal-height
    subtrees as soon as they form, exactly as an append-only log grows.
    """
    stack: list[bytes] = []
    for count, value in enumerate(leaf_hashes):
        current = _require_hash(value, f"leaf hash #{count}")
        # Each trailing 1 bit of the count so far is a finished subtree of the same height.
        merged = count
        while merged & 1:
            current = node_hash(stack.pop(), current)
            merged >>= 1
        stack.append(current)
    if not stack:
        return EMPTY_ROOT
    return _fold(stack)


class DictNodeStore:
    """In-memory :class:`NodeReader` for tests and the offline verifier.

    ``put`` refuses to change a stored hash: complete subtrees are immutable, so a conflicting
    write means a bug or a forked log, never a legitimate update.
    """

    def __init__(self) -> None:
        self._nodes: dict[NodeKey, bytes] = {}
        self._leaves = 0

    @property
    def size(self) -> int:
        """Number of leaves stored (level-0 nodes); with append-only writes, the tree size."""
        return self._leaves

    def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        stored = self._nodes
        return {key: stored[key] for key in keys if key in stored}

    def put(self, nodes: Iterable[Node]) -> None:
        """Store ``(level, index, hash)`` nodes, e.g. the result of :func:`nodes_to_append`."""
        for level, index, value in nodes:
            if level < 0 or index < 0:
                raise ValueError(f"invalid node key ({level}, {index})")
            if len(value) != HASH_SIZE:
                raise ValueError(f"node ({level}, {index}) hash is not {HASH_SIZE} bytes")
            key = (level, index)
            existing = self._nodes.get(key)
            if existing is None:
                self._nodes[key] = bytes(value)
                if level == 0:
                    self._leaves += 1
            elif existing != value:
                raise ValueError(f"node ({level}, {index}) is already stored with another hash")

    def append(self, leaf_hashes: Sequence[bytes]) -> list[Node]:
        """Append leaves at the end of the stored tree; returns the nodes written."""
        created = nodes_to_append(self._leaves, leaf_hashes, self)
        self.put(created)
        return created

    def all_nodes(self) -> dict[NodeKey, bytes]:
        """A copy of every stored node, for comparing stores in tests."""
        return dict(self._nodes)
