"""Reversing a redemption (退款 / 冲正): the order was refunded, the voucher's money goes back.

Within ``Settings.reversal_window_seconds`` of the redemption, and while it is not yet settled,
its merchant's terminal (or an operator of the issuer) may reverse it. The discount moves back from
``payable:<merchant>`` to ``reserved:<batch>``; then the voucher is **restored** to its holder if
it is still valid, or, past its validity, it **expires** at once and its whole reserve returns to
the available budget (recycled), exactly as the expiry job would have done.

Exactly once, however raced: the program row is locked first (the lock settlement and payouts
take, so a reversal and a settlement of the same redemption are strictly ordered), the redemption
leaves ``redeemed`` by a conditional ``UPDATE``, ``redemption_reversals.redemption_id`` is unique,
and each journal entry's source is unique.

**After settlement** (still within the window) a reversal is **netted**: the merchant has been,
or is about to be, paid for the redemption, so nothing is paid back now. The redemption becomes
``reversed``, its voucher ``expired`` (outcome ``recycled``: the period it was settled in is
closed, so it does not go back to the holder), and a ``settlement_deductions`` row records the
amount. The next settlement run whose window owes that merchant at least as much deducts it from
the merchant's statement (``window_fen`` is net of it) and posts the reversal entry then:
``payable:<merchant> −d``, ``available +d``. Until then the merchant's payable still holds it, so
no account ever goes negative and each reversal still posts exactly one ``reversal`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from quan.clock import Clock
from quan.domain import ledger as rules
from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import Kind, QuanError, define
from quan.domain.ledger import Bucket, Posting, transfer
from quan.domain.merchants import is_merchant_principal
from quan.services.money.programs import get_program
from quan.services.redemption.redemption import (
    REDEMPTION_NOT_FOUND,
    Redemption,
    begin_recording,
    get_redemption,
)
from quan.store import ledger
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import (
    redemption_reversals,
    redemptions,
    settlement_deductions,
    settlement_runs,
)
from quan.store.voucher_tables import vouchers

MAX_REASON = 500

ALREADY_REVERSED = define(
    "ALREADY_REVERSED",
    Kind.CONFLICT,
    zh="该核销已被冲正（冲正记录 {reversal_id}）",
    en="This redemption has already been reversed (reversal {reversal_id})",
)
REVERSAL_WINDOW_OVER = define(
    "REVERSAL_WINDOW_OVER",
    Kind.CONFLICT,
    zh="已超过冲正期限：核销后 {reversal_window_seconds} 秒内可冲正（核销时间 {redeemed_at}）",
    en="Too late to reverse: allowed within {reversal_window_seconds} s of the redemption "
    "(redeemed at {redeemed_at})",
)
REDEMPTION_SETTLED = define(
    "REDEMPTION_SETTLED",
    Kind.CONFLICT,
    zh="该核销已结算（结算单 {settlement_id}），不能再冲正",
    en="This redemption has been settled (settlement {settlement_id}) and cannot be reversed",
)
REVERSAL_REASON_TOO_LONG = define(
    "REVERSAL_REASON_TOO_LONG",
    Kind.INVALID,
    zh="冲正原因不超过 500 字",
    en="The reversal reason must be at most 500 characters",
)


@dataclass(frozen=True, slots=True)
class Reversal:
    id: str
    redemption_id: str
    voucher_id: str
    merchant_id: str
    amount_fen: int
    outcome: str  # restored | recycled
    reason: str
    reversed_by: str
    reversed_at: datetime


def _check_access(actor: Actor, merchant_id: str, issuer_id: str) -> None:
    if is_merchant_principal(actor):
        # A terminal reverses its own merchant's redemptions; to others they do not exist.
        if actor.merchant_id != merchant_id:
            raise QuanError(REDEMPTION_NOT_FOUND)
        return
    require_issuer(actor, issuer_id)


def _settled_by(tx: Connection, program_id: str, recorded_at: datetime) -> str | None:
    """The settlement whose window holds ``recorded_at``, if one ran."""
    s = settlement_runs.c
    found: str | None = tx.execute(
        select(s.id)
        .where(s.program_id == program_id, s.cut_off > recorded_at)
        .order_by(s.cut_off)
        .limit(1)
    ).scalar_one_or_none()
    return found


def reverse(
    tx: Connection,
    clock: Clock,
    actor: Actor,
    redemption_id: str,
    *,
    reason: str,
    window_seconds: int,
) -> Reversal:
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise QuanError(REVERSAL_REASON_TOO_LONG)
    # Lock order: the redemptions table's writer lock, the program, the voucher, the redemption.
    # Taking the table lock first (as redemptions do) means a settlement's barrier never waits on
    # a reversal that itself waits behind the barrier.
    begin_recording(tx)
    peek = get_redemption(tx, redemption_id)
    program = get_program(tx, peek.program_id, for_update=True)
    _check_access(actor, peek.merchant_id, program.issuer_id)
    now = clock.now()  # read under the program lock: a settlement cannot slip in between
    valid_until = tx.execute(
        select(vouchers.c.valid_until).where(vouchers.c.id == peek.voucher_id).with_for_update()
    ).scalar_one()
    red = get_redemption(tx, redemption_id, for_update=True)
    if red.status == "reversed":
        existing = tx.execute(
            select(redemption_reversals.c.id).where(
                redemption_reversals.c.redemption_id == redemption_id
            )
        ).scalar_one()
        raise QuanError(ALREADY_REVERSED, reversal_id=existing)
    if now - red.redeemed_at > timedelta(seconds=window_seconds):
        raise QuanError(
            REVERSAL_WINDOW_OVER,
            reversal_window_seconds=window_seconds,
            redeemed_at=red.redeemed_at.isoformat(),
        )
    settled = _settled_by(tx, red.program_id, red.recorded_at)
    changed = tx.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption_id, redemptions.c.status == "redeemed")
        .values(status="reversed", reversed_at=now)
    ).rowcount
    if changed != 1:  # unreachable under the locks; refuse rather than post twice
        raise QuanError(ALREADY_REVERSED, reversal_id=None)
    reversal_id = new_id("rev")
    restored = now < valid_until and settled is None
    voucher_values = (
        {"status": "active", "status_changed_at": now}
        if restored
        else {"status": "expired", "status_changed_at": now, "release_ref": reversal_id}
    )
    tx.execute(
        update(vouchers)
        .where(vouchers.c.id == red.voucher_id, vouchers.c.status == "redeemed")
        .values(**voucher_values)
    )
    outcome = "restored" if restored else "recycled"
    tx.execute(
        insert(redemption_reversals).values(
            id=reversal_id,
            redemption_id=redemption_id,
            program_id=red.program_id,
            voucher_id=red.voucher_id,
            merchant_id=red.merchant_id,
            amount_fen=red.discount_fen,
            outcome=outcome,
            reason=reason,
            reversed_by=actor.label,
            reversed_at=now,
        )
    )
    if settled is None:
        _post(tx, now, actor, red, reversal_id, recycle_fen=None if restored else red.unit_fen)
    else:  # netted by the merchant's next settlement, which posts the reversal entry
        tx.execute(
            insert(settlement_deductions).values(
                reversal_id=reversal_id,
                redemption_id=redemption_id,
                program_id=red.program_id,
                merchant_id=red.merchant_id,
                amount_fen=red.discount_fen,
                created_at=now,
                settlement_id=None,
            )
        )
    record_event(
        tx,
        type="voucher.redemption_reversed",
        actor=actor,
        subject_type="voucher",
        subject_id=red.voucher_id,
        program_id=red.program_id,
        at=now,
        payload={
            "redemption_id": redemption_id,
            "reversal_id": reversal_id,
            "merchant_id": red.merchant_id,
            "amount_fen": red.discount_fen,
            "outcome": outcome,
            "settled_by": settled,  # not None: netted by the merchant's next settlement
        },
    )
    return Reversal(
        id=reversal_id,
        redemption_id=redemption_id,
        voucher_id=red.voucher_id,
        merchant_id=red.merchant_id,
        amount_fen=red.discount_fen,
        outcome=outcome,
        reason=reason,
        reversed_by=actor.label,
        reversed_at=now,
    )


def _post(
    tx: Connection,
    now: datetime,
    actor: Actor,
    red: Redemption,
    reversal_id: str,
    *,
    recycle_fen: int | None,
) -> None:
    program_id, batch_id, redemption_id = red.program_id, red.batch_id, red.id
    ledger.post(
        tx,
        program_id=program_id,
        entry=transfer(
            "reversal",
            red.discount_fen,
            Posting(Bucket.PAYABLE, 0, red.merchant_id),
            Posting(Bucket.RESERVED, 0, batch_id),
        ),
        source_type="redemption",
        source_id=redemption_id,
        memo=f"redemption {redemption_id} reversed",
        created_by=actor.label,
        at=now,
    )
    if recycle_fen is not None:
        # The voucher expired while it was spent: its whole reserve is released now.
        ledger.post(
            tx,
            program_id=program_id,
            entry=rules.release("reversal_expiry", batch_id, recycle_fen),
            source_type="redemption_reversal",
            source_id=reversal_id,
            memo=f"voucher of redemption {redemption_id} expired before its reversal",
            created_by=actor.label,
            at=now,
        )


def get_reversal(tx: Connection, redemption_id: str) -> Reversal | None:
    row = tx.execute(
        select(redemption_reversals).where(redemption_reversals.c.redemption_id == redemption_id)
    ).first()
    if row is None:
        return None
    m = row._mapping
    return Reversal(**{k: m[k] for k in Reversal.__dataclass_fields__})
