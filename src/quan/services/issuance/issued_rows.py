"""What bulk issuing reads and writes row by row: the recipients and the answers, how many each
recipient already holds, the free vouchers of a pool, the statements that assign them and the
payload of each issued voucher's event (for :mod:`quan.services.issuance.issuing`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    select,
    text,
    update,
)

from quan.domain.batches import GENERAL
from quan.services.issuance.claims import IssuedVoucher, citizen_actor
from quan.store.voucher_tables import status_is, vouchers

_EVENT_COLUMNS = (
    "type",
    "actor",
    "subject_type",
    "subject_id",
    "program_id",
    "payload",
    "occurred_at",
)


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


@dataclass(frozen=True, slots=True)
class IssueCount:
    issued: int
    at_limit: int
    unserved: int


def issued_payload(voucher: IssuedVoucher) -> dict[str, Any]:
    """What a ``voucher.issued`` event says: the claim's facts and the holder (by id)."""
    return {
        "batch_id": voucher.batch_id,
        "pool": voucher.pool,
        "claim_seq": voucher.claim_seq,
        "channel": voucher.channel,
        "valid_until": voucher.valid_until.isoformat(),
        "citizen": citizen_actor(voucher.citizen_id).label,
    }


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
    """Up to ``count`` free vouchers of a pool, in id order (SQLite: the one writer)."""
    v = vouchers.c
    return list(
        tx.execute(
            select(v.id)
            .where(v.batch_id == batch_id, v.pool == pool, status_is("unclaimed"))
            .order_by(v.id)
            .limit(count)
        ).scalars()
    )


# SQLite executemany params: b_id, b_citizen_id, b_claim_seq, b_channel, b_now, b_valid_from,
# b_valid_until. Gives one free voucher its holder.
_ASSIGN = (
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


# PostgreSQL: lock up to :k free rows of a pool (skipping rows others hold), number them, give
# the n-th row to the n-th recipient, and write one voucher.issued event per voucher given (its
# payload assembled around the citizen label and claim_seq, see _payload_parts) - one statement.
# Answers (n, voucher id) per voucher given, or their count and the last id. Rows up to
# :after (the last this issuance took) are not scanned again.
_ASSIGN_PG = text(
    """
    WITH locked AS (
        SELECT id FROM vouchers
        WHERE batch_id = :batch_id AND pool = :pool AND status = 'unclaimed' AND id > :after
        ORDER BY id LIMIT :k FOR UPDATE SKIP LOCKED
    ), free AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n FROM locked
    ), wanted AS (
        SELECT * FROM unnest(CAST(:citizen_ids AS text[]), CAST(:seqs AS integer[]))
            WITH ORDINALITY AS w(citizen_id, claim_seq, n)
    ), given AS (
        UPDATE vouchers AS v SET
            status = 'active', citizen_id = wanted.citizen_id, claim_seq = wanted.claim_seq,
            channel = :channel, claimed_at = :now, valid_from = :valid_from,
            valid_until = :valid_until, status_changed_at = :now
        FROM free JOIN wanted ON wanted.n = free.n
        WHERE v.id = free.id AND v.status = 'unclaimed'
        RETURNING v.id, v.citizen_id, v.claim_seq, wanted.n
    ), logged AS (
        INSERT INTO events
            (type, actor, subject_type, subject_id, program_id, payload, occurred_at)
        SELECT 'voucher.issued', :actor, 'voucher', given.id, :program_id,
            :head || to_json('citizen:' || given.citizen_id)::text || :mid
                || given.claim_seq::text || :tail,
            :now
        FROM given
    )
    SELECT count(*), max(id) FROM given HAVING NOT :answer
    UNION ALL
    SELECT n, id FROM given WHERE :answer
    """
)
