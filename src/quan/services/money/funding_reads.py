"""What the office reads about money: funders, a program's movements, the approval queue, and
the ledger's history of a program with the budget after each entry.

Reads only; every figure comes from ``fund_movements`` or the ledger's postings, never from a
copy, so a page shows what ``quan ledger check`` checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from quan.domain.auth import Actor
from quan.domain.funding import Direction, FunderKind, MovementStatus
from quan.domain.ledger import Bucket, Budget
from quan.services.money.funding import Funder, Movement, _movement
from quan.services.money.programs import visible_program
from quan.store import ledger
from quan.store.tables import fund_movements, funders, journal_entries, postings, programs


def list_funders(tx: Connection, actor: Actor, issuer_id: str | None) -> list[Funder]:
    """The funders of the actor's issuer (an admin of no issuer: of ``issuer_id``, or all)."""
    query = select(funders).order_by(funders.c.name)
    scope = actor.issuer_id or issuer_id
    if scope is not None:
        query = query.where(funders.c.issuer_id == scope)
    return [
        Funder(r.id, r.issuer_id, r.name, FunderKind(r.kind), r.created_at)
        for r in tx.execute(query)
    ]


def program_movements(tx: Connection, actor: Actor, program_id: str) -> list[Movement]:
    """Every contribution and return of a program, newest first."""
    visible_program(tx, actor, program_id)
    rows = tx.execute(
        select(fund_movements)
        .where(fund_movements.c.program_id == program_id)
        .order_by(fund_movements.c.requested_at.desc(), fund_movements.c.id.desc())
    )
    return [_movement(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Waiting:
    """A movement waiting for a second person, with what the queue shows beside it."""

    movement: Movement
    program_name: str
    timezone: str
    funder_name: str


def approval_queue(tx: Connection, actor: Actor) -> list[Waiting]:
    """The movements waiting for a second person in the programs ``actor`` may see, oldest
    first (an operator: its issuer's; an admin of no issuer: all)."""
    query = (
        select(
            fund_movements,
            programs.c.name.label("program_name"),
            programs.c.timezone,
            funders.c.name.label("funder_name"),
        )
        .join(programs, programs.c.id == fund_movements.c.program_id)
        .join(funders, funders.c.id == fund_movements.c.funder_id)
        .where(fund_movements.c.status == MovementStatus.PENDING_APPROVAL.value)
        .order_by(fund_movements.c.requested_at, fund_movements.c.id)
    )
    if actor.issuer_id is not None:
        query = query.where(programs.c.issuer_id == actor.issuer_id)
    return [
        Waiting(_movement(r), r.program_name, r.timezone, r.funder_name) for r in tx.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One journal entry of a program: its cause, the change per bucket (``funded`` counts
    what funders put in, i.e. minus the funding bucket) and the budget right after it."""

    entry_id: str
    kind: str
    at: datetime
    memo: str
    created_by: str
    changes: dict[str, int]
    after: Budget


def _apply(budget: Budget, changes: dict[str, int], sign: int) -> Budget:
    return Budget(
        funded_fen=budget.funded_fen + sign * changes.get("funded", 0),
        available_fen=budget.available_fen + sign * changes.get(Bucket.AVAILABLE.value, 0),
        reserved_fen=budget.reserved_fen + sign * changes.get(Bucket.RESERVED.value, 0),
        payable_fen=budget.payable_fen + sign * changes.get(Bucket.PAYABLE.value, 0),
        paid_fen=budget.paid_fen + sign * changes.get(Bucket.PAID.value, 0),
        returned_fen=budget.returned_fen + sign * changes.get(Bucket.RETURNED.value, 0),
    )


def ledger_history(
    tx: Connection, actor: Actor, program_id: str, *, limit: int = 100
) -> list[HistoryRow]:
    """The newest ``limit`` journal entries of a program, newest first, each with the budget
    after it: walked back from today's balances, one entry at a time (read in one snapshot)."""
    visible_program(tx, actor, program_id)
    entries = tx.execute(
        select(journal_entries)
        .where(journal_entries.c.program_id == program_id)
        .order_by(journal_entries.c.created_at.desc(), journal_entries.c.id.desc())
        .limit(limit)
    ).all()
    ids = [e.id for e in entries]
    changes: dict[str, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for p in tx.execute(
            select(postings.c.entry_id, postings.c.bucket, postings.c.amount_fen).where(
                postings.c.entry_id.in_(ids)
            )
        ):
            key = "funded" if p.bucket == Bucket.FUNDING.value else p.bucket
            amount = -int(p.amount_fen) if key == "funded" else int(p.amount_fen)
            changes[p.entry_id][key] = changes[p.entry_id].get(key, 0) + amount
    after = ledger.budget(tx, program_id)
    rows: list[HistoryRow] = []
    for e in entries:
        rows.append(
            HistoryRow(e.id, e.kind, e.created_at, e.memo, e.created_by, changes[e.id], after)
        )
        after = _apply(after, changes[e.id], -1)
    return rows


def direction_of(movement_id: str, tx: Connection) -> Direction | None:
    row = tx.execute(
        select(fund_movements.c.direction).where(fund_movements.c.id == movement_id)
    ).first()
    return Direction(row.direction) if row else None
