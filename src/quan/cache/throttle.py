"""Counters of attempts in a time window, shared by every process: failed sign-ins, public
forms, anonymous requests.

Each operation is one atomic step where the counters live, so that concurrent attempts cannot
all read "under the limit" before any of them counts (check-then-increment let 49 of 60
concurrent passwords through a limit of 10):

- with ``QUAN_REDIS_URL``: Redis (``INCR`` and ``EXPIRE NX`` in one ``MULTI``; ``SET NX EX``);
- otherwise the database (:class:`DatabaseThrottle`): one conditional upsert per operation on
  ``throttle_counters``. On SQLite the counters live in a file of their own beside the
  database, so that counting never waits for (or holds up) a write transaction in progress.

:class:`MemoryThrottle` (one process only) is for unit tests of the rules that use counters.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import redis
from sqlalchemy import case, delete, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from quan.clock import Clock
from quan.store.db import Database
from quan.store.tables import throttle_counters


class Throttle(Protocol):
    def hit(self, key: str, window_seconds: int) -> int:
        """Count one attempt for ``key``; the count within the window, this one included. The
        window starts at the first attempt and is not pushed back by later ones."""
        ...

    def release(self, key: str) -> None:
        """Take one attempt back (it succeeded, or was refused before it was tried)."""
        ...

    def acquire(self, key: str, seconds: int) -> bool:
        """Take ``key`` for ``seconds`` if nobody holds it (a gate: one attempt per delay)."""
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

    def release(self, key: str) -> None:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if count > 0:
                self._counts[key] = (count - 1, expires)

    def acquire(self, key: str, seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            _, expires = self._counts.get(key, (0, 0.0))
            if expires > now:
                return False
            self._counts[key] = (1, now + seconds)
            return True

    def count(self, key: str) -> int:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            return count if expires > time.monotonic() else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


_RELEASE = (
    "local n = redis.call('GET', KEYS[1]) "
    "if n and tonumber(n) > 0 then redis.call('DECR', KEYS[1]) end"
)


class RedisThrottle:
    def __init__(self, client: redis.Redis, prefix: str = "quan:throttle:") -> None:
        self._redis = client
        self._prefix = prefix

    def hit(self, key: str, window_seconds: int) -> int:
        name = self._prefix + key
        pipe = self._redis.pipeline(transaction=True)  # MULTI/EXEC: both or neither
        pipe.incr(name)
        pipe.expire(name, window_seconds, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def release(self, key: str) -> None:
        self._redis.eval(_RELEASE, 1, self._prefix + key)

    def acquire(self, key: str, seconds: int) -> bool:
        return bool(self._redis.set(self._prefix + key, 1, nx=True, ex=max(seconds, 1)))

    def count(self, key: str) -> int:
        value = self._redis.get(self._prefix + key)
        return int(value) if value is not None else 0

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


class DatabaseThrottle:
    """Counters in ``throttle_counters`` (see the module docstring), timed by ``clock``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._insert: Any = postgresql.insert if db.dialect == "postgresql" else sqlite.insert

    def _upsert(self, key: str, expires: datetime, now: datetime) -> Any:
        t = throttle_counters
        stale = t.c.expires_at <= now
        stmt = self._insert(t).values(key=key, count=1, expires_at=expires)
        return stmt, t, stale

    def hit(self, key: str, window_seconds: int) -> int:
        now = self.clock.now()
        stmt, t, stale = self._upsert(key, now + timedelta(seconds=window_seconds), now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.key],
            set_={
                "count": case((stale, 1), else_=t.c.count + 1),
                "expires_at": case((stale, stmt.excluded.expires_at), else_=t.c.expires_at),
            },
        ).returning(t.c.count)
        with self.db.write() as tx:
            return int(tx.execute(stmt).scalar_one())

    def release(self, key: str) -> None:
        t = throttle_counters
        with self.db.write() as tx:
            tx.execute(update(t).where(t.c.key == key, t.c.count > 0).values(count=t.c.count - 1))

    def acquire(self, key: str, seconds: int) -> bool:
        now = self.clock.now()
        stmt, t, stale = self._upsert(key, now + timedelta(seconds=seconds), now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.key],
            set_={"count": 1, "expires_at": stmt.excluded.expires_at},
            where=stale,
        ).returning(t.c.key)
        with self.db.write() as tx:
            return tx.execute(stmt).first() is not None

    def count(self, key: str) -> int:
        t = throttle_counters
        with self.db.write() as tx:
            found = tx.execute(
                select(t.c.count).where(t.c.key == key, t.c.expires_at > self.clock.now())
            ).scalar()
        return int(found or 0)

    def reset(self, key: str) -> None:
        with self.db.write() as tx:
            tx.execute(delete(throttle_counters).where(throttle_counters.c.key == key))


def sqlite_counters(db: Database) -> Database:
    """The counters' own SQLite file beside the database (its table created on first use)."""
    path = Path(str(make_url(db.url).database))
    own = Database(f"sqlite:///{path.with_name(path.name + '-throttle')}")

    @event.listens_for(own.engine, "connect")
    def _relaxed(dbapi_conn: Any, _record: Any) -> None:
        # Counters, not money: a power cut may forget the last few (WAL stays consistent),
        # and a commit need not wait for the disk, which is what kept writers queueing.
        dbapi_conn.execute("PRAGMA synchronous=OFF")

    throttle_counters.create(own.engine, checkfirst=True)
    return own


def make_throttle(redis_url: str | None, db: Database, clock: Clock) -> Throttle:
    if redis_url:
        return RedisThrottle(redis.Redis.from_url(redis_url))
    if db.dialect == "sqlite":
        return DatabaseThrottle(sqlite_counters(db), clock)
    return DatabaseThrottle(db, clock)
