"""Redeeming a voucher at a merchant's terminal: exactly once, checked against every rule.

The facts are read by :mod:`~quan.services.redemption.redemption_facts` and the rows written by
:mod:`~quan.services.redemption.redemption_write`.

How one redemption is made safe by the database:

1. ``LOCK TABLE redemptions IN ROW EXCLUSIVE MODE`` (PostgreSQL; the lock any insert takes) comes
   first, and only then is the clock read. A settlement waits for every transaction holding that
   lock before it reads a window, so no redemption can be recorded behind a cut-off already
   settled (see :mod:`quan.services.settlement.settlement`). On SQLite ``BEGIN IMMEDIATE``
   serialises.
2. The voucher row is locked (``SELECT … FOR UPDATE``); racing terminals queue on it, and each
   reads the facts (deactivation, blacklist, the order so far, the holder's day) after the lock.
3. :func:`quan.domain.redemption.check` judges them.
4. ``UPDATE vouchers SET status = 'redeemed' WHERE id = ? AND status = 'active'`` and the insert
   of the redemption row happen in a savepoint. The partial unique index
   ``uq_redemptions_live_voucher`` allows one live redemption per voucher whatever happens above;
   ``order_seq`` and ``day_seq`` make stacking and daily caps unraceable (a loser retries with
   fresh facts and is then refused by the rule).
5. One journal entry moves the discount from ``reserved:<batch>`` to ``payable:<merchant>``,
   its source the redemption (unique), and ``voucher.redeemed`` is recorded — ids and amounts
   only; order details stay in the row.

The part of the voucher's reserve the discount did not use (a percent voucher below its cap)
stays reserved until the redemption is settled and can no longer be reversed; settlement returns
it to the available budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    Connection,
)
from sqlalchemy.exc import IntegrityError

from quan import metrics, refusals
from quan.clock import Clock
from quan.domain.auth import Actor
from quan.domain.errors import FORBIDDEN, QuanError
from quan.domain.redemption import check
from quan.domain.redemption_situation import ALREADY_REDEEMED, Order
from quan.services import idempotency
from quan.services.idempotency import IdempotencyKey, Outcome
from quan.services.redemption.redemption import Redeemed, RedeemRequest, Redemption, begin_recording
from quan.services.redemption.redemption_facts import load, voucher_target
from quan.services.redemption.redemption_write import _record
from quan.store.db import Database

RETRIES = 3  # a lost race on order_seq or day_seq costs one retry with fresh facts


def terminal_of(actor: Actor) -> tuple[str, str]:
    """``(merchant_id, terminal_id)`` of a terminal principal; anyone else may not redeem."""
    if actor.role != "terminal" or actor.merchant_id is None:
        raise QuanError(FORBIDDEN)
    return actor.merchant_id, actor.id


def redeem(
    tx: Connection,
    now: datetime,
    actor: Actor,
    keyring: Mapping[str, Ed25519PublicKey],
    req: RedeemRequest,
) -> Redeemed:
    """Redeem at a terminal now. The caller has called :func:`begin_recording` before reading
    ``now`` (see the module docstring); the request's ``order_ref`` and ``details`` are already
    checked (:mod:`quan.domain.order_details`)."""
    terminal_of(actor)
    voucher_id, code = voucher_target(req, keyring)
    order = Order(req.order_amount_fen, req.category, req.scene, now)
    return _redeem(
        tx,
        now,
        actor,
        voucher_id,
        code,
        order,
        channel="online",
        order_ref=req.order_ref,
        details=req.details,
    )


def redeem_locked(
    tx: Connection,
    now: datetime,
    actor: Actor,
    voucher_id: str,
    order: Order,
    *,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> Redeemed:
    """Judge and record a redemption of a voucher whose row this transaction has locked.

    ``order.at`` is when the customer was served (``now`` online; the terminal's time for an
    offline record); ``now`` is when the platform records it.
    """
    return _redeem(
        tx,
        now,
        actor,
        voucher_id,
        None,
        order,
        channel=channel,
        order_ref=order_ref,
        details=details,
    )


def _redeem(
    tx: Connection,
    now: datetime,
    actor: Actor,
    voucher_id: str | None,
    code: str | None,
    order: Order,
    *,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> Redeemed:
    merchant_id, terminal_id = terminal_of(actor)
    redemption: Redemption | None = None
    for attempt in range(RETRIES):
        loaded = load(tx, voucher_id, merchant_id, order, order_ref, code=code)
        voucher_id, code = loaded.situation.voucher.id, None
        applied = check(loaded.situation)
        args = (tx, now, actor, loaded, applied, terminal_id, channel, order_ref, details)
        if order_ref is None and loaded.situation.daily_cap is None:
            # Nothing another transaction could take first: the voucher row is locked.
            redemption = _record(*args)
        else:
            try:
                with tx.begin_nested():
                    redemption = _record(*args)
            except IntegrityError:
                # Another terminal took the same order_seq or day_seq first; judge again.
                if attempt == RETRIES - 1:
                    raise
                continue
        if redemption is not None:
            break
        # The write's fresh look found the voucher deactivated meanwhile: judge again (refused).
    if redemption is None:
        raise QuanError(ALREADY_REDEEMED, rule="voucher_status", voucher_id=voucher_id)
    return Redeemed(redemption, applied.customer_pays_fen)


def refusal(db: Database, clock: Clock, actor: Actor, exc: QuanError) -> None:
    """Record a refused redemption: which terminal of which merchant, and the rule."""
    refusals.refused(
        db,
        clock.now(),
        "redeem",
        exc.code,
        subject=f"{actor.kind}:{actor.id}",
        merchant_id=actor.merchant_id or "",
    )


def redeem_once(
    db: Database,
    clock: Clock,
    actor: Actor,
    keyring: Mapping[str, Ed25519PublicKey],
    req: RedeemRequest,
    key: IdempotencyKey | None,
    answer: Callable[[Redeemed], tuple[int, Any]],
) -> Outcome:
    """Redeem once per idempotency key (a retry gets the first answer): the recording lock is
    taken before the clock is read (see :func:`begin_recording`)."""

    done: list[Redeemed] = []

    def work(tx: Connection) -> Redeemed:
        begin_recording(tx)
        now = clock.now()  # after the recording lock
        result = redeem(tx, now, actor, keyring, req)
        done.append(result)
        return result

    try:
        outcome = idempotency.run(db, clock, key, work, answer)
    except QuanError as exc:
        refusal(db, clock, actor, exc)
        raise
    if done and not outcome.replayed:  # counted once committed; a replay is not counted again
        metrics.redeemed(done[-1].redemption.discount_fen)
    return outcome
