"""Running a settlement: the plan (the window up to a cut-off), the barrier that waits for every
redemption recorded before it, and the run itself (statements, journal entries, the reserve
left unused returned to the budget), once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
    text,
    update,
)

from quan.clock import Clock
from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.ledger import Bucket, JournalEntry, Posting
from quan.domain.settlement import (
    NOTHING_TO_SETTLE,
    SETTLEMENT_EXISTS,
    Window,
    default_cut_off_date,
    next_window,
)
from quan.services import idempotency
from quan.services.idempotency import IdempotencyKey, Outcome
from quan.services.money.programs import visible_program
from quan.services.settlement.settlement import SettlementRun, get_run, last_run
from quan.services.settlement.window import (
    _STATEMENT_COLUMNS,
    _deductions_due,
    _net_deductions,
    _statements_select,
    in_window,
)
from quan.store import ledger
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import (
    redemptions,
    settlement_runs,
    settlement_statements,
)


def plan(
    tx: Connection, now: datetime, actor: Actor, program_id: str, cut_off_date: date | None
) -> tuple[date, Window]:
    """The window a run would settle, or the refusal — read-only, so callers check before the
    barrier and the run checks again under its lock."""
    program = visible_program(tx, actor, program_id)
    day = cut_off_date or default_cut_off_date(now, program.timezone)
    existing = tx.execute(
        select(settlement_runs.c.id).where(
            settlement_runs.c.program_id == program_id, settlement_runs.c.cut_off_date == day
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise QuanError(SETTLEMENT_EXISTS, settlement_id=existing)
    last = last_run(tx, program_id)
    window = next_window(
        day,
        program.timezone,
        now=now,
        starts_at=program.starts_at,
        last_cut_off_date=last.cut_off_date if last else None,
        last_cut_off=last.cut_off if last else None,
    )
    return day, window


def barrier(db: Database) -> None:
    """Wait until every transaction that may record a redemption with an earlier clock is done."""
    if db.dialect != "postgresql":
        return
    with db.write() as tx:
        tx.execute(text("LOCK TABLE redemptions IN SHARE MODE"))


def settle(
    db: Database, clock: Clock, actor: Actor, program_id: str, cut_off_date: date | None
) -> SettlementRun:
    """Check, pass the barrier, run: the whole use case, for the CLI and the scheduler."""
    with db.read() as tx:
        plan(tx, clock.now(), actor, program_id, cut_off_date)
    barrier(db)
    with db.write() as tx:
        return run(tx, clock.now(), actor, program_id, cut_off_date)


def run(
    tx: Connection, now: datetime, actor: Actor, program_id: str, cut_off_date: date | None
) -> SettlementRun:
    """Settle a program up to ``cut_off_date`` (default: yesterday, local). The caller has passed
    the :func:`barrier` after the cut-off (see the module docstring)."""
    visible_program(tx, actor, program_id, for_update=True)  # runs, reversals, payouts: one queue
    day, window = plan(tx, now, actor, program_id, cut_off_date)
    last = last_run(tx, program_id)
    run_id = new_id("stl")
    tx.execute(
        insert(settlement_runs).values(
            id=run_id,
            program_id=program_id,
            seq=(last.seq + 1) if last else 1,
            cut_off_date=day,
            window_start=window.start,
            cut_off=window.cut_off,
            merchants=0,
            redemption_count=0,
            window_fen=0,
            carried_fen=0,
            held_fen=0,
            payout_fen=0,
            remainder_fen=0,
            created_by=actor.label,
            created_at=now,
        )
    )
    deducted = _deductions_due(tx, program_id, window)
    tx.execute(
        insert(settlement_statements).from_select(
            _STATEMENT_COLUMNS,
            _statements_select(
                run_id, program_id, window, last.id if last else None, now, deducted
            ),
        )
    )
    _net_deductions(tx, now, actor, run_id, program_id, deducted)
    remainder = _release_remainders(tx, now, actor, run_id, program_id, window)
    st = settlement_statements.c
    totals = tx.execute(
        select(
            func.count(),
            func.coalesce(func.sum(st.redemption_count), 0),
            func.coalesce(func.sum(st.window_fen), 0),
            func.coalesce(func.sum(st.carried_fen), 0),
            func.coalesce(func.sum(st.held_fen), 0),
            func.coalesce(func.sum(st.payout_fen), 0),
        ).where(st.settlement_id == run_id)
    ).one()
    names = ("merchants", "redemption_count", "window_fen", "carried_fen", "held_fen", "payout_fen")
    values = {name: int(v) for name, v in zip(names, totals, strict=True)}
    if values["merchants"] == 0 and remainder == 0:
        # No statement and nothing released: the run would only move the cut-off forward.
        # Raising rolls the whole transaction back; the next run covers these days anyway.
        raise QuanError(NOTHING_TO_SETTLE, cut_off_date=day.isoformat())
    tx.execute(
        update(settlement_runs)
        .where(settlement_runs.c.id == run_id)
        .values(remainder_fen=remainder, **values)
    )
    record_event(
        tx,
        type="settlement.completed",
        actor=actor,
        subject_type="settlement",
        subject_id=run_id,
        program_id=program_id,
        at=now,
        payload={
            "cut_off_date": day.isoformat(),
            "cut_off": window.cut_off.isoformat(),
            "window_start": window.start.isoformat() if window.start else None,
            "remainder_fen": remainder,
            **values,
        },
    )
    return get_run(tx, run_id)


def _release_remainders(
    tx: Connection, now: datetime, actor: Actor, run_id: str, program_id: str, window: Window
) -> int:
    """Return the reserve settled vouchers did not use to the available budget (one entry)."""
    r = redemptions.c
    unused = func.sum(r.unit_fen - r.discount_fen)
    rows = tx.execute(
        select(r.batch_id, unused)
        .where(*in_window(program_id, window))
        .group_by(r.batch_id)
        .having(unused > 0)
        .order_by(r.batch_id)
    ).all()
    if not rows:
        return 0
    amounts = [(batch_id, int(amount)) for batch_id, amount in rows]
    total = sum(a for _, a in amounts)
    entry = JournalEntry(
        "redemption_remainder",
        (
            *(Posting(Bucket.RESERVED, -a, batch_id) for batch_id, a in amounts),
            Posting(Bucket.AVAILABLE, total),
        ),
    )
    ledger.post(
        tx,
        program_id=program_id,
        entry=entry,
        source_type="settlement",
        source_id=run_id,
        memo=f"reserve unused by the vouchers settled in {run_id}",
        created_by=actor.label,
        at=now,
    )
    return total


def run_once(
    db: Database,
    clock: Clock,
    actor: Actor,
    program_id: str,
    cut_off_date: date | None,
    key: IdempotencyKey | None,
    answer: Callable[[SettlementRun], tuple[int, Any]],
) -> Outcome:
    """Settle ``program_id`` up to ``cut_off_date`` once per idempotency key: the plan and the
    barrier outside the run's transaction, then the run (see :func:`plan`, :func:`barrier`)."""
    try:
        with db.read() as tx:
            plan(tx, clock.now(), actor, program_id, cut_off_date)
        barrier(db)
    except QuanError as error:
        # A retry of a run that succeeded finds it settled: let the stored answer replay.
        if error.spec is not SETTLEMENT_EXISTS or key is None:
            raise

    def work(tx: Connection) -> SettlementRun:
        return run(tx, clock.now(), actor, program_id, cut_off_date)

    return idempotency.run(db, clock, key, work, answer)
