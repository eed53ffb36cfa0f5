"""Taking vouchers for many claimants at once: one statement per pool on PostgreSQL (with each
claim's event), a portable path elsewhere, and the claims recorded (for
:mod:`quan.services.issuance.claim_batch`)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import datetime

from sqlalchemy import (
    Connection,
    Integer,
    column,
    text,
)

from quan.domain.canonical import canonical_json
from quan.services.issuance.claim_cache import ClaimCache, ClaimFacts
from quan.services.issuance.claim_judge import (
    _Claimant,
)
from quan.services.issuance.claim_statements import ANY_LEFT, TAKE
from quan.services.issuance.claims import (
    IN_FLIGHT_PAUSES,
    ClaimOutcome,
    citizen_actor,
    claim_payload,
    claim_payload_of,
    issued_from_row,
)
from quan.store.events import NewEvent, record_events
from quan.store.voucher_tables import vouchers

# PostgreSQL: lock up to :k free rows of a pool (skipping rows other claims hold), number them,
# and give the n-th row to the n-th claimant, in one statement. The claimants arrive as one
# JSON array: the driver quotes text arrays element by element, several times slower.
_TAKE_MANY_PG = text(
    """
    WITH locked AS (
        SELECT id FROM vouchers
        WHERE batch_id = :batch_id AND pool = :pool AND status = 'unclaimed'
        ORDER BY id LIMIT :k FOR UPDATE SKIP LOCKED
    ), free AS (
        SELECT id, row_number() OVER (ORDER BY id) AS rn FROM locked
    ), req AS (
        SELECT * FROM jsonb_to_recordset(CAST(:requests AS jsonb)) AS r(
            rn bigint, citizen_id text, claim_seq integer, claim_key text, channel text,
            actor text, payload text
        )
    ), taken AS (
        UPDATE vouchers AS v SET
            status = 'active', citizen_id = req.citizen_id, claim_seq = req.claim_seq,
            claim_key = req.claim_key, channel = req.channel, claimed_at = :now,
            valid_from = :valid_from, valid_until = :valid_until, status_changed_at = :now
        FROM free JOIN req ON req.rn = free.rn
        WHERE v.id = free.id AND v.status = 'unclaimed'
        RETURNING v.*, req.rn AS rn, req.actor AS actor, req.payload AS payload
    ), recorded AS (
        INSERT INTO events
            (type, actor, subject_type, subject_id, program_id, payload, occurred_at)
        SELECT 'voucher.claimed', actor, 'voucher', id, program_id, payload, :now
        FROM taken ORDER BY rn
    )
    SELECT * FROM taken
    """
).columns(*vouchers.c, column("rn", Integer))


def _take_all(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    claimants: list[_Claimant],
    cache: ClaimCache,
    emptied: set[str],
    valid_from: datetime,
    valid_until: datetime,
) -> list[_Claimant]:
    """Give each claimant a voucher from the first of their pools that has one; the claimants
    served. Those left with no pool keep no result (``SOLD_OUT``)."""
    waiting = list(claimants)
    served: list[_Claimant] = []
    while waiting:
        by_pool: dict[str, list[_Claimant]] = defaultdict(list)
        for claimant in waiting:
            pool = next(
                (
                    p
                    for p in claimant.pools
                    if p not in claimant.tried
                    and p not in emptied
                    and not cache.is_empty(facts.batch_id, p)
                ),
                None,
            )
            if pool is not None:
                by_pool[pool].append(claimant)
        if not by_pool:
            break
        waiting = []
        for pool, group in by_pool.items():
            left = _take_pool(tx, now, facts, pool, group, emptied, valid_from, valid_until)
            served.extend(c for c in group if c.result is not None)
            for claimant in left:
                claimant.tried.append(pool)
            waiting.extend(left)
    return served


def _take_pool(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    pool: str,
    group: list[_Claimant],
    emptied: set[str],
    valid_from: datetime,
    valid_until: datetime,
) -> list[_Claimant]:
    """Take a voucher of ``pool`` for each claimant of ``group``; the claimants left without.

    As in :func:`quan.services.issuance.claims.take`: when free rows run short, a plain read tells
    whether the pool is empty for good or its last rows are held by claims in flight, which
    may still roll back; then it looks again after short pauses.
    """
    left = group
    where = {"w_batch_id": facts.batch_id, "w_pool": pool}
    for pause in (0.0, *IN_FLIGHT_PAUSES):
        if pause:
            time.sleep(pause)
        left = _take_rows(tx, now, facts, pool, left, valid_from, valid_until)
        if not left:
            return []
        if tx.execute(ANY_LEFT, where).first() is None:
            emptied.add(pool)
            return left
    return left


def _take_rows(
    tx: Connection,
    now: datetime,
    facts: ClaimFacts,
    pool: str,
    group: list[_Claimant],
    valid_from: datetime,
    valid_until: datetime,
) -> list[_Claimant]:
    """One attempt: free rows of ``pool`` to as many of ``group`` as there are; the rest."""
    if tx.dialect.name == "postgresql":
        rows = tx.execute(
            _TAKE_MANY_PG,
            {
                "batch_id": facts.batch_id,
                "pool": pool,
                "k": len(group),
                "requests": json.dumps(
                    [
                        {
                            "rn": n,
                            "citizen_id": c.request.citizen_id,
                            "claim_seq": c.seq,
                            "claim_key": c.request.key,
                            "channel": c.request.channel.value,
                            "actor": citizen_actor(c.request.citizen_id).label,
                            "payload": canonical_json(
                                claim_payload_of(
                                    facts.batch_id,
                                    pool,
                                    c.seq,
                                    c.request.channel.value,
                                    valid_until,
                                )
                            ),
                        }
                        for n, c in enumerate(group, start=1)
                    ]
                ),
                "now": now,
                "valid_from": valid_from,
                "valid_until": valid_until,
            },
        ).all()
        for taken in rows:
            group[int(taken.rn) - 1].result = ClaimOutcome(issued_from_row(taken), replayed=False)
        return [c for c in group if c.result is None]
    # SQLite: one writer holds the database; statements are calls into the same process, so
    # one statement per claim costs little (no round trip) and keeps one code path for the row.
    for n, claimant in enumerate(group):
        row = tx.execute(
            TAKE,
            {
                "w_batch_id": facts.batch_id,
                "w_pool": pool,
                "c_citizen_id": claimant.request.citizen_id,
                "c_claim_seq": claimant.seq,
                "c_claim_key": claimant.request.key,
                "c_channel": claimant.request.channel.value,
                "c_now": now,
                "c_valid_from": valid_from,
                "c_valid_until": valid_until,
            },
        ).first()
        if row is None:
            return group[n:]
        claimant.result = ClaimOutcome(issued_from_row(row), replayed=False)
    return []


def _record_claims(
    tx: Connection, now: datetime, facts: ClaimFacts, served: list[_Claimant]
) -> None:
    """One ``voucher.claimed`` event per claim, as :func:`quan.services.issuance.claims.claim`
    writes."""
    new = []
    for claimant in served:
        assert isinstance(claimant.result, ClaimOutcome)
        voucher = claimant.result.voucher
        new.append(
            NewEvent(
                type="voucher.claimed",
                actor=citizen_actor(claimant.request.citizen_id),
                subject_type="voucher",
                subject_id=voucher.id,
                program_id=facts.program_id,
                at=now,
                payload=claim_payload(voucher),
            )
        )
    record_events(tx, new)
