"""The log's public endpoints: signed checkpoint, key, entries, proofs, and 4xx for bad asks."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from quan.domain import merkle, merkle_verify
from quan.domain.checkpoint import parse_and_verify, parse_verifier_key
from quan.services.runtime import Runtime
from quan.store import log_read
from quan.store.db import Database
from tests.conftest import START
from tests.integration.transparency_fixtures import add_events, entry_bytes, sequence

AUDIT = "/api/v1/audit"


def _head(client: TestClient) -> tuple[int, bytes]:
    key = client.get(f"{AUDIT}/public-key").json()
    name, public_key = parse_verifier_key(key["verifier_key"])
    response = client.get(f"{AUDIT}/checkpoint")
    checkpoint = parse_and_verify(response.text, name, public_key, origin=key["origin"])
    return checkpoint.size, checkpoint.root


def _b64s(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


@pytest.fixture
def log_of_13(runtime: Runtime, db: Database) -> None:
    add_events(db, 13, START)
    sequence(runtime, batch_size=5)


def test_before_the_first_run_the_log_answers_not_started(client: TestClient) -> None:
    for path in ("/checkpoint", "/entries?start=0&end=0", "/proofs/inclusion?index=0&tree_size=1"):
        response = client.get(AUDIT + path)
        assert response.status_code == 404
        assert response.json()["code"] == "LOG_NOT_STARTED"


@pytest.mark.usefixtures("log_of_13")
def test_the_checkpoint_is_c2sp_text_signed_by_the_published_key(client: TestClient) -> None:
    response = client.get(f"{AUDIT}/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    key = client.get(f"{AUDIT}/public-key").json()
    assert key["algorithm"] == "Ed25519"
    assert key["key_name"] == key["origin"]
    assert (
        base64.b64decode(key["public_key"])
        == parse_verifier_key(key["verifier_key"])[1].public_bytes_raw()
    )
    origin, size, root, blank = response.text.split("\n")[:4]
    assert (origin, size, blank) == (key["origin"], "13", "")
    assert response.text.split("\n")[4].startswith(f"— {key['key_name']} ")
    assert _head(client) == (13, base64.b64decode(root))


@pytest.mark.usefixtures("log_of_13")
def test_entries_are_the_leaf_bytes_and_hash_to_the_signed_root(client: TestClient) -> None:
    size, root = _head(client)
    leaves = entry_bytes(client, 0, size - 1)
    assert len(leaves) == 13
    assert merkle_verify.root_from_leaf_hashes(merkle.leaf_hash(d) for d in leaves) == root
    # end is inclusive, and any window gives the same bytes
    assert entry_bytes(client, 4, 4) == leaves[4:5]
    assert entry_bytes(client, 3, 9) == leaves[3:10]
    assert [e["index"] for e in client.get(f"{AUDIT}/entries?start=3&end=5").json()] == [3, 4, 5]


def test_a_huge_range_is_answered_one_capped_page_at_a_time(
    runtime: Runtime, db: Database, client: TestClient
) -> None:
    add_events(db, 1005, START)
    sequence(runtime)
    page = client.get(f"{AUDIT}/entries", params={"start": 2, "end": 1004}).json()
    assert [e["index"] for e in page] == list(range(2, 1002))
    rest = client.get(f"{AUDIT}/entries", params={"start": 1002, "end": 1004}).json()
    assert [e["index"] for e in rest] == [1002, 1003, 1004]


@pytest.mark.usefixtures("log_of_13")
def test_every_inclusion_proof_leads_to_the_signed_root(client: TestClient) -> None:
    size, root = _head(client)
    leaves = [merkle.leaf_hash(d) for d in entry_bytes(client, 0, size - 1)]
    for tree_size in (1, 5, 8, 13):
        tree_root = merkle_verify.root_from_leaf_hashes(leaves[:tree_size])
        for index in range(tree_size):
            body = client.get(
                f"{AUDIT}/proofs/inclusion", params={"index": index, "tree_size": tree_size}
            ).json()
            assert (body["leaf_index"], body["tree_size"]) == (index, tree_size)
            merkle_verify.verify_inclusion(
                leaves[index], index, tree_size, _b64s(body["hashes"]), tree_root
            )
    assert tree_root == root


@pytest.mark.usefixtures("log_of_13")
def test_every_consistency_proof_shows_the_log_only_grew(client: TestClient) -> None:
    size, _ = _head(client)
    leaves = [merkle.leaf_hash(d) for d in entry_bytes(client, 0, size - 1)]
    for second in range(1, size + 1):
        for first in range(1, second + 1):
            body = client.get(
                f"{AUDIT}/proofs/consistency", params={"first": first, "second": second}
            ).json()
            assert (body["first"], body["second"]) == (first, second)
            merkle_verify.verify_consistency(
                first,
                second,
                _b64s(body["hashes"]),
                merkle_verify.root_from_leaf_hashes(leaves[:first]),
                merkle_verify.root_from_leaf_hashes(leaves[:second]),
            )


@pytest.mark.usefixtures("log_of_13")
def test_a_proof_reads_the_tree_with_one_query(client: TestClient, db: Database) -> None:
    reader = log_read.public_reader(db)
    client.get(f"{AUDIT}/proofs/inclusion", params={"index": 0, "tree_size": 13})
    start = reader.queries  # the published size is known from now on
    client.get(f"{AUDIT}/proofs/inclusion", params={"index": 6, "tree_size": 13})
    assert reader.queries == start + 1
    client.get(f"{AUDIT}/proofs/consistency", params={"first": 5, "second": 13})
    assert reader.queries == start + 2


@pytest.mark.usefixtures("log_of_13")
def test_upper_nodes_served_from_memory_give_the_same_proofs(
    client: TestClient, db: Database
) -> None:
    size, root = _head(client)
    leaves = [merkle.leaf_hash(d) for d in entry_bytes(client, 0, size - 1)]
    reader = log_read.public_reader(db)
    reader.cached_min_level = 1  # the default (level 10) is beyond a tree this small

    def inclusion(index: int) -> list[bytes]:
        return _b64s(
            client.get(
                f"{AUDIT}/proofs/inclusion", params={"index": index, "tree_size": size}
            ).json()["hashes"]
        )

    first = [inclusion(index) for index in range(size)]
    assert reader.cached_nodes() > 0
    before = reader.queries
    assert [inclusion(index) for index in range(size)] == first
    # Leaf siblings still come from the database; leaf 12, alone on the right edge, has none,
    # so its proof is answered from memory without a query.
    assert reader.queries == before + size - 1
    for index, proof in enumerate(first):
        merkle_verify.verify_inclusion(leaves[index], index, size, proof, root)
    body = client.get(f"{AUDIT}/proofs/consistency", params={"first": 4, "second": size}).json()
    merkle_verify.verify_consistency(
        4, size, _b64s(body["hashes"]), merkle_verify.root_from_leaf_hashes(leaves[:4]), root
    )


def test_a_proof_for_a_tree_published_after_the_last_one_seen_is_answered(
    runtime: Runtime, db: Database, client: TestClient
) -> None:
    add_events(db, 3, START)
    sequence(runtime)
    assert client.get(f"{AUDIT}/proofs/inclusion", params={"index": 0, "tree_size": 3}).is_success
    beyond = client.get(f"{AUDIT}/proofs/inclusion", params={"index": 0, "tree_size": 5})
    assert (beyond.status_code, beyond.json()["tree_size"]) == (422, 3)
    add_events(db, 2, START)
    sequence(runtime)
    assert client.get(f"{AUDIT}/proofs/inclusion", params={"index": 4, "tree_size": 5}).is_success


BAD = [
    ("/entries", {"start": -1, "end": 2}, 422, "VALIDATION_FAILED"),
    ("/entries", {"start": 0, "end": -2}, 422, "VALIDATION_FAILED"),
    ("/entries", {"start": 5, "end": 4}, 422, "LOG_INVALID_RANGE"),
    ("/entries", {"start": 13, "end": 13}, 422, "LOG_BEYOND_TREE_SIZE"),
    ("/entries", {"start": 0, "end": 13}, 422, "LOG_BEYOND_TREE_SIZE"),
    ("/entries", {"start": 0, "end": 10**30}, 422, "VALIDATION_FAILED"),
    ("/entries", {"start": 0, "end": 2**63 - 1}, 422, "LOG_BEYOND_TREE_SIZE"),
    ("/entries", {"start": "one", "end": 2}, 422, "VALIDATION_FAILED"),
    ("/entries", {"start": 0}, 422, "VALIDATION_FAILED"),
    ("/proofs/inclusion", {"index": -1, "tree_size": 5}, 422, "VALIDATION_FAILED"),
    ("/proofs/inclusion", {"index": 5, "tree_size": 5}, 422, "LOG_INVALID_RANGE"),
    ("/proofs/inclusion", {"index": 0, "tree_size": 0}, 422, "LOG_INVALID_RANGE"),
    ("/proofs/inclusion", {"index": 0, "tree_size": 14}, 422, "LOG_BEYOND_TREE_SIZE"),
    ("/proofs/inclusion", {"index": 20, "tree_size": 14}, 422, "LOG_BEYOND_TREE_SIZE"),
    ("/proofs/consistency", {"first": 0, "second": 5}, 422, "LOG_INVALID_RANGE"),
    ("/proofs/consistency", {"first": 6, "second": 5}, 422, "LOG_INVALID_RANGE"),
    ("/proofs/consistency", {"first": 5, "second": 14}, 422, "LOG_BEYOND_TREE_SIZE"),
    ("/proofs/consistency", {"first": -3, "second": 5}, 422, "VALIDATION_FAILED"),
]


@pytest.mark.usefixtures("log_of_13")
@pytest.mark.parametrize(("path", "params", "status", "code"), BAD)
def test_bad_positions_get_a_4xx_problem_with_a_stable_code(
    client: TestClient, path: str, params: dict[str, Any], status: int, code: str
) -> None:
    response = client.get(AUDIT + path, params=params, headers={"Accept-Language": "en"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


@pytest.mark.usefixtures("log_of_13")
def test_beyond_and_range_problems_say_which_field_and_why(client: TestClient) -> None:
    beyond = client.get(f"{AUDIT}/entries", params={"start": 0, "end": 99}).json()
    assert (beyond["field"], beyond["value"], beyond["tree_size"]) == ("end", 99, 13)
    reversed_range = client.get(f"{AUDIT}/entries", params={"start": 5, "end": 4}).json()
    assert reversed_range["reason"] == "end_before_start"
    empty = client.get(f"{AUDIT}/proofs/consistency", params={"first": 0, "second": 3}).json()
    assert empty["reason"] == "first_is_zero"


@pytest.mark.usefixtures("log_of_13")
def test_the_log_is_readable_by_anyone_without_signing_in(client: TestClient) -> None:
    for path in (
        "/checkpoint",
        "/public-key",
        "/entries?start=0&end=12",
        "/proofs/inclusion?index=0&tree_size=13",
        "/proofs/consistency?first=1&second=13",
    ):
        assert client.get(AUDIT + path).status_code == 200, path
