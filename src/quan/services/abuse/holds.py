"""Holds on the single redemptions an abuse case concerns.

A hold keeps exactly one redemption's discount out of its merchant's payouts until released
(:mod:`quan.services.settlement.window` holds the sum of a merchant's holds in force, reason
``redemption_hold``, and carries it to the next run; the rest of the merchant's money is paid).

**A hold and a settlement never both take a redemption.** Both take the program's row lock
first (settlement runs, reversals and payouts queue on it). Under it a hold refuses a redemption
recorded before the last run's cut-off — its money has been settled (paid, or owed on a pending
payout): that is for a clawback, not a hold — and a run counts every hold placed before it. So a
hold either comes first and the run holds the money, or comes after and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from quan.domain.auth import Actor
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.services.money.programs import get_program
from quan.services.settlement.settlement import last_run
from quan.store.abuse_tables import redemption_holds, risk_cases
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import redemptions

REDEMPTION_SETTLED = define(
    "REDEMPTION_ALREADY_SETTLED",
    Kind.CONFLICT,
    zh="该核销已在结算 {settlement_id} 中结算，不能再暂扣（需追回）",
    en="This redemption was settled in {settlement_id} and can no longer be held (it needs "
    "a clawback)",
)
REDEMPTION_NOT_LIVE = define(
    "REDEMPTION_NOT_HOLDABLE",
    Kind.CONFLICT,
    zh="该核销已撤销，无需暂扣",
    en="This redemption was reversed; there is nothing to hold",
)
ALREADY_HELD = define(
    "REDEMPTION_ALREADY_HELD",
    Kind.CONFLICT,
    zh="该核销已被暂扣（{hold_id}）",
    en="This redemption is already held ({hold_id})",
)
HOLD_NOT_IN_FORCE = define(
    "HOLD_NOT_IN_FORCE",
    Kind.CONFLICT,
    zh="该暂扣已解除",
    en="This hold has already been released",
)

h = redemption_holds.c


@dataclass(slots=True)
class HoldOutcome:
    held: list[str] = field(default_factory=list)  # redemption ids held now
    already: list[str] = field(default_factory=list)  # held before
    settled: list[str] = field(default_factory=list)  # settled already: clawback, not hold
    reversed: list[str] = field(default_factory=list)


def active_hold(tx: Connection, redemption_id: str) -> str | None:
    return tx.execute(
        select(h.id).where(h.redemption_id == redemption_id, h.released_at.is_(None))
    ).scalar_one_or_none()


def _hold_one(
    tx: Connection,
    now: datetime,
    actor: Actor,
    case: dict[str, str],
    redemption_id: str,
    settled_before: datetime | None,
    settlement_id: str | None,
) -> str:
    r = redemptions.c
    row = tx.execute(
        select(r.id, r.merchant_id, r.discount_fen, r.status, r.recorded_at).where(
            r.id == redemption_id, r.program_id == case["program_id"]
        )
    ).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"redemption {redemption_id}")
    if row.status != "redeemed":
        raise QuanError(REDEMPTION_NOT_LIVE)
    if settled_before is not None and row.recorded_at < settled_before:
        raise QuanError(REDEMPTION_SETTLED, settlement_id=settlement_id)
    existing = active_hold(tx, redemption_id)
    if existing is not None:
        raise QuanError(ALREADY_HELD, hold_id=existing)
    hold_id = new_id("hld")
    tx.execute(
        insert(redemption_holds).values(
            id=hold_id,
            case_id=case["id"],
            redemption_id=redemption_id,
            program_id=case["program_id"],
            merchant_id=row.merchant_id,
            amount_fen=int(row.discount_fen),
            placed_by=actor.label,
            placed_at=now,
        )
    )
    record_event(
        tx,
        type="redemption.held",
        actor=actor,
        subject_type="redemption",
        subject_id=redemption_id,
        program_id=case["program_id"],
        at=now,
        payload={
            "hold_id": hold_id,
            "case_id": case["id"],
            "merchant_id": row.merchant_id,
            "amount_fen": int(row.discount_fen),
        },
    )
    return hold_id


def _locked_case(tx: Connection, case_id: str) -> dict[str, str]:
    row = tx.execute(select(risk_cases).where(risk_cases.c.id == case_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"case {case_id}")
    get_program(tx, row.program_id, for_update=True)  # the settlement's lock, taken first
    return {"id": row.id, "program_id": row.program_id}


def hold_redemption(
    tx: Connection, now: datetime, actor: Actor, case_id: str, redemption_id: str
) -> str:
    """Hold one redemption for ``case_id`` (the caller checked the actor may act on the case)."""
    case = _locked_case(tx, case_id)
    last = last_run(tx, case["program_id"])
    return _hold_one(
        tx, now, actor, case, redemption_id,
        last.cut_off if last else None, last.id if last else None,
    )  # fmt: skip


def hold_many(
    tx: Connection, now: datetime, actor: Actor, case_id: str, redemption_ids: list[str]
) -> HoldOutcome:
    """Hold each of ``redemption_ids`` that can be; say what became of each."""
    case = _locked_case(tx, case_id)
    last = last_run(tx, case["program_id"])
    outcome = HoldOutcome()
    for redemption_id in redemption_ids:
        try:
            _hold_one(
                tx, now, actor, case, redemption_id,
                last.cut_off if last else None, last.id if last else None,
            )  # fmt: skip
            outcome.held.append(redemption_id)
        except QuanError as exc:
            if exc.spec is ALREADY_HELD:
                outcome.already.append(redemption_id)
            elif exc.spec is REDEMPTION_SETTLED:
                outcome.settled.append(redemption_id)
            elif exc.spec is REDEMPTION_NOT_LIVE:
                outcome.reversed.append(redemption_id)
            else:
                raise
    return outcome


def release_case_holds(tx: Connection, now: datetime, actor: Actor, case_id: str) -> int:
    """Release every hold of the case still in force (the case was dismissed)."""
    case = _locked_case(tx, case_id)
    released = tx.execute(
        select(h.id, h.redemption_id, h.amount_fen)
        .where(h.case_id == case_id, h.released_at.is_(None))
        .order_by(h.id)
    ).all()
    for hold_id, redemption_id, amount in released:
        changed = tx.execute(
            update(redemption_holds)
            .where(h.id == hold_id, h.released_at.is_(None))
            .values(released_at=now, released_by=actor.label)
        ).rowcount
        if changed != 1:
            raise QuanError(HOLD_NOT_IN_FORCE)
        record_event(
            tx,
            type="redemption.hold_released",
            actor=actor,
            subject_type="redemption",
            subject_id=redemption_id,
            program_id=case["program_id"],
            at=now,
            payload={"hold_id": hold_id, "case_id": case_id, "amount_fen": int(amount)},
        )
    return len(released)
