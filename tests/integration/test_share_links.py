"""Share links: a citizen's link lets others claim from the same batch, attributed to the
sharer and the channel, within a cap per sharer the database enforces (also under a race)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from quan.clock import FixedClock
from quan.domain.errors import QuanError
from quan.services.issuance import share_links
from quan.services.issuance.claim_cache import ClaimCache
from quan.store.db import Database
from quan.store.share_tables import share_claims, share_sharers
from quan.store.share_tables import share_links as share_links_table
from quan.store.tables import events
from tests.conftest import START, World
from tests.integration.issuance_fixtures import (
    assert_ledger_ok,
    citizen_headers,
    open_fcfs_batch,
    register,
    register_many,
    voucher_count,
)


def _create(world: World, citizen_id: str, bid: str, channel: str = "wechat") -> Any:
    return world.client.post(
        f"/api/v1/batches/{bid}/share-links",
        json={"channel": channel},
        headers=citizen_headers(world, citizen_id),
    )


def _claim(world: World, citizen_id: str, token: str, **headers: str) -> Any:
    return world.client.post(
        f"/api/v1/share/{token}/claims", headers=citizen_headers(world, citizen_id, **headers)
    )


def test_claim_through_a_link_is_attributed_to_the_sharer_and_channel(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=5)
    sharer, friend = register(world), register(world)
    created = _create(world, sharer, bid, "wechat")
    assert created.status_code == 201, created.text
    link = created.json()
    assert len(link["token"]) >= 32
    assert link["url"].endswith(f"/api/v1/share/{link['token']}/claims")
    assert link["cap"] == share_links.DEFAULT_SHARE_CAP

    response = _claim(world, friend, link["token"])
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "share"
    with world.runtime.db.read() as tx:
        (row,) = tx.execute(select(share_claims)).all()
        stored = tx.execute(select(share_links_table.c.token_hash)).scalar_one()
        (event,) = tx.execute(select(events).where(events.c.type == "voucher.share_claimed"))
    assert (row.sharer_id, row.claimer_id, row.channel) == (sharer, friend, "wechat")
    assert stored != link["token"]  # only the hash is kept
    assert json.loads(event.payload)["sharer_id"] == sharer
    assert event.actor == f"citizen:{friend}"

    stats = world.get("operator", f"/batches/{bid}/share-stats").json()
    (entry,) = stats["sharers"]
    assert entry["sharer_id"] == sharer
    assert (entry["claims"], entry["claims_by_channel"], entry["links_by_channel"]) == (
        1,
        {"wechat": 1},
        {"wechat": 1},
    )
    assert_ledger_ok(world)


def test_link_claims_keep_the_claim_rules_and_refuse_bad_tokens(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=5, eligibility={"age_between": {"min": 60}})
    sharer, young = register(world), register(world)
    token = _create(world, sharer, bid, "sms").json()["token"]
    refused = _claim(world, young, token)
    assert (refused.status_code, refused.json()["code"]) == (403, "NOT_ELIGIBLE")
    own = _claim(world, sharer, token)
    assert (own.status_code, own.json()["code"]) == (409, "SHARE_OWN_LINK")
    missing = _claim(world, young, "not-a-token")
    assert (missing.status_code, missing.json()["code"]) == (404, "SHARE_LINK_NOT_FOUND")
    with world.runtime.db.read() as tx:
        counted = tx.execute(select(share_sharers.c.claims)).scalar_one()
    assert counted == 0  # a refused claim is rolled back with its count
    assert voucher_count(world, bid, channel="share") == 0
    bad = _create(world, sharer, bid, "carrier-pigeon")
    assert bad.status_code == 422


def test_cap_per_sharer_is_enforced_and_replays_do_not_count(world: World) -> None:
    _, bid = open_fcfs_batch(world, quantity=10)
    assert world.client.put(
        f"/api/v1/batches/{bid}/share-cap", json={"cap": 2}, headers=world.headers("operator")
    ).json() == {"batch_id": bid, "cap": 2}
    sharer = register(world)
    a, b, c = register_many(world, 3)
    token = _create(world, sharer, bid, "qr").json()["token"]
    first = _claim(world, a, token, **{"Idempotency-Key": "k-1"})
    again = _claim(world, a, token, **{"Idempotency-Key": "k-1"})
    assert first.json()["id"] == again.json()["id"]
    assert _claim(world, b, token).status_code == 201
    capped = _claim(world, c, token)
    assert (capped.status_code, capped.json()["code"]) == (409, "SHARE_CAP_REACHED")
    assert capped.json()["share_cap"] == 2
    assert voucher_count(world, bid, channel="share") == 2
    assert world.get("agent", f"/batches/{bid}/share-stats").status_code == 403
    assert_ledger_ok(world)


@pytest.fixture
def wide(db: Database) -> Iterator[Database]:
    database = Database(db.url, pool_size=12, schema=db.schema)
    yield database
    database.dispose()


def _race(work: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:  # collected and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_cap_holds_when_many_claim_through_one_sharer_at_once(world: World, wide: Database) -> None:
    _, bid = open_fcfs_batch(world, quantity=30)
    world.client.put(
        f"/api/v1/batches/{bid}/share-cap", json={"cap": 3}, headers=world.headers("operator")
    )
    sharer = register(world)
    friends = register_many(world, 12)
    token = _create(world, sharer, bid, "link").json()["token"]
    clock = FixedClock(START + timedelta(minutes=1))
    cache = ClaimCache()

    def claimer(cid: str) -> Callable[[], Any]:
        return lambda: share_links.claim_via_link(wide, clock, cid, token, cache=cache)

    results = _race([claimer(cid) for cid in friends])
    codes = Counter(r.code if isinstance(r, QuanError) else type(r).__name__ for r in results)
    assert codes == Counter({"ClaimOutcome": 3, "SHARE_CAP_REACHED": 9})
    with world.runtime.db.read() as tx:
        counted = tx.execute(select(share_sharers.c.claims)).scalar_one()
        attributed = tx.execute(select(func.count()).select_from(share_claims)).scalar_one()
    assert (counted, attributed) == (3, 3)
    assert voucher_count(world, bid, channel="share") == 3
    assert_ledger_ok(world)
