"""The recycling job: return unclaimed and expired vouchers' money, one worker at a time.

A run takes the ``recycling`` database lease, recycles every batch that is due (one transaction
each), then expires due vouchers batch by batch in chunks (one transaction and one journal entry
per chunk). Running it again, concurrently or after a crash, is harmless: a recycled batch is no
longer due, an expired voucher is no longer active, and each journal entry's source is unique.
The lease only saves wasted work.

Where it runs: ``quan jobs recycle`` (once, or ``--follow``), from cron or a process manager.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from quan.domain.auth import SYSTEM
from quan.domain.errors import QuanError
from quan.jobs import lease
from quan.services.issuance import recycling
from quan.services.runtime import Runtime

log = logging.getLogger("quan.jobs.recycling")

LEASE_NAME = "recycling"
LEASE_TTL = timedelta(minutes=5)


@dataclass(slots=True)
class RecycleRun:
    ran: bool = True
    recycled: list[recycling.Released] = field(default_factory=list)
    expired: list[recycling.Released] = field(default_factory=list)

    @property
    def returned_fen(self) -> int:
        return sum(r.amount_fen for r in self.recycled + self.expired)


def run_once(rt: Runtime, *, holder: str, chunk: int = recycling.EXPIRY_CHUNK) -> RecycleRun:
    """Recycle what is due now, if this holder gets the lease."""
    if not lease.acquire(rt.db, LEASE_NAME, holder, rt.clock.now(), LEASE_TTL):
        return RecycleRun(ran=False)
    run = RecycleRun()
    grace = timedelta(hours=rt.settings.offline_sync_grace_hours)  # offline records sync late
    try:
        with rt.db.read() as tx:
            due = recycling.batches_due_for_recycling(tx, rt.clock.now())
        for batch_id in due:
            try:
                with rt.db.write() as tx:
                    run.recycled.append(
                        recycling.recycle_batch(tx, rt.clock.now(), SYSTEM, batch_id)
                    )
            except QuanError as exc:  # changed since listed (recycled by another run)
                log.info("batch %s not recycled: %s", batch_id, exc.code)
        with rt.db.read() as tx:
            expiring = recycling.batches_with_expired_vouchers(tx, rt.clock.now(), grace)
        for batch_id in expiring:
            while True:
                with rt.db.write() as tx:
                    step = recycling.expire_vouchers(
                        tx, rt.clock.now(), SYSTEM, batch_id, limit=chunk, grace=grace
                    )
                if step.count:
                    run.expired.append(step)
                if step.count < chunk:
                    break
                lease.acquire(rt.db, LEASE_NAME, holder, rt.clock.now(), LEASE_TTL)
    finally:
        lease.release(rt.db, LEASE_NAME, holder, rt.clock.now())
    return run
