"""The cashier screen's history: the merchant's latest redemptions, newest first.

A terminal sees its own merchant's redemptions (as ``GET /redemptions/{id}`` allows it one by
one); reversed ones stay listed with their status, so the counter can answer a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from quan.store.redemption_tables import redemptions

HISTORY = 20


@dataclass(frozen=True, slots=True)
class Served:
    id: str
    terminal_id: str
    category: str
    order_amount_fen: int
    discount_fen: int
    redeemed_at: datetime
    status: str


def recent(tx: Connection, merchant_id: str, limit: int = HISTORY) -> list[Served]:
    r = redemptions.c
    rows = tx.execute(
        select(r.id, r.terminal_id, r.category, r.order_amount_fen, r.discount_fen,
               r.redeemed_at, r.status)
        .where(r.merchant_id == merchant_id)
        .order_by(r.id.desc())
        .limit(limit)
    ).all()
    return [Served(*row) for row in rows]
