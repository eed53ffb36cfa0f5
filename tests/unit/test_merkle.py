"""Rules of the RFC 9162 Merkle log: RFC 9162 test vectors, a naive reference, and tampering."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quan.domain import merkle
from quan.domain.merkle import (
    EMPTY_ROOT,
    MerkleProofError,
    MissingNodeError,
    NodeKey,
    consistency_proof,
    frontier_keys,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_to_append,
    root,
)
from quan.domain.merkle_verify import (
    DictNodeStore,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# The RFC 9162 vectors travel with the repository (tests/testdata/merkle, Apache-2.0, origin in
# its README): a test never reads outside the repository.
VECTORS = Path(__file__).resolve().parents[1] / "testdata" / "merkle"


# --- reference implementation: RFC 9162 §2.1 written as literally as possible ----------------


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf *hashes* (the leaf hashing step is already done)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, leaves, True)


def leaves_for(count: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(f"entry {salt}:{i}".encode()) for i in range(count)]


@lru_cache(maxsize=8)
def _store_with(count: int) -> tuple[tuple[bytes, ...], DictNodeStore]:
    leaves = leaves_for(count)
    store = DictNodeStore()
    store.append(leaves)
    return tuple(leaves), store


class SpyReader:
    """Counts reads so the tests can hold the one-batched-read rule."""

    def __init__(self, inner: DictNodeStore) -> None:
        self.inner = inner
        self.calls: list[list[NodeKey]] = []

    def nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        self.calls.append(list(keys))
        return self.inner.nodes(keys)


def flip_bit(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


# --- RFC 9162 vectors (transparency-dev/merkle testdata, copied into tests/testdata) ----


def _vector_params(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).glob("*/*.json"))
    if not files:
        # An empty parameter list would make pytest *skip*; a missing folder must fail instead.
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(f, id=str(f.relative_to(VECTORS))) for f in files]


def _load(path: Path | None) -> dict[str, Any]:
    assert path is not None, f"Merkle test vectors not found under {VECTORS}"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _b64_list(values: list[str] | None) -> list[bytes]:
    return [_b64(v) for v in values or []]


def test_vector_folder_is_present_with_both_kinds() -> None:
    assert VECTORS.is_dir(), f"Merkle test vectors not found at {VECTORS}"
    assert len(list((VECTORS / "inclusion").glob("*/*.json"))) > 50
    assert len(list((VECTORS / "consistency").glob("*/*.json"))) > 50


@pytest.mark.parametrize("path", _vector_params("inclusion"))
def test_inclusion_verifier_agrees_with_shared_vector(path: Path | None) -> None:
    case = _load(path)
    args = (
        _b64(case["leafHash"]),
        case["leafIdx"],
        case["treeSize"],
        _b64_list(case["proof"]),
        _b64(case["root"]),
    )
    if case["wantErr"]:
        with pytest.raises(MerkleProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_params("consistency"))
def test_consistency_verifier_agrees_with_shared_vector(path: Path | None) -> None:
    case = _load(path)
    args = (
        case["size1"],
        case["size2"],
        _b64_list(case["proof"]),
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(MerkleProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


# The 8-leaf tree of the RFC 6962 / transparency-dev reference tests; the happy-path vectors
# were produced from it, so generating them again checks our proofs byte for byte.
RFC6962_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]


def test_generated_proofs_equal_the_happy_path_vectors() -> None:
    store = DictNodeStore()
    store.append([leaf_hash(d) for d in RFC6962_LEAVES])
    expected_root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
    assert base64.b64encode(root(8, store)).decode() == expected_root
    matched = 0
    for path in sorted(VECTORS.glob("inclusion/*/happy-path.json")):
        case = _load(path)
        size, index = case["treeSize"], case["leafIdx"]
        if size > 8 or root(size, store) != _b64(case["root"]):
            continue
        assert store.nodes([(0, index)])[(0, index)] == _b64(case["leafHash"])
        assert inclusion_proof(index, size, store) == _b64_list(case["proof"]), path
        matched += 1
    for path in sorted(VECTORS.glob("consistency/*/happy-path.json")):
        case = _load(path)
        size1, size2 = case["size1"], case["size2"]
        if size2 > 8 or root(size2, store) != _b64(case["root2"]):
            continue
        assert root(size1, store) == _b64(case["root1"])
        assert consistency_proof(size1, size2, store) == _b64_list(case["proof"]), path
        matched += 1
    assert matched >= 6


# --- hashing and roots -------------------------------------------------------------------------


def test_hashes_use_rfc9162_domain_separation() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = bytes(32), bytes([1]) * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_empty_tree_root_is_hash_of_nothing_and_needs_no_read() -> None:
    spy = SpyReader(DictNodeStore())
    assert root(0, spy) == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert spy.calls == []


@settings(max_examples=60, deadline=None)
@given(total=st.integers(min_value=1, max_value=300), data=st.data())
def test_root_from_stored_nodes_matches_reference(total: int, data: st.DataObject) -> None:
    leaves, store = _store_with(total)
    size = data.draw(st.integers(min_value=0, max_value=total), label="size")
    expected = ref_mth(leaves[:size])
    assert root(size, store) == expected
    assert root_from_leaf_hashes(iter(leaves[:size])) == expected


def test_frontier_keys_are_the_maximal_complete_subtrees() -> None:
    assert frontier_keys(0) == []
    assert frontier_keys(13) == [(3, 0), (2, 2), (0, 12)]
    assert frontier_keys(16) == [(4, 0)]


# --- appending ---------------------------------------------------------------------------------


def _all_complete_nodes(leaves: Sequence[bytes]) -> dict[NodeKey, bytes]:
    nodes: dict[NodeKey, bytes] = {}
    level = 0
    while (1 << level) <= len(leaves):
        width = 1 << level
        for index in range(len(leaves) // width):
            nodes[(level, index)] = ref_mth(leaves[index * width : (index + 1) * width])
        level += 1
    return nodes


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12),
)
def test_appending_in_chunks_stores_every_complete_subtree_like_one_append(
    chunks: list[int],
) -> None:
    total = sum(chunks)
    leaves = leaves_for(total, salt=total)
    chunked = DictNodeStore()
    position = 0
    for count in chunks:
        before = chunked.all_nodes()
        created = chunked.append(leaves[position : position + count])
        # Exactly the subtrees that became complete, each once, none already stored.
        keys = [(level, index) for level, index, _ in created]
        assert len(keys) == len(set(keys))
        assert not set(keys) & set(before)
        position += count
        assert chunked.size == position
        assert chunked.all_nodes() == _all_complete_nodes(leaves[:position])
    at_once = DictNodeStore()
    at_once.append(leaves)
    assert chunked.all_nodes() == at_once.all_nodes()
    assert root(total, chunked) == root(total, at_once) == ref_mth(leaves)


@settings(max_examples=80, deadline=None)
@given(size=st.integers(min_value=0, max_value=2000), count=st.integers(min_value=1, max_value=70))
def test_append_reads_only_needed_frontier_nodes_in_one_call(size: int, count: int) -> None:
    leaves = leaves_for(size + count)
    store = DictNodeStore()
    store.append(leaves[:size])
    spy = SpyReader(store)
    created = nodes_to_append(size, leaves[size:], spy)
    assert len(spy.calls) <= 1
    for keys in spy.calls:
        assert set(keys) <= set(frontier_keys(size))
    store.put(created)
    assert root(size + count, store) == root_from_leaf_hashes(leaves)


def test_appending_nothing_creates_nothing_and_reads_nothing() -> None:
    spy = SpyReader(DictNodeStore())
    assert nodes_to_append(0, [], spy) == []
    assert spy.calls == []


def test_append_refuses_hashes_that_are_not_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        nodes_to_append(0, [leaf_hash(b"a"), b"short"], DictNodeStore())


def test_append_onto_a_tree_missing_its_frontier_fails_loudly() -> None:
    with pytest.raises(MissingNodeError) as caught:
        nodes_to_append(3, [leaf_hash(b"x")], DictNodeStore())
    assert caught.value.keys == ((0, 2), (1, 0))


def test_store_refuses_to_rewrite_a_complete_subtree() -> None:
    store = DictNodeStore()
    store.append(leaves_for(2))
    with pytest.raises(ValueError, match="another hash"):
        store.put([(1, 0, bytes(32))])


def test_large_append_of_50000_leaves_is_linear_and_correct() -> None:
    # Speed is the benchmarks' business (docs/benchmarks.md); here, that the work is linear:
    # fewer new nodes than two per leaf.
    store = DictNodeStore()
    existing = leaves_for(12_345)
    store.append(existing)
    batch = leaves_for(50_000, salt=1)
    created = nodes_to_append(store.size, batch, store)
    assert len(created) < 2 * len(batch)
    store.put(created)
    assert root(store.size, store) == root_from_leaf_hashes(existing + batch)


# --- proofs from stored nodes ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(total=st.integers(min_value=1, max_value=300), data=st.data())
def test_inclusion_proof_from_stored_nodes_matches_reference(
    total: int, data: st.DataObject
) -> None:
    leaves, store = _store_with(total)
    # Proofs for older tree sizes come from the same (larger) store, as for old checkpoints.
    size = data.draw(st.integers(min_value=1, max_value=total), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = inclusion_proof(index, size, store)
    assert proof == ref_path(index, leaves[:size])
    tree_root = ref_mth(leaves[:size])
    verify_inclusion(leaves[index], index, size, proof, tree_root)
    assert root_from_inclusion_proof(leaves[index], index, size, proof) == tree_root


@settings(max_examples=150, deadline=None)
@given(total=st.integers(min_value=1, max_value=300), data=st.data())
def test_consistency_proof_from_stored_nodes_matches_reference(
    total: int, data: st.DataObject
) -> None:
    leaves, store = _store_with(total)
    size2 = data.draw(st.integers(min_value=1, max_value=total), label="size2")
    size1 = data.draw(st.integers(min_value=1, max_value=size2), label="size1")
    proof = consistency_proof(size1, size2, store)
    assert proof == (ref_proof(size1, leaves[:size2]) if size1 < size2 else [])
    verify_consistency(size1, size2, proof, ref_mth(leaves[:size1]), ref_mth(leaves[:size2]))


def test_every_proof_up_to_size_64_matches_reference() -> None:
    leaves, store = _store_with(64)
    for size in range(1, 65):
        for index in range(size):
            assert inclusion_proof(index, size, store) == ref_path(index, leaves[:size])
        for size1 in range(1, size):
            assert consistency_proof(size1, size, store) == ref_proof(size1, leaves[:size])


def _key_bound(n: int) -> int:
    return 2 * math.ceil(math.log2(n)) + 2


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_each_proof_is_one_read_of_logarithmically_many_keys(data: st.DataObject) -> None:
    _, store = _store_with(5000)
    size = data.draw(st.integers(min_value=2, max_value=5000), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    old = data.draw(st.integers(min_value=1, max_value=size - 1), label="old")
    for compute in (
        lambda r: inclusion_proof(index, size, r),
        lambda r: consistency_proof(old, size, r),
        lambda r: root(size, r),
    ):
        spy = SpyReader(store)
        compute(spy)
        assert len(spy.calls) == 1
        (keys,) = spy.calls
        assert len(keys) == len(set(keys))
        assert len(keys) <= _key_bound(size), (compute, keys)


def test_proofs_that_need_no_nodes_make_no_read() -> None:
    spy = SpyReader(DictNodeStore())
    assert inclusion_proof(0, 1, spy) == []
    assert consistency_proof(5, 5, spy) == []
    assert spy.calls == []


def test_proof_requests_outside_the_tree_are_refused() -> None:
    _, store = _store_with(8)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(8, 8, store)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(-1, 8, store)
    with pytest.raises(ValueError, match="consistency"):
        consistency_proof(0, 8, store)
    with pytest.raises(ValueError, match="consistency"):
        consistency_proof(5, 4, store)


def test_proof_beyond_the_stored_tree_reports_missing_nodes() -> None:
    _, store = _store_with(8)
    with pytest.raises(MissingNodeError):
        inclusion_proof(3, 9, store)
    with pytest.raises(MissingNodeError):
        root(9, store)


# --- verification refuses tampering ------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(total=st.integers(min_value=2, max_value=300), data=st.data())
def test_tampered_inclusion_proof_or_leaf_is_refused(total: int, data: st.DataObject) -> None:
    leaves, store = _store_with(total)
    size = data.draw(st.integers(min_value=2, max_value=total), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = inclusion_proof(index, size, store)
    tree_root = root(size, store)
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")

    position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="position")
    tampered = list(proof)
    tampered[position] = flip_bit(tampered[position], bit)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaves[index], index, size, tampered, tree_root)
    with pytest.raises(MerkleProofError):
        verify_inclusion(flip_bit(leaves[index], bit), index, size, proof, tree_root)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaves[index], index, size, proof[:-1], tree_root)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaves[index], index, size, [*proof, tree_root], tree_root)
    with pytest.raises(MerkleProofError):
        verify_inclusion(leaves[index], index ^ 1, size, proof, tree_root)


@settings(max_examples=120, deadline=None)
@given(total=st.integers(min_value=2, max_value=300), data=st.data())
def test_tampered_consistency_proof_or_root_is_refused(total: int, data: st.DataObject) -> None:
    _, store = _store_with(total)
    size2 = data.draw(st.integers(min_value=2, max_value=total), label="size2")
    size1 = data.draw(st.integers(min_value=1, max_value=size2 - 1), label="size1")
    proof = consistency_proof(size1, size2, store)
    root1, root2 = root(size1, store), root(size2, store)
    bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")

    position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="position")
    tampered = list(proof)
    tampered[position] = flip_bit(tampered[position], bit)
    with pytest.raises(MerkleProofError):
        verify_consistency(size1, size2, tampered, root1, root2)
    with pytest.raises(MerkleProofError):
        verify_consistency(size1, size2, proof, flip_bit(root1, bit), root2)
    with pytest.raises(MerkleProofError):
        verify_consistency(size1, size2, proof, root1, flip_bit(root2, bit))
    with pytest.raises(MerkleProofError):
        verify_consistency(size1, size2, proof[:-1], root1, root2)
    with pytest.raises(MerkleProofError):
        verify_consistency(size1, size2, [*proof, root2], root1, root2)


def test_verifiers_refuse_hashes_that_are_not_32_bytes() -> None:
    leaves, store = _store_with(4)
    proof = inclusion_proof(1, 4, store)
    tree_root = root(4, store)
    with pytest.raises(MerkleProofError, match="32 bytes"):
        verify_inclusion(leaves[1][:31], 1, 4, proof, tree_root)
    with pytest.raises(MerkleProofError, match="32 bytes"):
        verify_inclusion(leaves[1], 1, 4, [*proof[:-1], proof[-1] + b"\x00"], tree_root)
    with pytest.raises(MerkleProofError, match="32 bytes"):
        verify_inclusion(leaves[1], 1, 4, proof, b"")
    cproof = consistency_proof(3, 4, store)
    with pytest.raises(MerkleProofError, match="32 bytes"):
        verify_consistency(3, 4, cproof, root(3, store)[:16], tree_root)


def test_inclusion_index_at_or_beyond_size_is_refused() -> None:
    leaves, _ = _store_with(4)
    with pytest.raises(MerkleProofError, match="not in a tree"):
        root_from_inclusion_proof(leaves[0], 4, 4, [])
    with pytest.raises(MerkleProofError, match="not in a tree"):
        root_from_inclusion_proof(leaves[0], 0, 0, [])


def test_consistency_edge_rules_follow_rfc9162() -> None:
    r = leaf_hash(b"r")
    with pytest.raises(MerkleProofError, match="empty tree"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(MerkleProofError, match="empty tree"):
        verify_consistency(0, 3, [r], EMPTY_ROOT, r)
    with pytest.raises(MerkleProofError, match="smaller"):
        verify_consistency(3, 2, [], r, r)
    with pytest.raises(MerkleProofError, match="not empty"):
        verify_consistency(2, 2, [r], r, r)
    with pytest.raises(MerkleProofError, match="roots differ"):
        verify_consistency(2, 2, [], r, leaf_hash(b"other"))
    with pytest.raises(MerkleProofError, match="empty"):
        verify_consistency(2, 3, [], r, r)
    verify_consistency(2, 2, [], r, r)


def test_dict_store_is_a_node_reader_that_omits_unknown_keys() -> None:
    # DictNodeStore must satisfy NodeReader structurally, like the database implementation.
    reader: merkle.NodeReader = DictNodeStore()
    assert reader.nodes([]) == {}
    assert reader.nodes([(0, 0), (5, 5)]) == {}
