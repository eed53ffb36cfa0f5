"""The transparency log's signing key over time: the first key, rotations, the key to sign with.

The history lives in ``log_keys`` (see :mod:`quan.domain.log_keys` for the endorsements). The
first sequencer run records the key it signs with as the log's first key. A rotation
(:func:`rotate`, ``quan keys rotate-log``) appends the new key, endorsed by the current one; from
that commit on the current key is retired and the sequencer refuses to sign with it, so the log
waits (events keep queueing) until the processes restart with ``QUAN_LOG_SIGNING_KEY`` set to the
new key. The log keeps its origin: new checkpoints are signed under the same name.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, func, insert, select

from quan.config import ConfigError, Settings
from quan.domain.log_keys import HistoryEntry, endorse
from quan.services.transparency.transparency import LogKey
from quan.store import log as log_store
from quan.store.log_tables import log_keys


def history(tx: Connection) -> list[HistoryEntry]:
    """Every key of the log, oldest first (empty before the first sequencer run)."""
    rows = tx.execute(
        select(log_keys.c.verifier_key, log_keys.c.endorsement).order_by(log_keys.c.position)
    ).all()
    return [HistoryEntry(row.verifier_key, row.endorsement) for row in rows]


def _origin(entries: list[HistoryEntry]) -> str:
    return entries[0].verifier_key.split("+", 1)[0]


def published_key(tx: Connection, settings: Settings) -> str:
    """The verifier key string of the current key (the configured key's before any is recorded)."""
    entries = history(tx)
    if not entries:
        return LogKey.from_settings(settings).verifier_key
    return entries[-1].verifier_key


def signing_key(tx: Connection, now: datetime, settings: Settings) -> LogKey:
    """The configured key under the log's name; records it as the first key of a new log.

    Refuses (ConfigError) a key that is retired or that the history does not know: signing with
    it would make checkpoints that verifiers must refuse.
    """
    configured = LogKey.from_settings(settings)
    entries = history(tx)
    if not entries:
        _append(tx, now, 0, HistoryEntry(configured.verifier_key))
        return configured
    key = LogKey(name=_origin(entries), private_key=configured.private_key)
    if entries[-1].verifier_key == key.verifier_key:
        return key
    if any(entry.verifier_key == key.verifier_key for entry in entries):
        raise ConfigError(
            "QUAN_LOG_SIGNING_KEY is a retired log key: set it to the key `quan keys rotate-log` "
            "endorsed, and restart"
        )
    raise ConfigError(
        "QUAN_LOG_SIGNING_KEY is not in the log's key history: rotate keys only with "
        "`quan keys rotate-log`, which endorses the new key with the current one"
    )


def rotate(tx: Connection, now: datetime, settings: Settings, new_key: Ed25519PrivateKey) -> str:
    """Endorse ``new_key`` with the configured (current) key; returns its verifier key string."""
    current = signing_key(tx, now, settings)
    entries = history(tx)
    if new_key.public_key().public_bytes_raw() == current.public_key.public_bytes_raw():
        raise ConfigError("the new log key is the current one")
    head = log_store.latest_checkpoint(tx)
    entry = endorse(current.origin, head.tree_size if head else 0, current.private_key, new_key)
    if any(known.verifier_key == entry.verifier_key for known in entries):
        raise ConfigError("the new log key was used before; generate a fresh one")
    _append(tx, now, len(entries), entry)
    return entry.verifier_key


def _append(tx: Connection, now: datetime, position: int, entry: HistoryEntry) -> None:
    count = tx.execute(select(func.count()).select_from(log_keys)).scalar_one()
    if count != position:
        raise ConfigError("the log's key history changed meanwhile; run the command again")
    tx.execute(
        insert(log_keys).values(
            position=position,
            verifier_key=entry.verifier_key,
            endorsement=entry.endorsement,
            created_at=now,
        )
    )
