"""Read models of the lottery screens that the API has no route for.

* :func:`my_lotteries` — the lottery batches a citizen registered for, with where each stands:
  waiting for the draw, won (with the voucher the draw issued), or not won.
* :func:`registered_batches` — the ids of the batches a citizen registered for (the wallet's
  offers say "registered" instead of offering to register again).
* :func:`winners_count` — how many registrants a published draw picked (the pools' winners).

The public record itself (commitment, seed, pools, winners) is the API's
``GET /batches/{id}/lottery``, which the pages call as a function.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, select

from quan.store.lottery_tables import lottery_draws, lottery_registrations, lottery_winners
from quan.store.tables import programs
from quan.store.voucher_tables import batches, voucher_types, vouchers


class Result(StrEnum):
    WAITING = "waiting"  # registration still open
    AWAITING_DRAW = "awaiting_draw"  # registration closed, not drawn yet
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class MyLottery:
    batch_id: str
    batch_name: str
    program_name: str
    timezone: str
    type_name: str
    registered_at: datetime
    closes_at: datetime
    drawn_at: datetime | None
    pseudonym: str
    result: Result
    voucher_id: str | None  # the voucher a win issued


def _result(won: bool, drawn_at: datetime | None, closes_at: datetime, now: datetime) -> Result:
    """Only winners are recorded (``lottery_winners``): a registrant of a drawn lottery who did
    not win has lost."""
    if won:
        return Result.WON
    if drawn_at is not None:
        return Result.LOST
    return Result.WAITING if now < closes_at else Result.AWAITING_DRAW


def my_lotteries(tx: Connection, citizen_id: str, now: datetime) -> list[MyLottery]:
    """The citizen's lottery registrations, newest first (at most 50)."""
    r, b, d, w = lottery_registrations.c, batches.c, lottery_draws.c, lottery_winners.c
    rows = tx.execute(
        select(
            r.batch_id, r.registered_at, r.pseudonym, w.pool.label("won_pool"), b.name,
            b.claim_closes_at,
            programs.c.name.label("program_name"), programs.c.timezone,
            voucher_types.c.name.label("type_name"), d.drawn_at,
        )
        .join(batches, b.id == r.batch_id)
        .join(programs, programs.c.id == b.program_id)
        .join(voucher_types, voucher_types.c.id == b.voucher_type_id)
        .outerjoin(lottery_draws, d.batch_id == r.batch_id)
        .outerjoin(lottery_winners, and_(w.batch_id == r.batch_id, w.pseudonym == r.pseudonym))
        .where(r.citizen_id == citizen_id)
        .order_by(r.registered_at.desc(), r.batch_id)
        .limit(50)
    ).all()
    won = [row.batch_id for row in rows if row.won_pool is not None]
    voucher_of: dict[str, str] = {}
    if won:
        found = tx.execute(
            select(vouchers.c.batch_id, vouchers.c.id)
            .where(vouchers.c.citizen_id == citizen_id, vouchers.c.batch_id.in_(won))
            .order_by(vouchers.c.id)
        ).all()
        for batch_id, voucher_id in found:
            voucher_of.setdefault(batch_id, voucher_id)
    return [
        MyLottery(
            batch_id=row.batch_id,
            batch_name=row.name,
            program_name=row.program_name,
            timezone=row.timezone,
            type_name=row.type_name,
            registered_at=row.registered_at,
            closes_at=row.claim_closes_at,
            drawn_at=row.drawn_at,
            pseudonym=row.pseudonym,
            result=_result(row.won_pool is not None, row.drawn_at, row.claim_closes_at, now),
            voucher_id=voucher_of.get(row.batch_id),
        )
        for row in rows
    ]


def registered_batches(tx: Connection, citizen_id: str, batch_ids: Iterable[str]) -> set[str]:
    ids = list(batch_ids)
    if not ids:
        return set()
    r = lottery_registrations.c
    found = tx.execute(
        select(r.batch_id).where(r.citizen_id == citizen_id, r.batch_id.in_(ids))
    ).scalars()
    return set(found)


def winners_count(winners: dict[str, list[str]] | None) -> int | None:
    """Winners over every pool of a published draw; ``None`` before the draw."""
    if winners is None:
        return None
    return sum(len(names) for names in winners.values())


def pools_view(pools: list[Any]) -> list[dict[str, Any]]:
    """The published pools as rows for a table (name, reserved, places, winners drawn)."""
    return [
        {
            "name": p.name,
            "reserved": p.reserved,
            "base_k": p.base_k,
            "k": p.k,
            "winners": None if p.winners is None else len(p.winners),
        }
        for p in pools
    ]
