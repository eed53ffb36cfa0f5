"""API keys: long random secrets for machines (merchant terminals), shown once, stored hashed.

A key reads ``qk_<key id>_<secret>``. Only SHA-256 of the secret is stored: with 256 random bits
a fast hash is as safe as a slow one, and checking a key on every request must be cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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
    """Whether ``secret`` is the one stored as ``secret_hash`` (in constant time)."""
    return hmac.compare_digest(secret_hash, _hash(secret))


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
