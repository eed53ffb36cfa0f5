"""Settlement runs: statements per merchant up to a cut-off, in a few set-based statements.

A run of a program up to ``cut_off_date`` (see :mod:`quan.domain.settlement`):

1. **Barrier** (PostgreSQL): a short transaction takes ``LOCK TABLE redemptions IN SHARE MODE``
   and commits. It waits for every transaction that holds the lock redemptions take before they
   read the clock (:func:`quan.services.redemption.redemption.begin_recording`), so every
   redemption either
   committed before the barrier, or read a clock later than the barrier — and the barrier comes
   after the cut-off (checked first). Nothing is ever recorded behind a settled window, without
   holding up redemptions for longer than the barrier itself. SQLite serialises writers anyway.
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    Select,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)

from quan.clock import Clock
from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.ledger import Bucket, JournalEntry, Posting
from quan.domain.merchants import is_merchant_principal
from quan.domain.settlement import (
    NOTHING_TO_PAY,
    NOTHING_TO_SETTLE,
    PAYMENT_REF_REQUIRED,
    SETTLEMENT_EXISTS,
    HoldReason,
    PayoutStatus,
    Window,
    check_payer,
    default_cut_off_date,
    next_window,
    payout_row,
)
from quan.services import idempotency
from quan.services.idempotency import IdempotencyKey, Outcome
from quan.services.merchants import merchants as merchant_service
from quan.services.money.programs import get_program, visible_program
from quan.services.people import blacklist, pii
from quan.store import ledger
from quan.store.citizen_tables import blacklist_entries
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchants
from quan.store.pagination import page
from quan.store.redemption_tables import (
    offline_cases,
    redemptions,
    settlement_deductions,
    settlement_payouts,
    settlement_runs,
    settlement_statements,
)
from quan.store.tables import journal_entries, postings


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


_STATEMENT_COLUMNS = [
    "settlement_id",
    "merchant_id",
    "program_id",
    "redemption_count",
    "window_fen",
    "carried_fen",
    "total_fen",
    "held_fen",
    "hold_reason",
    "payout_fen",
    "payout_status",
]


def in_window(program_id: str, window: Window) -> list[Any]:
    """The live redemptions a window settles (reversed ones never reach a statement)."""
    r = redemptions.c
    conditions = [
        r.program_id == program_id,
        r.recorded_at < window.cut_off,
        r.status == "redeemed",
    ]
    if window.start is not None:
        conditions.append(r.recorded_at >= window.start)
    return conditions


def _deductions_due(tx: Connection, program_id: str, window: Window) -> dict[str, int]:
    """Per merchant, the pending deductions (reversals after settlement) this run nets: all of a
    merchant's, if its window owes at least as much; otherwise they wait for a later run."""
    d, r = settlement_deductions.c, redemptions.c
    pending = {
        merchant: int(fen)
        for merchant, fen in tx.execute(
            select(d.merchant_id, func.sum(d.amount_fen))
            .where(d.program_id == program_id, d.settlement_id.is_(None))
            .group_by(d.merchant_id)
        )
    }
    if not pending:
        return {}
    owed = {
        merchant: int(fen)
        for merchant, fen in tx.execute(
            select(r.merchant_id, func.sum(r.discount_fen))
            .where(*in_window(program_id, window), r.merchant_id.in_(sorted(pending)))
            .group_by(r.merchant_id)
        )
    }
    return {m: fen for m, fen in pending.items() if fen <= owed.get(m, 0)}


def _net_deductions(
    tx: Connection,
    now: datetime,
    actor: Actor,
    run_id: str,
    program_id: str,
    deducted: dict[str, int],
) -> None:
    """Mark the netted deductions with this run and post each one's reversal entry."""
    if not deducted:
        return
    d = settlement_deductions.c
    netted = tx.execute(
        select(d.reversal_id, d.redemption_id, d.merchant_id, d.amount_fen)
        .where(
            d.program_id == program_id,
            d.settlement_id.is_(None),
            d.merchant_id.in_(sorted(deducted)),
        )
        .order_by(d.reversal_id)
    ).all()
    tx.execute(
        update(settlement_deductions)
        .where(d.reversal_id.in_([row.reversal_id for row in netted]))
        .values(settlement_id=run_id)
    )
    for row in netted:
        ledger.post(
            tx,
            program_id=program_id,
            entry=JournalEntry(
                "reversal",
                (
                    Posting(Bucket.PAYABLE, -int(row.amount_fen), row.merchant_id),
                    Posting(Bucket.AVAILABLE, int(row.amount_fen)),
                ),
            ),
            source_type="redemption",
            source_id=row.redemption_id,
            memo=f"redemption {row.redemption_id} reversed after settlement, netted in {run_id}",
            created_by=actor.label,
            at=now,
        )


