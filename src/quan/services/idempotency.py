"""``Idempotency-Key``: a retried request moves money once and gets the first answer again.

The key row is written in the same transaction as the effect, and ``(scope, key)`` is the
primary key, so two transactions can never both commit an effect for one key: the database, not
this module, is what makes it exactly-once. On PostgreSQL a non-blocking advisory lock on the key
answers a concurrent duplicate with 409 at once instead of making it wait; on SQLite writers
are serialised by ``BEGIN IMMEDIATE``, so a duplicate simply finds the stored answer.

Only successful responses are stored. A refused request (a 4xx problem) writes nothing, so a
retry with the same key is evaluated again; a request with another body under a used key is 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import IntegrityError

from quan.clock import Clock
from quan.domain.canonical import canonical_json
from quan.domain.errors import Kind, QuanError, define
from quan.store.db import Database
from quan.store.tables import idempotency_keys

KEY_REUSED = define(
    "IDEMPOTENCY_KEY_REUSED",
    Kind.INVALID,
    zh="该 Idempotency-Key 已用于另一个不同的请求",
    en="This Idempotency-Key was already used for a different request",
)
IN_PROGRESS = define(
    "IDEMPOTENCY_IN_PROGRESS",
    Kind.CONFLICT,
    zh="使用同一 Idempotency-Key 的请求正在处理中，请稍后重试",
    en="A request with the same Idempotency-Key is still being processed; retry shortly",
)
INVALID_KEY = define(
    "INVALID_IDEMPOTENCY_KEY",
    Kind.INVALID,
    zh="Idempotency-Key 须为 1 至 255 个可见 ASCII 字符",
    en="Idempotency-Key must be 1 to 255 visible ASCII characters",
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    scope: str  # the caller (actor label): keys of different callers never collide
    key: str
    request_hash: str

    @classmethod
    def of(cls, scope: str, key: str, method: str, path: str, body: Any) -> IdempotencyKey:
        if not (1 <= len(key) <= 255) or not all(33 <= ord(c) <= 126 for c in key):
            raise QuanError(INVALID_KEY)
        digest = hashlib.sha256(f"{method} {path}\n{canonical_json(body)}".encode()).hexdigest()
        return cls(scope, key, digest)


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def run(
    db: Database,
    clock: Clock,
    idem: IdempotencyKey | None,
    work: Callable[[Connection], T],
    render: Callable[[T], tuple[int, dict[str, Any]]],
) -> Outcome:
    """Run ``work`` in one write transaction; with a key, at most once per key."""
    try:
        with db.write() as tx:
            if idem is not None:
                stored = claim(tx, db.dialect, idem)
                if stored is not None:
                    return stored
            status, body = render(work(tx))
            if idem is not None:
                tx.execute(insert(idempotency_keys).values(stored_row(idem, status, body, clock)))
            return Outcome(status, body, replayed=False)
    except IntegrityError:
        # Another transaction committed the same key between our look and our insert (possible
        # only where no lock serialised us); its answer is now there to replay.
        if idem is None:
            raise
        with db.read() as tx:
            stored = _stored(tx, idem)
        if stored is None:
            raise
        return stored


def stored_row(
    idem: IdempotencyKey, status: int, body: dict[str, Any], clock: Clock
) -> dict[str, Any]:
    """The row that keeps a successful answer for its key."""
    return {
        "scope": idem.scope,
        "key": idem.key,
        "request_hash": idem.request_hash,
        "status_code": status,
        "response_body": json.dumps(body),
        "created_at": clock.now(),
    }


def claim(tx: Connection, dialect: str, idem: IdempotencyKey) -> Outcome | None:
    """Inside a write transaction: the stored answer for the key, if any; otherwise the key is
    this transaction's to use (on PostgreSQL a concurrent holder makes it ``IN_PROGRESS``)."""
    if dialect == "postgresql":
        locked = tx.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"{idem.scope}\n{idem.key}"},
        ).scalar_one()
        if not locked:
            raise QuanError(IN_PROGRESS)
    return _stored(tx, idem)


@dataclass(frozen=True, slots=True)
class Held:
    """What :func:`claim_many` found for one key: whether this transaction holds it, and the
    answer stored under it (with the hash of the request that stored it)."""

    locked: bool
    stored: tuple[str, Outcome] | None

    def verdict(self, idem: IdempotencyKey) -> Outcome | None:
        """As :func:`claim` answers for ``idem``: its replay, ``None`` (the key is ours), or
        the refusal."""
        if not self.locked:
            raise QuanError(IN_PROGRESS)
        if self.stored is None:
            return None
        request_hash, outcome = self.stored
        if request_hash != idem.request_hash:
            raise QuanError(KEY_REUSED)
        return outcome


def claim_many(
    tx: Connection, dialect: str, idems: list[IdempotencyKey]
) -> dict[tuple[str, str], Held]:
    """:func:`claim` for many keys in one round trip (PostgreSQL: each key's advisory lock
    tried and its stored answer read by one statement)."""
    wanted = list({(i.scope, i.key): i for i in idems})
    if not wanted:
        return {}
    if dialect != "postgresql":
        found = {}
        for scope, key in wanted:
            row = _stored_row(tx, scope, key)
            found[(scope, key)] = Held(True, None if row is None else _held(row))
        return found
    rows = tx.execute(
        text(
            "SELECT k.scope, k.key,"
            " pg_try_advisory_xact_lock(hashtextextended(k.scope || chr(10) || k.key, 0))"
            " AS locked, s.request_hash, s.status_code, s.response_body"
            " FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS k(scope, key)"
            " LEFT JOIN idempotency_keys s ON s.scope = k.scope AND s.key = k.key"
        ),
        {"scopes": [scope for scope, _ in wanted], "keys": [key for _, key in wanted]},
    ).all()
    return {
        (row.scope, row.key): Held(row.locked, None if row.request_hash is None else _held(row))
        for row in rows
    }


def _held(row: Any) -> tuple[str, Outcome]:
    outcome = Outcome(row.status_code, json.loads(row.response_body), replayed=True)
    return row.request_hash, outcome


def _stored_row(tx: Connection, scope: str, key: str) -> Any:
    return tx.execute(
        select(
            idempotency_keys.c.request_hash,
            idempotency_keys.c.status_code,
            idempotency_keys.c.response_body,
        ).where(idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
    ).first()


def _stored(tx: Connection, idem: IdempotencyKey) -> Outcome | None:
    row = _stored_row(tx, idem.scope, idem.key)
    return Held(True, None if row is None else _held(row)).verdict(idem)
