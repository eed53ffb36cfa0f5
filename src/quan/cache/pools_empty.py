"""Pools seen empty, shared between API processes and hosts through Redis.

A first-come pool that has run out stays empty (vouchers never return to the stock), so each
process may refuse later claims from memory (:class:`~quan.services.issuance.claim_cache.
ClaimCache`). Without sharing, every process of every node learns of a sell-out on its own first
miss: one transaction each, which with many nodes and workers is many transactions at the very
moment the database is busiest. With ``QUAN_REDIS_URL``, the first process to find a pool empty
publishes it; every other process hears it at once and refuses from memory too.

Correctness never depends on Redis: the database decides every claim (the conditional stock
UPDATE), and a process that heard nothing simply learns on its own miss, as without Redis. So
nothing here is on the claim's path: publishing happens after the transaction, in a background
thread; a Redis that is down, slow or restarted costs only those extra misses, and the
subscriber reconnects by itself.

Redis keeps what was published in a set as well as announcing it, so a process that starts (or
reconnects) after a sell-out learns it from the set.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Final

import redis

log = logging.getLogger(__name__)

NAMESPACE: Final = "quan:pools-empty"
# A sold-out flag is worth nothing once its round is long over; the set expires a week after
# the last sell-out so that Redis does not keep every pool of every past round.
SET_TTL_SECONDS: Final = 7 * 24 * 3600
_SEPARATOR: Final = "|"


def encode(batch_id: str, pool: str) -> str:
    return f"{batch_id}{_SEPARATOR}{pool}"


def decode(member: str) -> tuple[str, str] | None:
    batch_id, separator, pool = member.partition(_SEPARATOR)
    return (batch_id, pool) if separator and batch_id and pool else None


class PoolsEmptyShare:
    """Publishes this process's finds and applies everyone else's to ``apply``.

    ``apply(batch_id, pool)`` must be idempotent and must not publish again (the claim cache's
    ``mark_empty(..., share=False)``).
    """

    def __init__(
        self,
        url: str,
        apply: Callable[[str, str], None],
        *,
        reconnect_seconds: float = 1.0,
        namespace: str = NAMESPACE,
    ) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2, decode_responses=True
        )
        self._apply = apply
        self._channel, self._set = namespace, f"{namespace}:set"
        self._reconnect = reconnect_seconds
        self._outgoing: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.subscribed = threading.Event()  # set once the first subscription is live

    def start(self) -> None:
        for target, name in ((self._listen, "listen"), (self._publish, "publish")):
            thread = threading.Thread(target=target, name=f"pools-empty-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._outgoing.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._client.close()

    def publish(self, batch_id: str, pool: str) -> None:
        """Queue a find for the publishing thread; returns at once (called on the claim path)."""
        self._outgoing.put((batch_id, pool))

    def _publish(self) -> None:
        while not self._stop.is_set():
            item = self._outgoing.get()
            if item is None:
                return
            member = encode(*item)
            try:
                with self._client.pipeline(transaction=True) as pipe:
                    pipe.sadd(self._set, member)
                    pipe.expire(self._set, SET_TTL_SECONDS)
                    pipe.publish(self._channel, member)
                    pipe.execute()
            except redis.RedisError as exc:
                # The others will learn on their own first miss, as without Redis.
                log.warning("could not share an empty pool through Redis: %s", exc)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                # Subscribed first, then read the set: a find published in between is in both,
                # and applying it twice is harmless; none is missed.
                for member in self._client.smembers(self._set):
                    self._take(member)
                self.subscribed.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message.get("type") == "message":
                        self._take(message["data"])
            except redis.RedisError as exc:
                log.warning("Redis unavailable for shared sold-out flags, retrying: %s", exc)
                self._stop.wait(self._reconnect)
            finally:
                pubsub.close()

    def _take(self, member: object) -> None:
        parsed = decode(member) if isinstance(member, str) else None
        if parsed is not None:
            self._apply(*parsed)
