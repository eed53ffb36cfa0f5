"""Counting attempts in a time window (failed sign-ins today; claim rate limits later).

With ``QUAN_REDIS_URL`` set, counts live in Redis so that every API process sees the same
numbers; without it (the embedded default: one process) an in-process counter does.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis


class Throttle(Protocol):
    def hit(self, key: str, window_seconds: int) -> int:
        """Count one attempt for ``key`` and return the count within the current window."""
        ...

    def count(self, key: str) -> int: ...

    def reset(self, key: str) -> None: ...


class MemoryThrottle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, window_seconds: int) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if expires <= now:
                count, expires = 0, now + window_seconds
            count += 1
            self._counts[key] = (count, expires)
            return count

    def count(self, key: str) -> int:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            return count if expires > time.monotonic() else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisThrottle:
    def __init__(self, client: redis.Redis, prefix: str = "quan:throttle:") -> None:
        self._redis = client
        self._prefix = prefix

    def hit(self, key: str, window_seconds: int) -> int:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.incr(name)
        # NX: the window starts at the first attempt and is not pushed back by later ones.
        pipe.expire(name, window_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def count(self, key: str) -> int:
        value = self._redis.get(self._prefix + key)
        return int(value) if value is not None else 0

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


def make_throttle(redis_url: str | None) -> Throttle:
    if redis_url:
        return RedisThrottle(redis.Redis.from_url(redis_url))
    return MemoryThrottle()
