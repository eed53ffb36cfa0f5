"""Re-encrypting personal data under the current sealing key, after a key rotation.

Every encrypted column of the schema is listed in :data:`SEALED_COLUMNS` with the purpose of its
key and how its associated data names the row (a test compares the list with the schema, so a new
encrypted column cannot be forgotten). :func:`reencrypt` walks each column in primary-key order, in
transactions of at most ``batch_size`` rows: it reads the rows whose token is not sealed under the
current key, opens each with the keyring (current and retired keys) and seals it again under the
current key. The UPDATE names the old token, so a value changed meanwhile by the service is left
as the service wrote it (already under the current key). Stopping at any point loses nothing:
what was re-sealed is committed, and the next run picks up the rows still under a retired key.
A row no configured key opens is counted and reported, never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Column, ColumnElement, Connection, Table, and_, func, not_, select, update

from quan.channels import outbox
from quan.config import Settings
from quan.services.delivery import webhooks
from quan.services.feedback import notices as feedback_notices
from quan.services.issuance import lottery_commitment
from quan.services.merchants import merchants
from quan.services.operations.alert_notify import receiver_aad
from quan.services.people import citizens, pii
from quan.store.alert_tables import alert_receivers
from quan.store.citizen_tables import citizens as citizens_table
from quan.store.db import Database
from quan.store.feedback_tables import complaints
from quan.store.lottery_tables import lottery_draws
from quan.store.merchant_tables import merchants as merchants_table
from quan.store.notify_tables import webhook_subscriptions
from quan.store.tables import outbox as outbox_table

DEFAULT_BATCH = 500


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """One encrypted column: its table, the key purpose, the associated data of a row."""

    table: Table
    column: str
    purpose: str
    aad: Callable[[str], str]  # primary key → associated data

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"

    @property
    def key_column(self) -> Column[str]:
        (key,) = self.table.primary_key.columns
        return key

    @property
    def sealed(self) -> Column[str]:
        return self.table.c[self.column]


def _sealed(
    table: Table, fields: Mapping[str, str], purpose: str, aad: Callable[[str, str], str]
) -> list[SealedColumn]:
    """Every sealed column of ``table``: ``fields`` maps a column to the label its owner binds
    into the associated data (with the row's primary key) when it seals the value."""

    def one(column: str, label: str) -> SealedColumn:
        return SealedColumn(table, column, purpose, lambda key: aad(key, label))

    return [one(column, label) for column, label in fields.items()]


SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    *_sealed(
        citizens_table, citizens.SEALED_FIELDS, citizens.SEALING_PURPOSE, citizens.sealing_aad
    ),
    *_sealed(
        merchants_table, merchants.SEALED_FIELDS, merchants.SEALING_PURPOSE, merchants.sealing_aad
    ),
    *_sealed(outbox_table, outbox.SEALED_FIELDS, outbox.SEALING_PURPOSE, outbox.sealing_aad),
    SealedColumn(
        lottery_draws, "seed_sealed", lottery_commitment.SEED_PURPOSE, lambda batch_id: batch_id
    ),
    SealedColumn(webhook_subscriptions, "secret_enc", webhooks.SECRET_PURPOSE, webhooks.secret_aad),
    # Alert receivers' addresses, sealed with the outbox's key (quan.services.operations.alerts).
    SealedColumn(alert_receivers, "address_enc", outbox.SEALING_PURPOSE, receiver_aad),
    SealedColumn(
        complaints, "caller_phone_enc", citizens.SEALING_PURPOSE, feedback_notices.caller_aad
    ),
)


@dataclass(slots=True)
class ColumnProgress:
    name: str
    total: int = 0  # rows holding a value
    stale: int = 0  # of those, sealed under a retired key (before this run)
    reencrypted: int = 0
    unreadable: list[str] = field(default_factory=list)  # primary keys no key opens


Progress = Callable[[ColumnProgress], None]


def _stale(sealed: SealedColumn, ring: pii.Keyring) -> ColumnElement[bool]:
    column = sealed.sealed
    return and_(column.is_not(None), not_(column.startswith(f"{pii.VERSION}.{ring.current_id}.")))


def status(db: Database, settings: Settings) -> list[ColumnProgress]:
    """For each encrypted column: rows with a value, and how many still need re-encryption."""
    out: list[ColumnProgress] = []
    with db.read() as tx:
        for sealed in SEALED_COLUMNS:
            ring = pii.keyring(settings, sealed.purpose)
            total, stale = tx.execute(
                select(
                    func.count(sealed.sealed),
                    func.count(sealed.key_column).filter(_stale(sealed, ring)),
                ).select_from(sealed.table)
            ).one()
            out.append(ColumnProgress(sealed.name, total=int(total), stale=int(stale or 0)))
    return out


def reencrypt(
    db: Database,
    settings: Settings,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    max_batches: int | None = None,
) -> list[ColumnProgress]:
    """Re-seal every value not under the current key; one transaction per ``batch_size`` rows.

    ``max_batches`` stops early (for a bounded run; the next run resumes).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = {p.name: p for p in status(db, settings)}
    batches = 0
    for sealed in SEALED_COLUMNS:
        ring = pii.keyring(settings, sealed.purpose)
        done = report[sealed.name]
        after: str | None = None
        while max_batches is None or batches < max_batches:
            with db.write() as tx:
                rows = _next_batch(tx, sealed, ring, after, batch_size)
                for key, token in rows:
                    try:
                        plain = pii.decrypt(ring, token, sealed.aad(key))
                    except pii.DecryptionError:
                        done.unreadable.append(key)
                        continue
                    written = tx.execute(
                        update(sealed.table)
                        .where(sealed.key_column == key, sealed.sealed == token)
                        .values({sealed.column: pii.encrypt(ring, plain, sealed.aad(key))})
                    )
                    done.reencrypted += written.rowcount
            batches += 1
            if progress is not None:
                progress(done)
            if len(rows) < batch_size:
                break
            after = rows[-1][0]
    return list(report.values())


def _next_batch(
    tx: Connection, sealed: SealedColumn, ring: pii.Keyring, after: str | None, limit: int
) -> list[tuple[str, str]]:
    key = sealed.key_column
    where = _stale(sealed, ring)
    if after is not None:
        where = and_(where, key > after)
    rows = tx.execute(select(key, sealed.sealed).where(where).order_by(key).limit(limit)).all()
    return [(str(row[0]), str(row[1])) for row in rows]
