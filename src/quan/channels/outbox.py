"""The outbox: a message is written in the same transaction as the change that causes it, so a
message is never sent for a change that rolled back and never lost for one that committed.
The relay (``quan worker``, :mod:`quan.services.delivery`) sends queued rows through the
configured providers; in development the ``log`` provider sends nothing off the machine and ``GET
/dev/outbox`` shows what would have been sent (one-time codes for demos and tests).

Nothing in the table is readable without the personal-data key (issue 13, I1): an SMS body holds
a sign-in code, its recipient a phone number, and a reader of the database, a replica or a
backup could otherwise sign in as anyone who asked for a code in the last five minutes.

- ``recipient_enc`` and ``body_enc`` are AES-256-GCM tokens (:func:`quan.services.pii.encrypt`,
  so they follow the personal-data key's rotation), sealed to the row and the column
  (``outbox:<id>:recipient``): a token copied into another row does not open.
- ``recipient_hash`` (HMAC-SHA256 under its own derived key) finds a recipient's messages without
  the clear number.
- ``subject`` is the message's kind (``citizen.otp.login``), never its text.
- After :attr:`OutboxKeys.retention` the sealed recipient, body and hash are erased
  (``purged_at``): :func:`purge` runs a bounded step on every :func:`enqueue`, and
  ``quan outbox purge`` runs it to the end. The relay erases a message as soon as it is delivered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, insert, select, update

from quan.services.people import pii
from quan.store.ids import new_id
from quan.store.tables import outbox

CHANNELS = ("sms", "email", "webhook")

DEFAULT_RETENTION: Final = timedelta(hours=24)
"""How long a message's recipient and body are kept (``QUAN_OUTBOX_RETENTION_HOURS``)."""

PURGE_STEP: Final = 100
"""Rows erased by the purge step each enqueue runs: bounded, so a message costs O(1)."""


SEALING_PURPOSE: Final = "aes-gcm/outbox"
SEALED_FIELDS: Final = {
    "recipient_enc": "recipient",
    "body_enc": "body",
    "params_enc": "params",
}
"""Encrypted columns of ``outbox`` and the field name their associated data carries (the
re-encryption job, quan.services.operations.pii_rotation, walks them after a key rotation)."""


@dataclass(frozen=True, slots=True)
class OutboxKeys:
    """The outbox's sealing and lookup keys (derived from ``Settings.pii_key``) and retention."""

    sealing: pii.Key  # a keyring from the settings (rotatable); the lookup key never rotates
    recipient_lookup: bytes
    retention: timedelta = DEFAULT_RETENTION

    @classmethod
    def from_master(
        cls,
        master: bytes,
        retention: timedelta = DEFAULT_RETENTION,
        sealing: pii.Key | None = None,
    ) -> OutboxKeys:
        return cls(
            sealing=sealing or pii.derive_key(master, SEALING_PURPOSE),
            recipient_lookup=pii.derive_key(master, "hmac/outbox-recipient"),
            retention=retention,
        )

    def recipient_hash(self, recipient: str) -> str:
        return pii.lookup_hash(self.recipient_lookup, recipient)

    def __repr__(self) -> str:
        return "OutboxKeys(<hidden>)"


@dataclass(frozen=True, slots=True)
class Message:
    """A message as the development outbox shows it; ``None`` fields were purged."""

    id: str
    channel: str
    recipient: str | None
    subject: str
    body: str | None
    status: str
    created_at: datetime

    def __repr__(self) -> str:
        return f"Message(id={self.id!r}, subject={self.subject!r}, status={self.status!r})"


def sealing_aad(message_id: str, field: str) -> str:
    return f"outbox:{message_id}:{field}"


def enqueue(
    tx: Connection,
    now: datetime,
    keys: OutboxKeys,
    *,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    params: Mapping[str, str] | None = None,
) -> str:
    """Queue a message; the relay (:mod:`quan.services.delivery.relay`) sends it after commit.

    ``subject`` is the message's kind (its template, :mod:`quan.channels.templates`), ``body``
    the text as written, ``params`` the template's values (sealed: a code is one of them).
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel}")
    message_id = new_id("msg")
    tx.execute(
        insert(outbox).values(
            id=message_id,
            channel=channel,
            recipient_hash=keys.recipient_hash(recipient),
            recipient_enc=pii.encrypt(
                keys.sealing, recipient, sealing_aad(message_id, "recipient")
            ),
            subject=subject,
            body_enc=pii.encrypt(keys.sealing, body, sealing_aad(message_id, "body")),
            params_enc=pii.encrypt(
                keys.sealing, json.dumps(dict(params or {})), sealing_aad(message_id, "params")
            ),
            status="queued",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
    )
    purge(tx, now, keys, limit=PURGE_STEP)
    return message_id


def purge(tx: Connection, now: datetime, keys: OutboxKeys, *, limit: int | None = None) -> int:
    """Erase recipient and body of messages older than the retention; how many were erased."""
    cut = now - keys.retention
    due = (
        select(outbox.c.id)
        .where(outbox.c.purged_at.is_(None), outbox.c.created_at < cut)
        .order_by(outbox.c.id)
    )
    if limit is not None:
        due = due.limit(limit)
    erased = tx.execute(
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(
            recipient_hash=None, recipient_enc=None, body_enc=None, params_enc=None, purged_at=now
        )
    )
    return erased.rowcount or 0


def newest(
    tx: Connection,
    keys: OutboxKeys,
    limit: int = 50,
    *,
    before: str | None = None,
    recipient: str | None = None,
) -> list[Message]:
    """The newest messages, opened (development only): ``before`` only messages older than that
    id (the next page); ``recipient`` only those to one recipient (by its keyed hash)."""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(outbox.c.id < before)
    if recipient is not None:
        query = query.where(outbox.c.recipient_hash == keys.recipient_hash(recipient))
    return [
        Message(
            r.id,
            r.channel,
            _open(keys, r.recipient_enc, r.id, "recipient"),
            r.subject,
            _open(keys, r.body_enc, r.id, "body"),
            r.status,
            r.created_at,
        )
        for r in tx.execute(query)
    ]


def _open(keys: OutboxKeys, token: str | None, message_id: str, field: str) -> str | None:
    if token is None:
        return None
    return pii.decrypt(keys.sealing, token, sealing_aad(message_id, field))
