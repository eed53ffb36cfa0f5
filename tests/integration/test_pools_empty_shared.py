"""Sold-out pools are shared between processes through Redis (quan.cache.pools_empty): one
process's find reaches the others at once, a process started later learns it from Redis's set,
a find heard from another process is not published again, and a Redis that is down costs nothing
but the sharing (the claim path never waits for it)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from quan.api.app import create_app
from quan.cache.pools_empty import PoolsEmptyShare, encode
from quan.services.issuance.claim_cache import DEFAULT_CACHE, ClaimCache
from tests.conftest import make_settings


class Node:
    """One process's claim cache with its Redis share, as the API's lifespan wires them."""

    def __init__(self, url: str, namespace: str) -> None:
        self.cache = ClaimCache()
        self.heard: list[tuple[str, str]] = []
        self.share = PoolsEmptyShare(url, self._apply, namespace=namespace, reconnect_seconds=0.1)
        self.cache.on_found_empty = self.share.publish

    def _apply(self, batch_id: str, pool: str) -> None:
        self.heard.append((batch_id, pool))
        self.cache.mark_empty(batch_id, pool, share=False)

    def __enter__(self) -> Node:
        self.share.start()
        assert self.share.subscribed.wait(5)
        return self

    def __exit__(self, *_: object) -> None:
        self.share.stop()


def wait_until(condition: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    name = f"quan:test:pools-empty:{secrets.token_hex(4)}"
    yield name
    redis.Redis.from_url(redis_url).delete(f"{name}:set")


def test_a_pool_one_process_finds_empty_is_known_empty_in_the_others_at_once(
    redis_url: str, namespace: str
) -> None:
    with Node(redis_url, namespace) as a, Node(redis_url, namespace) as b:
        a.cache.mark_empty("bat_1", "general")
        assert wait_until(lambda: b.cache.is_empty("bat_1", "general"))
        assert not b.cache.is_empty("bat_1", "elderly")  # only the pool that ran out
        # b heard it and did not publish it again (a would hear its own find once only)
        time.sleep(0.2)
        assert a.heard == [("bat_1", "general")]
        assert b.heard == [("bat_1", "general")]


def test_a_process_started_after_the_sell_out_learns_it_from_redis(
    redis_url: str, namespace: str
) -> None:
    with Node(redis_url, namespace) as a:
        a.cache.mark_empty("bat_2", "general")
        members = redis.Redis.from_url(redis_url, decode_responses=True).smembers
        assert wait_until(lambda: encode("bat_2", "general") in members(f"{namespace}:set"))
    with Node(redis_url, namespace) as late:
        assert late.cache.is_empty("bat_2", "general")


def test_with_redis_down_finding_a_pool_empty_never_waits_and_still_counts_locally() -> None:
    """Port 1 refuses connections: the find is kept in this process, publishing fails in the
    background, and the claim path's call returns at once."""
    cache = ClaimCache()
    share = PoolsEmptyShare(
        "redis://127.0.0.1:1/0",
        lambda b, p: None,
        namespace="quan:test:down",
        reconnect_seconds=0.1,
    )
    cache.on_found_empty = share.publish
    share.start()
    try:
        started = time.perf_counter()
        cache.mark_empty("bat_3", "general")
        assert time.perf_counter() - started < 0.05
        assert cache.is_empty("bat_3", "general")
        assert not share.subscribed.wait(0.3)
    finally:
        share.stop()


def test_the_api_shares_its_finds_when_redis_is_configured(tmp_path: Path, redis_url: str) -> None:
    """The application's lifespan wires the process-wide claim cache to Redis, and unwires it."""
    batch_id = f"bat_{secrets.token_hex(6)}"
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'quan.db'}", redis_url=redis_url)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with TestClient(create_app(settings)):
        assert DEFAULT_CACHE.on_found_empty is not None
        DEFAULT_CACHE.mark_empty(batch_id, "general")
        assert wait_until(
            lambda: encode(batch_id, "general") in client.smembers("quan:pools-empty:set")
        )
        # and a find published by another process reaches this one's cache
        client.publish("quan:pools-empty", encode(batch_id, "elderly"))
        assert wait_until(lambda: DEFAULT_CACHE.is_empty(batch_id, "elderly"))
    assert DEFAULT_CACHE.on_found_empty is None
    client.srem("quan:pools-empty:set", encode(batch_id, "general"))
