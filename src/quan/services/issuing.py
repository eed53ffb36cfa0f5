"""Issuing vouchers in bulk: the seam lottery winners and targeted grants go through.

The caller decides who receives (a draw, a segment, an uploaded list) and which pool each takes
from; :func:`issue_many` enforces what the batch guarantees whatever the caller does. It takes
free voucher rows like a single claim does (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a pool
never gives more than it holds, and the per-citizen limit rests on the same unique key
``(batch_id, citizen_id, claim_seq)``: a concurrent issuance that counted the same holdings
fails on it and rolls back whole, to be retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from quan.domain.auth import Actor
from quan.domain.batches import GENERAL, BatchStatus
from quan.domain.canonical import canonical_json
from quan.domain.claims import BATCH_NOT_OPEN, Channel
from quan.domain.errors import QuanError
from quan.services.batches import get_batch
from quan.services.claim_cache import load_facts
from quan.services.claims import IssuedVoucher, citizen_actor, claim_payload, issued_from_row
from quan.store.tables import events
from quan.store.voucher_tables import status_is, vouchers


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who receives one voucher, and from which pool (a lottery winner's pool, say)."""

    citizen_id: str
    pool: str = GENERAL


@dataclass(frozen=True, slots=True)
class IssueReport:
    issued: list[IssuedVoucher]
    at_limit: list[str]  # citizen ids already holding ``per_citizen_limit`` vouchers
    unserved: list[Recipient]  # the pool ran out before their turn


def issue_many(
    tx: Connection,
    now: datetime,
    actor: Actor,
    batch_id: str,
    recipients: Sequence[Recipient],
    *,
    channel: Channel,
) -> IssueReport:
    """Give one voucher each to ``recipients``, in bulk, inside the caller's transaction.

    The caller has already decided who receives (a draw, a segment); this enforces what the
    batch guarantees whatever the caller does: the batch is open, a pool gives at most its
    vouchers, a citizen holds at most ``per_citizen_limit``. Vouchers are taken in rows
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, like single claims), written with one
    ``executemany``, and each issuance writes a ``voucher.issued`` event.
    """
    batch = get_batch(tx, batch_id)
    if batch.status is not BatchStatus.OPEN:
        raise QuanError(BATCH_NOT_OPEN, batch_status=batch.status.value)
    facts = load_facts(tx, batch_id)
    held = _held(tx, batch_id, sorted({r.citizen_id for r in recipients}))
    limit = batch.rules.per_citizen_limit
    report = IssueReport([], [], [])
    by_pool: dict[str, list[tuple[Recipient, int]]] = {}
    for recipient in recipients:
        seq = held.get(recipient.citizen_id, 0) + 1
        if seq > limit:
            report.at_limit.append(recipient.citizen_id)
            continue
        held[recipient.citizen_id] = seq
        by_pool.setdefault(recipient.pool, []).append((recipient, seq))
    valid_from, valid_until = facts.validity.window_for(now, facts.timezone)
    for pool, wanted in by_pool.items():
        ids = _free_ids(tx, batch_id, pool, len(wanted))
        report.unserved.extend(r for r, _ in wanted[len(ids) :])
        if not ids:
            continue
        rows = [
            {
                "b_id": voucher_id,
                "b_citizen_id": recipient.citizen_id,
                "b_claim_seq": seq,
                "b_channel": channel.value,
                "b_now": now,
                "b_valid_from": valid_from,
                "b_valid_until": valid_until,
            }
            for voucher_id, (recipient, seq) in zip(ids, wanted, strict=False)
        ]
        tx.execute(ASSIGN, rows)
        issued = tx.execute(select(vouchers).where(vouchers.c.id.in_(ids))).all()
        report.issued.extend(issued_from_row(r) for r in issued)
    if report.issued:
        tx.execute(insert(events), _issued_events(actor, now, report.issued))
    return report


def _held(tx: Connection, batch_id: str, citizen_ids: list[str]) -> dict[str, int]:
    held: dict[str, int] = {}
    for start in range(0, len(citizen_ids), 1000):
        rows = tx.execute(
            select(vouchers.c.citizen_id, func.count())
            .where(
                vouchers.c.batch_id == batch_id,
                vouchers.c.citizen_id.in_(citizen_ids[start : start + 1000]),
            )
            .group_by(vouchers.c.citizen_id)
        )
        held.update({citizen_id: int(n) for citizen_id, n in rows})
    return held


def _free_ids(tx: Connection, batch_id: str, pool: str, count: int) -> list[str]:
    """Up to ``count`` free vouchers of a pool, locked (skipping those others hold)."""
    v = vouchers.c
    return list(
        tx.execute(
            select(v.id)
            .where(v.batch_id == batch_id, v.pool == pool, status_is("unclaimed"))
            .order_by(v.id)
            .limit(count)
            .with_for_update(skip_locked=True)
        ).scalars()
    )


# Executemany params: b_id, b_citizen_id, b_claim_seq, b_channel, b_now, b_valid_from,
# b_valid_until. Gives one locked free voucher its holder.
ASSIGN = (
    update(vouchers)
    .where(vouchers.c.id == bindparam("b_id"), status_is("unclaimed"))
    .values(
        status="active",
        citizen_id=bindparam("b_citizen_id"),
        claim_seq=bindparam("b_claim_seq"),
        channel=bindparam("b_channel"),
        claimed_at=bindparam("b_now"),
        valid_from=bindparam("b_valid_from"),
        valid_until=bindparam("b_valid_until"),
        status_changed_at=bindparam("b_now"),
    )
)


def _issued_events(
    actor: Actor, now: datetime, issued: Sequence[IssuedVoucher]
) -> list[dict[str, Any]]:
    """One ``voucher.issued`` event row per voucher (what record_event writes, in bulk)."""
    return [
        {
            "type": "voucher.issued",
            "actor": actor.label,
            "subject_type": "voucher",
            "subject_id": voucher.id,
            "program_id": voucher.program_id,
            "payload": canonical_json(
                {**claim_payload(voucher), "citizen": citizen_actor(voucher.citizen_id).label}
            ),
            "occurred_at": now,
        }
        for voucher in issued
    ]
