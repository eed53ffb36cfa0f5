"""Rules the independent verifier applies on its own: the compact range and the leaf checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quan.domain.canonical import canonical_bytes
from quan.domain.log_leaf import LogEvent, Pseudonymizer, encode_leaf
from quan.domain.merkle import frontier_keys, leaf_hash
from quan.domain.merkle_verify import DictNodeStore, root_from_leaf_hashes
from quan.verify.compact import CompactRange
from quan.verify.errors import MALFORMED_ENTRY, VerificationError
from quan.verify.verifier import check_leaf


def leaves(count: int) -> list[bytes]:
    return [leaf_hash(f"entry {i}".encode()) for i in range(count)]


@settings(max_examples=80, deadline=None)
@given(first=st.integers(min_value=0, max_value=300), more=st.integers(min_value=0, max_value=300))
def test_resuming_from_a_saved_frontier_gives_the_same_root_as_hashing_everything(
    first: int, more: int
) -> None:
    hashes = leaves(first + more)
    saved = CompactRange()
    saved.extend(hashes[:first])
    resumed = CompactRange(saved.size, saved.hashes)
    resumed.extend(hashes[first:])
    assert resumed.size == first + more
    assert resumed.root() == root_from_leaf_hashes(hashes)


@settings(max_examples=50, deadline=None)
@given(size=st.integers(min_value=0, max_value=500))
def test_frontier_hashes_are_the_trees_maximal_complete_subtrees(size: int) -> None:
    hashes = leaves(size)
    store = DictNodeStore()
    store.append(hashes)
    compact = CompactRange()
    compact.extend(hashes)
    stored = store.nodes(frontier_keys(size))
    assert list(compact.hashes) == [stored[key] for key in frontier_keys(size)]


def test_a_frontier_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="frontier hashes"):
        CompactRange(3, [leaf_hash(b"a")])
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange(1, [b"short"])
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")


def _leaf(payload: dict[str, object], subject_type: str = "contribution") -> bytes:
    event = LogEvent(1, "t", "staff:u", subject_type, "s1", None, payload, datetime.now(UTC))
    return encode_leaf(event, Pseudonymizer(b"k" * 32)).data


def test_a_leaf_the_server_writes_passes_the_verifiers_checks() -> None:
    check_leaf(0, _leaf({"phone": "13812345678", "name": "张三"}, subject_type="citizen"))
    check_leaf(1, _leaf({"amount_fen": 5, "note": "ok"}))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1,2]", id="not-an-object"),
        pytest.param(b'{"payload": {}, "subject": {}}', id="not-canonical-whitespace"),
        pytest.param(b'{"subject":{},"payload":{}}', id="not-canonical-order"),
        pytest.param(b'{"payload":{}}', id="no-subject"),
        pytest.param(b"\xff", id="not-utf8"),
    ],
)
def test_an_entry_that_is_not_a_canonical_event_is_refused(data: bytes) -> None:
    with pytest.raises(VerificationError) as caught:
        check_leaf(7, data)
    assert caught.value.reason == MALFORMED_ENTRY
    assert "entry 7" in caught.value.message


@pytest.mark.parametrize(
    ("payload", "subject"),
    [
        pytest.param({"phone": "13812345678"}, {"id": "c1", "type": "citizen"}, id="phone-key"),
        pytest.param({"note": "zhang@example.com"}, {"id": "c1", "type": "x"}, id="email-value"),
        pytest.param({"name": "张三"}, {"id": "c1", "type": "citizen"}, id="citizen-name"),
        pytest.param({}, {"id": "13812345678", "type": "citizen"}, id="subject-id"),
    ],
)
def test_an_entry_with_personal_data_in_clear_is_refused(
    payload: dict[str, object], subject: dict[str, str]
) -> None:
    data = canonical_bytes({"payload": payload, "subject": subject, "v": 1})
    with pytest.raises(VerificationError, match="personal data in clear") as caught:
        check_leaf(3, data)
    assert caught.value.reason == MALFORMED_ENTRY
    assert json.loads(data)  # the refusal is about content, not syntax
