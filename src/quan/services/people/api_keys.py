"""API keys: long random secrets for machines (merchant terminals), shown once, stored hashed.

A key reads ``qk_<key id>_<secret>``. Only SHA-256 of the secret is stored: with 256 random bits
a fast hash is as safe as a slow one, and checking a key on every request must be cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from quan.domain.auth import Actor
from quan.domain.errors import NOT_FOUND, QuanError
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.tables import api_keys


@dataclass(frozen=True, slots=True)
class ApiKeyOwner:
    key_id: str
    owner_type: str
    owner_id: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    tx: Connection, now: datetime, actor: Actor, *, owner_type: str, owner_id: str, label: str
) -> tuple[str, str]:
    """Returns ``(key_id, full key)``; the full key is never stored and cannot be shown again."""
    key_id = new_id("key")
    secret = secrets.token_hex(32)  # hex: no "_" to confuse the parsing below
    tx.execute(
        insert(api_keys).values(
            id=key_id,
            secret_hash=_hash(secret),
            owner_type=owner_type,
            owner_id=owner_id,
            label=label,
            created_by=actor.label,
            created_at=now,
        )
    )
    record_event(
        tx,
        type="api_key.created",
        actor=actor,
        subject_type=owner_type,
        subject_id=owner_id,
        at=now,
        payload={"key_id": key_id, "label": label},
    )
    return key_id, f"qk_{key_id}_{secret}"


def parse(presented: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of something shaped like an API key, else ``None``."""
    if not presented.startswith("qk_key_"):
        return None
    key_id, sep, secret = presented[3:].rpartition("_")
    if not sep or not key_id.startswith("key_") or not secret:
        return None
    return key_id, secret


def genuine(secret_hash: str, secret: str) -> bool:
    """Whether ``secret`` is the one stored as ``secret_hash`` (in constant time). A genuine
    key is remembered for a while (:data:`RECENTLY_GENUINE`)."""
    found = hmac.compare_digest(secret_hash, _hash(secret))
    if found:
        RECENTLY_GENUINE.remember(secret_hash)
    return found


class RecentlyGenuine:
    """Keys this process found genuine in the last ``ttl`` seconds, by the hash of their secret.

    The anonymous limiter (:class:`quan.api.snapshots.AnonymousLimit`) must tell a real key from
    a made-up ``Authorization`` header on every request without a database read: a key seen
    genuine here recently counts as signed in; any other is anonymous until a request verifies
    it. This decides only that bound, never access: every route still checks the key (a key
    revoked since is refused there). At most ``size`` entries, the oldest dropped first.
    """

    def __init__(self, ttl: float = 600.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def remember(self, secret_hash: str) -> None:
        with self._lock:
            self._seen.pop(secret_hash, None)
            self._seen[secret_hash] = time.monotonic() + self.ttl
            while len(self._seen) > self.size:
                del self._seen[next(iter(self._seen))]

    def knows(self, presented: str) -> bool:
        """Whether ``presented`` (a whole ``qk_…`` key) was found genuine recently: one SHA-256."""
        parsed = parse(presented)
        if parsed is None:
            return False
        until = self._seen.get(_hash(parsed[1]))
        return until is not None and until > time.monotonic()

    def forget_all(self) -> None:
        with self._lock:
            self._seen.clear()


RECENTLY_GENUINE = RecentlyGenuine()


def authenticate(tx: Connection, presented: str) -> ApiKeyOwner | None:
    parsed = parse(presented)
    if parsed is None:
        return None
    key_id, secret = parsed
    row = tx.execute(
        select(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None or not genuine(row.secret_hash, secret):
        return None
    return ApiKeyOwner(row.id, row.owner_type, row.owner_id)


def revoke_key(tx: Connection, now: datetime, actor: Actor, key_id: str) -> None:
    result = tx.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(api_keys.c.owner_type, api_keys.c.owner_id)
    ).first()
    if result is None:
        raise QuanError(NOT_FOUND, what=f"active API key {key_id}")
    record_event(
        tx,
        type="api_key.revoked",
        actor=actor,
        subject_type=result.owner_type,
        subject_id=result.owner_id,
        at=now,
        payload={"key_id": key_id},
    )
