"""Many redemptions of distinct vouchers judged and recorded with a handful of statements
(PostgreSQL), for the micro-batches of :mod:`quan.services.redemption.redeem_batch`.

:func:`quan.services.redemption.redeem.redeem` takes two round trips per voucher: the locking
read of its facts and the write. Here one statement locks and reads the facts of every voucher of
the micro-batch (in id order, each with its own merchant), the rules judge each in Python exactly
as they judge one, and one more statement writes all that passed (the write a redemption alone
takes, :func:`quan.services.redemption.redemption_write.write_rows`, over all their rows) and
says which took their voucher.

What this path does not do it hands back (``None``) for
:func:`~quan.services.redemption.redeem.redeem`
to do alone, in the same transaction and after the rest: a voucher named twice (the later
request), orders with an ``order_ref`` (stacking is judged against the order so far), vouchers
under a daily cap (judged against the holder's day), and a write that did not take its voucher
(deactivated meanwhile: the per-voucher path reads again and refuses with the right rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.redemption import check
from quan.domain.redemption_situation import Order
from quan.services.redemption.redeem import terminal_of
from quan.services.redemption.redemption import (
    VOUCHER_NOT_FOUND,
    Redeemed,
    RedeemRequest,
    _from_mapping,
)
from quan.services.redemption.redemption_facts import (
    facts_many_statement,
    loaded_from_row,
    voucher_target,
)
from quan.services.redemption.redemption_write import (
    _entry,
    _payload,
    _redemption_row,
    write_params,
    write_rows,
)


@dataclass(frozen=True, slots=True)
class Wanted:
    """One terminal's redemption request."""

    actor: Actor
    request: RedeemRequest


# Per request: the new redemption, its refusal, or None: for the per-voucher path.
ManyResult = Redeemed | QuanError | None


@dataclass(slots=True)
class _Judged:
    index: int
    redeemed: Redeemed
    params: dict[str, Any]


def redeem_many(
    tx: Connection,
    now: datetime,
    keyring: Mapping[str, Ed25519PublicKey],
    wanted: Sequence[Wanted],
) -> list[ManyResult]:
    """Judge and record the redemptions of ``wanted`` set-wise (PostgreSQL; the caller has
    taken the recording lock before reading ``now``)."""
    results: list[ManyResult] = [None] * len(wanted)
    by_kind: dict[bool, dict[str, int]] = {False: {}, True: {}}  # by code? target -> index
    for index, w in enumerate(wanted):
        if w.request.order_ref is not None:
            continue
        try:
            voucher_id, code = voucher_target(w.request, keyring)
        except QuanError as refusal:
            results[index] = refusal
            continue
        by_code = voucher_id is None
        target = code if by_code else voucher_id
        assert target is not None
        by_kind[by_code].setdefault(target, index)  # a voucher named again: alone, after
    judged: list[_Judged] = []
    for by_code, targets in by_kind.items():
        if not targets:
            continue
        merchants = [terminal_of(wanted[i].actor)[0] for i in targets.values()]
        rows = tx.execute(
            facts_many_statement(by_code),
            {"targets": list(targets), "merchant_ids": merchants, "at": now},
        ).all()
        found = {row.target: row for row in rows}
        for target, index in targets.items():
            row = found.get(target)
            if row is None:
                results[index] = QuanError(VOUCHER_NOT_FOUND)
                continue
            if row.daily_cap is not None:
                continue  # judged against the holder's day: alone
            try:
                judged.append(_judge(tx, now, index, wanted[index], row))
            except QuanError as refusal:
                results[index] = refusal
    if judged:
        taken = write_rows(tx, now, [j.params for j in judged])
        for j in judged:
            if j.redeemed.redemption.id in taken:
                results[j.index] = j.redeemed
    return results


def _judge(tx: Connection, now: datetime, index: int, w: Wanted, row: Any) -> _Judged:
    merchant_id, terminal_id = terminal_of(w.actor)
    req = w.request
    order = Order(req.order_amount_fen, req.category, req.scene, now)
    loaded = loaded_from_row(tx, row, merchant_id, order, None)
    applied = check(loaded.situation)
    values = _redemption_row(now, loaded, applied, terminal_id, "online", None, req.details)
    redemption = _from_mapping(values)
    entry = _entry(redemption, loaded.batch_id)
    params = write_params(now, w.actor, values, entry, _payload(redemption))
    return _Judged(index, Redeemed(redemption, applied.customer_pays_fen), params)
