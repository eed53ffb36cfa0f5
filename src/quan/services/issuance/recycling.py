"""Recycling (回收, R2.3): money a batch no longer needs returns to the available budget.

Two causes, two movements from ``reserved:<batch>`` to ``available``:

- **Unclaimed at claim close.** When a first-come batch's window is over (or any batch was
  closed), its unclaimed vouchers become ``recycled`` in one conditional ``UPDATE … WHERE status =
  'unclaimed'`` and their count × unit is posted as ``recycle`` with source ``("batch", id)``.
  That source is unique in the journal, so a batch is recycled once however often the job runs.
  A claim racing the job either took its row first (and keeps its money reserved) or finds it
  recycled: each row is counted by exactly one side.
- **Expired unused.** Active vouchers past ``valid_until`` **plus the offline sync grace**
  (``Settings.offline_sync_grace_hours``, 72 by default) become ``expired`` in chunks; each
  chunk is one ``expiry`` entry whose source is a fresh run id, stamped on the vouchers it counted
  (``release_ref``). A voucher leaves ``active`` once, so its money is returned once; redemption
  and expiry cannot both take a voucher, as each is a conditional status change.

The grace: a terminal may redeem a voucher offline up to its last valid moment and sync days
later. Until the grace is over the voucher stays ``active`` (and reserved) — no rule lets it be
redeemed online past ``valid_until``, since a redemption is judged at the time the customer was
served — so a late sync is judged like any other, and no expiry entry ever needs undoing. A
record synced after the grace finds the voucher ``expired`` and is refused (kept as evidence).

Each voucher whose money went back names the entry in ``release_ref`` (the batch id or the run
id), so an auditor can tie every recycled fen to its vouchers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update

from quan.domain import ledger as rules
from quan.domain.auth import Actor
from quan.domain.batches import (
    CLAIM_WINDOW_NOT_OVER,
    Allocation,
    BatchAction,
    BatchStatus,
    next_status,
    recyclable,
)
from quan.domain.errors import QuanError
from quan.services.issuance.batches import get_batch
from quan.services.money.programs import get_program
from quan.store import ledger
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.voucher_tables import batches, status_is, vouchers

EXPIRY_CHUNK = 10_000
DEFAULT_GRACE = timedelta(hours=72)  # Settings.offline_sync_grace_hours's default


@dataclass(frozen=True, slots=True)
class Released:
    """What one recycling step returned: ``count`` vouchers, ``amount_fen`` in total."""

    batch_id: str
    count: int
    amount_fen: int


def recycle_batch(tx: Connection, now: datetime, actor: Actor, batch_id: str) -> Released:
    """Return a batch's unclaimed reserve (its window must be over, or it must be closed)."""
    peek = get_batch(tx, batch_id)
    get_program(tx, peek.program_id, for_update=True)  # lock order: program, then batch
    batch = get_batch(tx, batch_id, for_update=True)
    target = next_status(batch.status, BatchAction.RECYCLE)
    if not recyclable(batch.status, batch.rules.claim_closes_at, now):
        raise QuanError(
            CLAIM_WINDOW_NOT_OVER, claim_closes_at=batch.rules.claim_closes_at.isoformat()
        )
    count = tx.execute(
        update(vouchers)
        .where(vouchers.c.batch_id == batch.id, status_is("unclaimed"))
        .values(status="recycled", status_changed_at=now, release_ref=batch.id)
    ).rowcount
    amount = count * batch.unit_fen
    if count:
        ledger.post(
            tx,
            program_id=batch.program_id,
            entry=rules.release("recycle", batch.id, amount),
            source_type="batch",
            source_id=batch.id,
            memo=f"{count} unclaimed vouchers of batch {batch.id}",
            created_by=actor.label,
            at=now,
        )
    tx.execute(
        update(batches)
        .where(batches.c.id == batch.id, batches.c.status == batch.status.value)
        .values(status=target.value, recycled_at=now, recycled_count=count, updated_at=now)
    )
    record_event(
        tx,
        type="batch.recycled",
        actor=actor,
        subject_type="batch",
        subject_id=batch.id,
        program_id=batch.program_id,
        at=now,
        payload={"count": count, "amount_fen": amount},
    )
    return Released(batch.id, count, amount)


def batches_due_for_recycling(tx: Connection, now: datetime) -> list[str]:
    """Closed batches, and open first-come batches whose window is over.

    Lottery and grant batches are recycled by their own flows once they have issued (they close
    the batch): their claim window is a registration window, not the end of issuance.
    """
    b = batches.c
    return list(
        tx.execute(
            select(b.id)
            .where(
                or_(
                    b.status == BatchStatus.CLOSED.value,
                    (b.status == BatchStatus.OPEN.value)
                    & (b.allocation == Allocation.FCFS.value)
                    & (b.claim_closes_at <= now),
                )
            )
            .order_by(b.claim_closes_at, b.id)
        ).scalars()
    )


def expire_vouchers(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    *,
    limit: int = EXPIRY_CHUNK,
    grace: timedelta = DEFAULT_GRACE,
) -> Released:
    """Expire up to ``limit`` of a batch's active vouchers past their validity and the offline
    sync ``grace``; return their money in one ``expiry`` entry (nothing is posted when none is
    due)."""
    batch = get_batch(tx, batch_id)
    run_id = new_id("exp")
    v = vouchers.c
    ended = now - grace
    # The ids first, then the update: an ``IN (SELECT … LIMIT … FOR UPDATE)`` inside the UPDATE
    # may be re-run per row by PostgreSQL's planner and then ignores the limit.
    due = list(
        tx.execute(
            select(v.id)
            .where(v.batch_id == batch_id, status_is("active"), v.valid_until <= ended)
            .limit(limit)
            .with_for_update(skip_locked=True)  # a voucher being redeemed now is left alone
        ).scalars()
    )
    count = 0
    if due:
        count = tx.execute(
            update(vouchers)
            .where(v.id.in_(due), status_is("active"), v.valid_until <= ended)
            .values(status="expired", status_changed_at=now, release_ref=run_id)
        ).rowcount
    amount = count * batch.unit_fen
    if count:
        ledger.post(
            tx,
            program_id=batch.program_id,
            entry=rules.release("expiry", batch.id, amount),
            source_type="voucher_expiry",
            source_id=run_id,
            memo=f"{count} vouchers of batch {batch.id} expired unused",
            created_by=actor.label,
            at=now,
        )
        record_event(
            tx,
            type="vouchers.expired",
            actor=actor,
            subject_type="batch",
            subject_id=batch.id,
            program_id=batch.program_id,
            at=now,
            payload={"count": count, "amount_fen": amount, "run_id": run_id},
        )
    return Released(batch.id, count, amount)


def batches_with_expired_vouchers(
    tx: Connection, now: datetime, grace: timedelta = DEFAULT_GRACE
) -> list[str]:
    v = vouchers.c
    return list(
        tx.execute(
            select(v.batch_id)
            .where(status_is("active"), v.valid_until <= now - grace)
            .group_by(v.batch_id)
            .order_by(v.batch_id)
        ).scalars()
    )
