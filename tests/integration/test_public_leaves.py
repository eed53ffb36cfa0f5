"""I2: the public log is no dossier. A scenario touches a citizen in every way the log records
(registration, a claim from a reserved pool, a personal-data reveal, a blacklist entry, a second
program); every served leaf is then read back and checked, and the independent verifier passes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from quan.domain.public_leaf import NEVER_PUBLIC, names_a_citizen
from quan.verify import verify_log
from quan.verify.verifier import check_leaf
from tests.conftest import World
from tests.integration.issuance_fixtures import claim, open_fcfs_batch, register
from tests.integration.transparency_fixtures import sequence


def _leaves(world: World) -> list[dict[str, Any]]:
    size = int(world.client.get("/api/v1/audit/checkpoint").text.splitlines()[1])
    out: list[dict[str, Any]] = []
    for start in range(0, size, 1000):
        page = world.client.get(
            "/api/v1/audit/entries", params={"start": start, "end": min(start + 999, size - 1)}
        ).json()
        for entry in page:
            data = base64.b64decode(entry["data"])
            check_leaf(entry["index"], data)
            out.append({"raw": data.decode(), **json.loads(data)})
    return out


def test_no_leaf_names_a_citizen_or_says_why_or_which_group(world: World) -> None:
    cid = register(world, disabled=True)
    _, first = open_fcfs_batch(world, quantity=3)
    _, second = open_fcfs_batch(world, quantity=3)
    assert claim(world, cid, first).status_code == 201
    assert claim(world, cid, second).status_code == 201
    revealed = world.post("operator", f"/citizens/{cid}/reveal", {"purpose": "legal_request"})
    assert revealed.status_code == 200, revealed.text
    barred = world.post(
        "operator",
        "/blacklist",
        {"subject_type": "citizen", "subject_id": cid, "reason_code": "identity_fraud",
         "reason": "冒用他人身份"},
    )  # fmt: skip
    assert barred.status_code == 201, barred.text
    sequence(world.runtime)

    leaves = _leaves(world)
    types = {leaf["type"] for leaf in leaves}
    assert {"citizen.registered", "voucher.claimed", "citizen.personal_data_revealed",
            "blacklist.added"} <= types  # fmt: skip
    for leaf in leaves:
        assert cid not in leaf["raw"]
        assert not names_a_citizen(leaf["raw"])
        assert not set(leaf["payload"]) & NEVER_PUBLIC, leaf["type"]
        for value in ("legal_request", "identity_fraud", "冒用他人身份"):
            assert value not in leaf["raw"]
    claims = [leaf for leaf in leaves if leaf["type"] == "voucher.claimed"]
    holders = {leaf["actor"] for leaf in claims}
    assert len(claims) == 2
    assert len(holders) == 2  # one person, two programs, two unlinkable pseudonyms
    assert all(h.startswith("citizen:") and len(h) == len("citizen:") + 32 for h in holders)
    assert verify_log(world.client, samples=50).tree_size == len(leaves)


def test_entries_from_before_format_2_are_served_unchanged_and_the_log_still_verifies(
    world: World,
) -> None:
    """A log that existed before migration 0013: its first entries keep format 1 (their hashes
    are signed and held by verifiers); what is appended after is format 2."""
    from sqlalchemy import delete, func, insert, select

    from quan.store.log_tables import log_formats
    from quan.store.tables import events

    with world.runtime.db.write() as tx:
        queued = int(tx.execute(select(func.count()).select_from(events)).scalar_one())
        tx.execute(delete(log_formats))
        tx.execute(insert(log_formats).values(version=2, first_index=queued))
    sequence(world.runtime)  # the "old" entries
    cid = register(world)
    _, bid = open_fcfs_batch(world, quantity=2)
    assert claim(world, cid, bid).status_code == 201
    sequence(world.runtime)
    leaves = _leaves(world)
    assert {leaf["v"] for leaf in leaves[:queued]} <= {1}
    assert {leaf["v"] for leaf in leaves[queued:]} == {2}
    assert not any(names_a_citizen(leaf["raw"]) for leaf in leaves[queued:])
    assert verify_log(world.client, samples=50).tree_size == len(leaves)
