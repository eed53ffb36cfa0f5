"""Many redemptions of distinct vouchers judged and recorded with a handful of statements
(PostgreSQL), for the micro-batches of :mod:`quan.services.redeem_batch`.

:func:`quan.services.redemption.redeem` takes two round trips per voucher: the locking read of
its facts and the write. Here one statement locks and reads the facts of every voucher of the
micro-batch (in id order, each with its own merchant), the rules judge each in Python exactly
as they judge one, and one more statement writes all that passed (the same data-modifying CTEs
as one redemption's write, over a JSON array of rows) and says which took their voucher.

What this path does not do it hands back (``None``) for :func:`~quan.services.redemption.redeem`
to do alone, in the same transaction and after the rest: a voucher named twice (the later
request), orders with an ``order_ref`` (stacking is judged against the order so far), vouchers
under a daily cap (judged against the holder's day), and a write that did not take its voucher
(deactivated meanwhile: the per-voucher path reads again and refuses with the right rule).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    Connection,
    Text,
    bindparam,
    cast,
    column,
    exists,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.redemption import Order, check
from quan.services.redemption import (
    _EVENT_COLUMNS,
    _JOURNAL_COLUMNS,
    _LEGS,
    _REDEMPTION_COLUMNS,
    VOUCHER_NOT_FOUND,
    Redeemed,
    RedeemRequest,
    _entry,
    _from_mapping,
    _payload,
    _redemption_row,
    facts_many_statement,
    loaded_from_row,
    terminal_of,
    voucher_target,
    write_params,
)
from quan.store.redemption_tables import redemptions, voucher_deactivations
from quan.store.tables import events, journal_entries, postings
from quan.store.voucher_tables import vouchers

_POSTING_FIELDS = ("bucket", "ref", "amount_fen")
# Every value of one redemption's write (:func:`quan.services.redemption.write_params`), each
# bound as an array over the micro-batch; with the type of the column it goes to.
_FIELDS = {
    **{f"r_{k}": redemptions.c[k].type for k in _REDEMPTION_COLUMNS},
    **{f"j_{k}": journal_entries.c[k].type for k in _JOURNAL_COLUMNS},
    **{f"p{n}_{k}": postings.c[k].type for n in range(_LEGS) for k in _POSTING_FIELDS},
    **{f"e_{k}": events.c[k].type for k in _EVENT_COLUMNS},
}


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
        values = json.dumps([{k: j.params[k] for k in _FIELDS} for j in judged], default=_iso)
        taken = set(tx.execute(_write_many_statement(), {"rows": values, "v_at": now}).scalars())
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


@lru_cache(maxsize=1)
def _write_many_statement() -> Any:
    """:func:`quan.services.redemption.write_statement` for a whole micro-batch in one
    statement (planned once, not once per redemption): the values arrive as one JSON array
    (the driver quotes text arrays element by element, several times slower), one row
    of ``written`` per redemption; each voucher's conditional ``UPDATE`` decides whether its
    redemption, journal entry, postings and event are written. The ids of those written."""
    rows = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), JSONB))
        .table_valued(*[column(name, t) for name, t in _FIELDS.items()])
        .render_derived(name="x", with_types=True)
    )
    written = select(rows).cte("written")
    w = written.c
    v, d = vouchers.c, voucher_deactivations.c
    deactivated = exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None))
    took = (
        update(vouchers)
        .where(v.id == w.r_voucher_id, v.status == "active", ~deactivated)
        .values(
            status="redeemed", status_changed_at=bindparam("v_at", type_=v.status_changed_at.type)
        )
        .returning(v.id)
        .cte("took")
    )
    made = (
        insert(redemptions)
        .from_select(
            list(_REDEMPTION_COLUMNS),
            select(*[w[f"r_{k}"] for k in _REDEMPTION_COLUMNS]).select_from(
                written.join(took, took.c.id == w.r_voucher_id)
            ),
        )
        .returning(redemptions.c.id)
        .cte("made")
    )
    with_made = written.join(made, made.c.id == w.r_id)
    posted = (
        insert(journal_entries)
        .from_select(
            list(_JOURNAL_COLUMNS),
            select(*[w[f"j_{k}"] for k in _JOURNAL_COLUMNS]).select_from(with_made),
        )
        .returning(journal_entries.c.id)
        .cte("posted")
    )
    legs = union_all(
        *[
            select(w.j_id, w.j_program_id, *[w[f"p{n}_{k}"] for k in _POSTING_FIELDS]).select_from(
                written.join(posted, posted.c.id == w.j_id)
            )
            for n in range(_LEGS)
        ]
    )
    legs_done = (
        insert(postings)
        .from_select(["entry_id", "program_id", *_POSTING_FIELDS], legs)
        .returning(postings.c.entry_id)
        .cte("legs")
    )
    evented = (
        insert(events)
        .from_select(
            list(_EVENT_COLUMNS),
            select(*[w[f"e_{k}"] for k in _EVENT_COLUMNS]).select_from(with_made),
        )
        .returning(events.c.id)
        .cte("evented")
    )
    return select(made.c.id).add_cte(legs_done, evented)


def _iso(value: Any) -> str:
    """JSON for the dates and times of a write (aware datetimes keep their offset)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a redemption's write")
