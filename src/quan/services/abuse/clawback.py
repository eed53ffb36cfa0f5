"""Clawing back what a confirmed case's settled redemptions were paid.

A redemption settled before its case was confirmed cannot be held: its money has been paid, or
is on a pending payout. Clawing it back reverses it as a **reversal after settlement**
(:mod:`quan.services.redemption.reversal`), whatever its age: the redemption becomes
``reversed``, its voucher expires (its period is closed), and a ``settlement_deductions`` row — a
sum the merchant owes back — is netted against the merchant's next settlement whose window owes
at least as much, which posts ``payable:<merchant> −d``, ``available +d``. The ledger identity and
``quan ledger check`` hold as for any such reversal. Held redemptions are not clawed back: their
money was never paid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from quan.clock import Clock
from quan.domain.auth import Actor
from quan.domain.errors import Kind, QuanError, define
from quan.services.abuse.cases import get_case
from quan.services.abuse.holds import active_hold
from quan.services.money.programs import get_program
from quan.services.redemption import reversal
from quan.services.redemption.redemption import begin_recording
from quan.services.settlement.settlement import last_run
from quan.store.events import record_event
from quan.store.redemption_tables import redemptions

CASE_NOT_CONFIRMED = define(
    "RISK_CASE_NOT_CONFIRMED",
    Kind.CONFLICT,
    zh="只有已确认的案件才能追回已结算的款项",
    en="Only a confirmed case can claw back money already settled",
)
NOTHING_TO_CLAW_BACK = define(
    "NOTHING_TO_CLAW_BACK",
    Kind.CONFLICT,
    zh="该案件没有可追回的已结算核销",
    en="This case has no settled redemption left to claw back",
)
# A clawback is not a refund at the counter: the reversal window does not bound it.
NO_WINDOW = 100 * 365 * 24 * 3600


@dataclass(slots=True)
class Clawback:
    reversal_ids: list[str] = field(default_factory=list)
    amount_fen: int = 0


def claw_back(tx: Connection, clock: Clock, actor: Actor, case_id: str) -> Clawback:
    """Reverse, as reversals after settlement, the case's settled redemptions not held."""
    begin_recording(tx)  # the redemptions' writer lock first, as every reversal takes it
    case = get_case(tx, actor, case_id)
    if case.status != "confirmed":
        raise QuanError(CASE_NOT_CONFIRMED)
    get_program(tx, case.program_id, for_update=True)
    last = last_run(tx, case.program_id)
    if last is None or not case.redemption_ids:
        raise QuanError(NOTHING_TO_CLAW_BACK)
    r = redemptions.c
    settled = tx.execute(
        select(r.id)
        .where(
            r.id.in_(case.redemption_ids),
            r.status == "redeemed",
            r.recorded_at < last.cut_off,
        )
        .order_by(r.id)
    ).scalars()
    done = Clawback()
    for redemption_id in settled:
        if active_hold(tx, redemption_id) is not None:
            continue
        made = reversal.reverse(
            tx, clock, actor, redemption_id,
            reason=f"clawback: case {case_id}", window_seconds=NO_WINDOW,
        )  # fmt: skip
        done.reversal_ids.append(made.id)
        done.amount_fen += int(made.amount_fen)
    if not done.reversal_ids:
        raise QuanError(NOTHING_TO_CLAW_BACK)
    record_event(
        tx,
        type="risk_case.clawed_back",
        actor=actor,
        subject_type="risk_case",
        subject_id=case_id,
        program_id=case.program_id,
        at=clock.now(),
        payload={"redemptions": len(done.reversal_ids), "amount_fen": done.amount_fen},
    )
    return done
