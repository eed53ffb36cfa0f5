"""Read models of the merchant portal: the issuers one may apply to, and a merchant's own
statements with their payouts (newest first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select

from quan.store.redemption_tables import settlement_payouts, settlement_runs, settlement_statements
from quan.store.tables import issuers


@dataclass(frozen=True, slots=True)
class IssuerChoice:
    id: str
    name: str
    region_code: str


def issuer_choices(tx: Connection) -> list[IssuerChoice]:
    rows = tx.execute(
        select(issuers.c.id, issuers.c.name, issuers.c.region_code).order_by(issuers.c.name)
    ).all()
    return [IssuerChoice(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class OwnStatement:
    settlement_id: str
    cut_off_date: date
    redemption_count: int
    total_fen: int
    held_fen: int
    payout_fen: int
    payout_status: str
    paid_at: datetime | None
    payment_ref: str | None


def own_statements(tx: Connection, merchant_id: str, limit: int = 100) -> list[OwnStatement]:
    s = settlement_statements.c
    rows = tx.execute(
        select(
            s.settlement_id,
            settlement_runs.c.cut_off_date,
            s.redemption_count,
            s.total_fen,
            s.held_fen,
            s.payout_fen,
            s.payout_status,
            s.paid_at,
            settlement_payouts.c.payment_ref,
        )
        .join(settlement_runs, settlement_runs.c.id == s.settlement_id)
        .outerjoin(settlement_payouts, settlement_payouts.c.id == s.payout_id)
        .where(s.merchant_id == merchant_id)
        .order_by(settlement_runs.c.created_at.desc(), s.settlement_id.desc())
        .limit(limit)
    ).all()
    return [OwnStatement(*row) for row in rows]