def _statements_select(
    run_id: str,
    program_id: str,
    window: Window,
    last_run_id: str | None,
    now: datetime,
    deducted: dict[str, int] | None = None,
) -> Select[Any]:
    r, st, c = redemptions.c, settlement_statements.c, offline_cases.c
    zero = literal(0, BigInteger)
    pieces: list[Any] = [
        select(
            r.merchant_id.label("merchant_id"),
            func.count().label("n"),
            func.sum(r.discount_fen).label("fen"),
            zero.label("carried"),
        )
        .where(*in_window(program_id, window))
        .group_by(r.merchant_id)
    ]
    for merchant, fen in sorted((deducted or {}).items()):  # net of reversals after settlement
        pieces.append(
            select(
                literal(merchant).label("merchant_id"),
                zero.label("n"),
                literal(-fen, BigInteger).label("fen"),
                zero.label("carried"),
            )
        )
    if last_run_id is not None:
        pieces.append(
            select(
                st.merchant_id, zero.label("n"), zero.label("fen"), st.held_fen.label("carried")
            ).where(st.settlement_id == last_run_id, st.held_fen > 0)
        )
    parts: Any = union_all(*pieces) if len(pieces) > 1 else pieces[0]
    p = parts.subquery("parts")
    owed = (
        select(
            p.c.merchant_id,
            func.sum(p.c.n).label("n"),
            func.sum(p.c.fen).label("fen"),
            func.sum(p.c.carried).label("carried"),
        )
        .group_by(p.c.merchant_id)
        .subquery("owed")
    )
    cases = (
        select(c.merchant_id, func.sum(c.amount_fen).label("case_fen"))
        .where(c.program_id == program_id, c.status == "open")
        .group_by(c.merchant_id)
        .subquery("cases")
    )
    bl = blacklist_entries.c
    blocked = exists().where(
        bl.subject_type == "merchant",
        bl.subject_id == owed.c.merchant_id,
        blacklist.in_force_at(now),
    )
    total = owed.c.fen + owed.c.carried
    case_fen = func.coalesce(cases.c.case_fen, 0)
    not_approved = merchants.c.status != "approved"
    held = case(
        (not_approved, total),
        (blocked, total),
        (case_fen > 0, case((case_fen < total, case_fen), else_=total)),
        else_=0,
    )
    reason = case(
        (not_approved, HoldReason.MERCHANT_SUSPENDED.value),
        (blocked, HoldReason.MERCHANT_BLACKLISTED.value),
        (case_fen > 0, HoldReason.OFFLINE_CASE.value),
        else_=None,
    )
    decided = (
        select(
            owed.c.merchant_id,
            owed.c.n,
            owed.c.fen,
            owed.c.carried,
            total.label("total"),
            held.label("held"),
            reason.label("reason"),
        )
        .select_from(
            owed.join(merchants, merchants.c.id == owed.c.merchant_id).outerjoin(
                cases, cases.c.merchant_id == owed.c.merchant_id
            )
        )
        .where(or_(total > 0, owed.c.n > 0))  # a window netted to 0 still gets its statement
        .subquery("decided")
    )
    d = decided.c
    payout = d.total - d.held
    return select(
        literal(run_id),
        d.merchant_id,
        literal(program_id),
        d.n,
        d.fen,
        d.carried,
        d.total,
        d.held,
        case((d.held > 0, d.reason), else_=None),
        payout,
        case((payout > 0, PayoutStatus.PENDING.value), else_=PayoutStatus.NONE.value),
    )


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


# --- payouts -------------------------------------------------------------------------------------


