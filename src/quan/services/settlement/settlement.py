"""Settlement runs as records: the run and its payouts, and reading runs, statements and lines.

The use cases are :mod:`~quan.services.settlement.running` (the barrier and the run),
:mod:`~quan.services.settlement.window` (what a window owes each merchant) and
:mod:`~quan.services.settlement.payouts`. A run of a program up to ``cut_off_date`` (see
:mod:`quan.domain.settlement`):

1. **Barrier** (PostgreSQL): a short transaction takes ``LOCK TABLE redemptions IN SHARE MODE``
   and commits. It waits for every transaction that holds the lock redemptions take before they
   read the clock (:func:`quan.services.redemption.redemption.begin_recording`), so every
   redemption either committed before the barrier, or read a clock later than the barrier — and
   the barrier comes after the cut-off (checked first). Nothing is ever recorded behind a
   settled window, without holding up redemptions for longer than the barrier itself. SQLite
   serialises writers anyway.
2. **The run**, one transaction under the program's row lock (which reversals and payouts take
   too, so none of them interleaves): one ``INSERT … SELECT … GROUP BY merchant`` writes every
   statement — the window's unreversed redemptions, plus what the last run held — with the holds
   computed in SQL (merchant not approved, blacklisted now, open offline cases); one aggregate
   fills the run's totals; one ``GROUP BY batch`` returns the reserve the settled vouchers did not
   use (a percent voucher below its cap) to the available budget in one journal entry. No
   Python loop touches a redemption.
3. **Payouts** are marked paid later, by someone other than the run's author: one conditional
   ``UPDATE`` of the pending statements and one journal entry whose postings are inserted from
   them (``payable → paid`` per merchant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    select,
)

from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.merchants import is_merchant_principal
from quan.domain.settlement import (
    Window,
)
from quan.services.money.programs import get_program, visible_program
from quan.services.settlement.window import (
    in_window,
)
from quan.store.pagination import page
from quan.store.redemption_tables import (
    redemptions,
    settlement_payouts,
    settlement_runs,
    settlement_statements,
)


@dataclass(frozen=True, slots=True)
class SettlementRun:
    id: str
    program_id: str
    seq: int
    cut_off_date: date
    window_start: datetime | None
    cut_off: datetime
    merchants: int
    redemption_count: int
    window_fen: int
    carried_fen: int
    held_fen: int
    payout_fen: int
    remainder_fen: int
    created_by: str
    created_at: datetime

    @property
    def window(self) -> Window:
        return Window(self.window_start, self.cut_off)


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    settlement_id: str
    program_id: str
    statements: int
    amount_fen: int
    payment_ref: str
    marked_by: str
    marked_at: datetime


def run_from_row(row: Any) -> SettlementRun:
    m = row._mapping
    values = {k: m[k] for k in SettlementRun.__dataclass_fields__}
    for k in (
        "merchants",
        "redemption_count",
        "window_fen",
        "carried_fen",
        "held_fen",
        "payout_fen",
        "remainder_fen",
        "seq",
    ):
        values[k] = int(values[k])
    return SettlementRun(**values)


def get_run(tx: Connection, settlement_id: str) -> SettlementRun:
    row = tx.execute(select(settlement_runs).where(settlement_runs.c.id == settlement_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"settlement {settlement_id}")
    return run_from_row(row)


def visible_run(tx: Connection, actor: Actor, settlement_id: str) -> SettlementRun:
    """A run, to staff of its issuer; a merchant's principals reach only their own statement."""
    run = get_run(tx, settlement_id)
    if is_merchant_principal(actor):
        return run
    require_issuer(actor, get_program(tx, run.program_id).issuer_id)
    return run


def last_run(tx: Connection, program_id: str) -> SettlementRun | None:
    s = settlement_runs.c
    row = tx.execute(
        select(settlement_runs).where(s.program_id == program_id).order_by(s.seq.desc()).limit(1)
    ).first()
    return run_from_row(row) if row else None


# --- running -------------------------------------------------------------------------------------


# --- payouts -------------------------------------------------------------------------------------


def get_payout(tx: Connection, payout_id: str) -> Payout:
    row = tx.execute(select(settlement_payouts).where(settlement_payouts.c.id == payout_id)).one()
    m = row._mapping
    return Payout(**{k: m[k] for k in Payout.__dataclass_fields__})


def statement_query(actor: Actor, settlement_id: str) -> Select[Any]:
    """The statements of a run an actor may read: a merchant's principals only their own."""
    query = select(settlement_statements).where(
        settlement_statements.c.settlement_id == settlement_id
    )
    if is_merchant_principal(actor):
        query = query.where(settlement_statements.c.merchant_id == actor.merchant_id)
    return query


def lines_query(run: SettlementRun, merchant_id: str) -> Select[Any]:
    """A statement's lines: the merchant's redemptions the run settled."""
    return select(redemptions).where(
        and_(*in_window(run.program_id, run.window), redemptions.c.merchant_id == merchant_id)
    )


def list_runs(
    tx: Connection, actor: Actor, program_id: str, *, limit: int, cursor: str | None
) -> tuple[list[SettlementRun], str | None]:
    """A program's settlement runs, oldest first, a page at a time."""
    visible_program(tx, actor, program_id)
    query = settlement_runs.select().where(settlement_runs.c.program_id == program_id)
    rows, next_cursor = page(tx, query, settlement_runs.c.id, limit=limit, cursor=cursor)
    return [run_from_row(r) for r in rows], next_cursor


def statement_rows(
    tx: Connection, actor: Actor, settlement_id: str, *, limit: int, cursor: str | None
) -> tuple[Sequence[Row[Any]], str | None]:
    """A run's statements by merchant id, a page at a time (a merchant sees only its own)."""
    visible_run(tx, actor, settlement_id)
    query = statement_query(actor, settlement_id)
    return page(tx, query, settlement_statements.c.merchant_id, limit=limit, cursor=cursor)


def merchant_statement(
    tx: Connection, actor: Actor, settlement_id: str, merchant_id: str
) -> tuple[SettlementRun, Any]:
    """One merchant's statement row in a run, and the run (``NOT_FOUND`` for another merchant's
    statement when a merchant asks)."""
    if is_merchant_principal(actor) and actor.merchant_id != merchant_id:
        raise QuanError(NOT_FOUND, what=f"statement of {merchant_id}")
    found = visible_run(tx, actor, settlement_id)
    row = tx.execute(
        statement_query(actor, settlement_id).where(
            settlement_statements.c.merchant_id == merchant_id
        )
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"statement of {merchant_id}")
    return found, row


def statement_lines(
    tx: Connection, found: SettlementRun, merchant_id: str, *, limit: int, cursor: str | None
) -> tuple[Sequence[Row[Any]], str | None]:
    """A page of the redemptions one merchant's statement settles, by redemption id."""
    lines = lines_query(found, merchant_id)
    return page(tx, lines, redemptions.c.id, limit=limit, cursor=cursor)
