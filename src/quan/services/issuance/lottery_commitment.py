"""The lottery's commitment, made when the lottery batch is created (before anyone registers).

The record holds the commitment to a random seed (quan-lottery-v2: to the secret the draw's seed is
derived from) and the seed itself sealed with AES-GCM under a key derived from
``Settings.pii_key``; it is revealed only by the draw (:mod:`quan.services.issuance.lottery`). The
record names its algorithm: ``Settings.lottery_algorithm`` when it is made. Batches create it
(:func:`commit`); the lottery reads it. This module needs neither of them, so neither imports the
other through it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from quan.config import Settings
from quan.domain import lottery as algo
from quan.domain.auth import Actor
from quan.services.people import pii
from quan.store.events import record_event
from quan.store.lottery_tables import lottery_draws

SEED_PURPOSE = "lottery/seed"


class _Batch(Protocol):
    """What the commitment needs of a batch."""

    @property
    def id(self) -> str: ...

    @property
    def program_id(self) -> str: ...


def seed_key(settings: Settings) -> pii.Keyring:
    """The keys the seed is sealed under (HKDF of the sealing key; never published; rotatable)."""
    return pii.keyring(settings, SEED_PURPOSE)


def commit(tx: Connection, now: datetime, settings: Settings, actor: Actor, batch: _Batch) -> Any:
    """Create the batch's lottery record (commitment + sealed seed) unless it exists; its row.

    :func:`quan.services.issuance.batches.create_batch` calls it for every lottery batch, so the
    commitment is public from the batch's creation.
    """
    row = tx.execute(select(lottery_draws).where(lottery_draws.c.batch_id == batch.id)).first()
    if row is not None:
        return row
    # v1: the seed itself; v2: the secret the seed is derived from at the draw.
    seed = secrets.token_bytes(algo.SEED_BYTES)
    algorithm = settings.lottery_algorithm
    values = {
        "batch_id": batch.id,
        "program_id": batch.program_id,
        "commitment": algo.commitment(seed),
        "seed_sealed": pii.encrypt(seed_key(settings), seed.hex(), batch.id),
        "created_at": now,
        "algorithm": algorithm,
    }
    dialect = tx.dialect.name
    ins = pg_insert(lottery_draws) if dialect == "postgresql" else sqlite_insert(lottery_draws)
    result = tx.execute(ins.values(**values).on_conflict_do_nothing())
    if result.rowcount:
        record_event(
            tx,
            type="lottery.committed",
            actor=actor,
            subject_type="batch",
            subject_id=batch.id,
            program_id=batch.program_id,
            at=now,
            payload={"commitment": values["commitment"], "algorithm": algorithm},
        )
    return tx.execute(select(lottery_draws).where(lottery_draws.c.batch_id == batch.id)).one()