def mark_paid(
    tx: Connection,
    now: datetime,
    actor: Actor,
    settlement_id: str,
    *,
    payment_ref: str,
    merchant_ids: list[str] | None = None,
) -> Payout:
    """Record that the bank paid the pending statements (all, or those of ``merchant_ids``)."""
    ref = " ".join(payment_ref.split())
    if not ref or len(ref) > 200:
        raise QuanError(PAYMENT_REF_REQUIRED)
    run = get_run(tx, settlement_id)
    visible_program(tx, actor, run.program_id, for_update=True)
    check_payer(run.created_by, actor.label)
    st = settlement_statements.c
    pending = [st.settlement_id == settlement_id, st.payout_status == PayoutStatus.PENDING.value]
    if merchant_ids is not None:
        pending.append(st.merchant_id.in_(merchant_ids))
    count, amount = tx.execute(
        select(func.count(), func.coalesce(func.sum(st.payout_fen), 0)).where(*pending)
    ).one()
    if not count:
        raise QuanError(NOTHING_TO_PAY)
    payout_id = new_id("pay")
    tx.execute(
        insert(settlement_payouts).values(
            id=payout_id,
            settlement_id=settlement_id,
            program_id=run.program_id,
            statements=int(count),
            amount_fen=int(amount),
            payment_ref=ref,
            marked_by=actor.label,
            marked_at=now,
        )
    )
    marked = tx.execute(
        update(settlement_statements)
        .where(*pending)
        .values(payout_status=PayoutStatus.PAID.value, payout_id=payout_id, paid_at=now)
    ).rowcount
    if marked != count:  # the program lock makes this unreachable
        raise QuanError(NOTHING_TO_PAY)
    _post_payout(tx, now, actor, run.program_id, payout_id, settlement_id)
    record_event(
        tx,
        type="settlement.paid",
        actor=actor,
        subject_type="settlement",
        subject_id=settlement_id,
        program_id=run.program_id,
        at=now,
        payload={"payout_id": payout_id, "statements": int(count), "amount_fen": int(amount)},
    )
    return Payout(
        payout_id, settlement_id, run.program_id, int(count), int(amount), ref, actor.label, now
    )


def _post_payout(
    tx: Connection, now: datetime, actor: Actor, program_id: str, payout_id: str, run_id: str
) -> None:
    """One journal entry; its postings come straight from the statements it pays."""
    entry_id = new_id("je")
    tx.execute(
        insert(journal_entries).values(
            id=entry_id,
            program_id=program_id,
            kind="payout",
            source_type="settlement_payout",
            source_id=payout_id,
            memo=f"payouts of settlement {run_id}",
            created_by=actor.label,
            created_at=now,
        )
    )
    st = settlement_statements.c
    paid = st.payout_id == payout_id

    def leg(bucket: Bucket, sign: int) -> Select[Any]:
        return select(
            literal(entry_id),
            literal(program_id),
            literal(bucket.value),
            st.merchant_id,
            st.payout_fen * sign,
        ).where(paid)

    tx.execute(
        insert(postings).from_select(
            ["entry_id", "program_id", "bucket", "ref", "amount_fen"],
            union_all(leg(Bucket.PAYABLE, -1), leg(Bucket.PAID, 1)),
        )
    )


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


def payout_file(
    tx: Connection, now: datetime, actor: Actor, key: pii.Key, settlement_id: str
) -> list[dict[str, Any]]:
    """The pending payouts with each merchant's bank account in clear, for the bank.

    Reading the accounts is recorded (``settlement.payout_file_exported``): they are
    confidential, and who took them out, when, is part of the audit trail.
    """
    run = visible_run(tx, actor, settlement_id)
    st = settlement_statements.c
    rows = tx.execute(
        select(st.merchant_id, st.payout_fen, merchants.c.name)
        .select_from(settlement_statements.join(merchants, merchants.c.id == st.merchant_id))
        .where(st.settlement_id == run.id, st.payout_status == PayoutStatus.PENDING.value)
        .order_by(st.merchant_id)
    ).all()
    out = []
    for merchant_id, amount, name in rows:
        account = merchant_service.payout_account(tx, key, merchant_id)
        out.append(
            payout_row(
                run.id, merchant_id, name, account.bank_name, account.account_number, int(amount)
            )
        )
    record_event(
        tx,
        type="settlement.payout_file_exported",
        actor=actor,
        subject_type="settlement",
        subject_id=run.id,
        program_id=run.program_id,
        at=now,
        payload={"rows": len(out), "amount_fen": sum(int(r["amount_fen"]) for r in out)},
    )
    return out


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

