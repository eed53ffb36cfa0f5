"""Ledger storage: insert-only journal entries and postings, and the sums balances derive from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from quan.domain.ledger import Bucket, Budget, JournalEntry, budget_from_buckets
from quan.store.ids import new_id
from quan.store.tables import journal_entries, postings


def post(
    tx: Connection,
    *,
    program_id: str,
    entry: JournalEntry,
    source_type: str,
    source_id: str,
    memo: str,
    created_by: str,
    at: datetime,
) -> str:
    """Write one balanced entry. ``(kind, source)`` is unique: the same cause never posts twice."""
    entry_id = new_id("je")
    tx.execute(
        insert(journal_entries).values(
            id=entry_id,
            program_id=program_id,
            kind=entry.kind,
            source_type=source_type,
            source_id=source_id,
            memo=memo,
            created_by=created_by,
            created_at=at,
        )
    )
    tx.execute(
        insert(postings),
        [
            {
                "entry_id": entry_id,
                "program_id": program_id,
                "bucket": p.bucket.value,
                "ref": p.ref,
                "amount_fen": p.amount_fen,
            }
            for p in entry.postings
        ],
    )
    return entry_id


def budget(tx: Connection, program_id: str) -> Budget:
    rows = tx.execute(
        select(postings.c.bucket, func.sum(postings.c.amount_fen))
        .where(postings.c.program_id == program_id)
        .group_by(postings.c.bucket)
    )
    return budget_from_buckets({bucket: int(total) for bucket, total in rows})


def account_balance(tx: Connection, program_id: str, bucket: Bucket, ref: str = "") -> int:
    total = tx.execute(
        select(func.coalesce(func.sum(postings.c.amount_fen), 0)).where(
            postings.c.program_id == program_id,
            postings.c.bucket == bucket.value,
            postings.c.ref == ref,
        )
    ).scalar_one()
    return int(total)


def entry_sums(tx: Connection) -> Iterator[tuple[str, int, int]]:
    """Every journal entry with the sum and count of its postings (entries with none included)."""
    rows = tx.execute(
        select(
            journal_entries.c.id,
            func.coalesce(func.sum(postings.c.amount_fen), 0),
            func.count(postings.c.id),
        )
        .select_from(
            journal_entries.outerjoin(postings, postings.c.entry_id == journal_entries.c.id)
        )
        .group_by(journal_entries.c.id)
    )
    for entry_id, total, count in rows:
        yield entry_id, int(total), int(count)


def misfiled_postings(tx: Connection) -> int:
    """Postings whose program differs from their entry's program: money must not cross programs."""
    return int(
        tx.execute(
            select(func.count())
            .select_from(
                postings.join(journal_entries, postings.c.entry_id == journal_entries.c.id)
            )
            .where(postings.c.program_id != journal_entries.c.program_id)
        ).scalar_one()
    )


def account_balances(tx: Connection) -> Iterator[tuple[str, str, str, int]]:
    """``(program_id, bucket, ref, balance)`` for every account, ordered by program."""
    rows = tx.execute(
        select(
            postings.c.program_id,
            postings.c.bucket,
            postings.c.ref,
            func.sum(postings.c.amount_fen),
        )
        .group_by(postings.c.program_id, postings.c.bucket, postings.c.ref)
        .order_by(postings.c.program_id)
    )
    for program_id, bucket, ref, total in rows:
        yield program_id, bucket, ref, int(total)
