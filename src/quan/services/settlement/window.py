"""What one settlement window owes each merchant: the redemptions recorded in it, the deductions
due (offline cases decided against the merchant), netted, as one statement row per merchant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)

from quan.domain.auth import Actor
from quan.domain.ledger import Bucket, JournalEntry, Posting
from quan.domain.settlement import (
    HoldReason,
    PayoutStatus,
    Window,
)
from quan.services.people import blacklist
from quan.store import ledger
from quan.store.abuse_tables import redemption_holds
from quan.store.citizen_tables import blacklist_entries
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import (
    offline_cases,
    redemptions,
    settlement_deductions,
    settlement_statements,
)

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
    # Holds on single redemptions (abuse cases): only on live redemptions not yet settled when
    # placed, so each is in this window or in what the last run carried.
    h = redemption_holds.c
    holds = (
        select(h.merchant_id, func.sum(h.amount_fen).label("hold_fen"))
        .select_from(redemption_holds.join(redemptions, r.id == h.redemption_id))
        .where(h.program_id == program_id, h.released_at.is_(None), r.status == "redeemed")
        .group_by(h.merchant_id)
        .subquery("holds")
    )
    bl = blacklist_entries.c
    blocked = exists().where(
        bl.subject_type == "merchant",
        bl.subject_id == owed.c.merchant_id,
        blacklist.in_force_at(now),
    )
    total = owed.c.fen + owed.c.carried
    case_fen = func.coalesce(cases.c.case_fen, 0)
    hold_fen = func.coalesce(holds.c.hold_fen, 0)
    kept = case_fen + hold_fen
    not_approved = merchants.c.status != "approved"
    held = case(
        (not_approved, total),
        (blocked, total),
        (kept > 0, case((kept < total, kept), else_=total)),
        else_=0,
    )
    reason = case(
        (not_approved, HoldReason.MERCHANT_SUSPENDED.value),
        (blocked, HoldReason.MERCHANT_BLACKLISTED.value),
        (case_fen > 0, HoldReason.OFFLINE_CASE.value),
        (hold_fen > 0, HoldReason.REDEMPTION_HOLD.value),
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
            owed.join(merchants, merchants.c.id == owed.c.merchant_id)
            .outerjoin(cases, cases.c.merchant_id == owed.c.merchant_id)
            .outerjoin(holds, holds.c.merchant_id == owed.c.merchant_id)
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
