"""Request and response bodies of settlement runs, statements, lines and payouts."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from quan.api.schemas.common import Body
from quan.services.settlement.settlement import Payout, SettlementRun


class SettlementCreate(Body):
    cut_off_date: date | None = Field(
        default=None,
        description="The last local day to settle (program time zone); default: yesterday",
    )


class SettlementPublic(BaseModel):
    id: str
    program_id: str
    seq: int
    cut_off_date: date
    window_start: datetime | None = Field(description="The previous run's cut-off (inclusive)")
    cut_off: datetime = Field(description="Local midnight after cut_off_date (exclusive)")
    merchants: int
    redemption_count: int
    window_fen: int
    carried_fen: int
    held_fen: int
    payout_fen: int
    remainder_fen: int = Field(description="Reserve the settled vouchers did not use, released")
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, r: SettlementRun) -> SettlementPublic:
        return cls(**{k: getattr(r, k) for k in cls.model_fields})


class StatementPublic(BaseModel):
    settlement_id: str
    merchant_id: str
    program_id: str
    redemption_count: int
    window_fen: int = Field(description="Unreversed redemptions recorded in the window")
    carried_fen: int = Field(description="Held in the previous run and still owed")
    total_fen: int
    held_fen: int
    hold_reason: str | None = Field(
        description="merchant_suspended, merchant_blacklisted or offline_case"
    )
    payout_fen: int
    payout_status: str = Field(description="pending, paid, or none (nothing to pay)")
    payout_id: str | None
    paid_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> StatementPublic:
        m = row._mapping
        return cls(**{k: m[k] for k in cls.model_fields})


class StatementLine(BaseModel):
    redemption_id: str
    voucher_id: str
    terminal_id: str
    channel: str
    category: str
    redeemed_at: datetime
    recorded_at: datetime
    order_amount_fen: int
    discount_fen: int
    order_ref: str | None
    metadata: dict[str, str]

    @classmethod
    def of(cls, row: Any) -> StatementLine:
        m = row._mapping
        return cls(
            redemption_id=m["id"],
            voucher_id=m["voucher_id"],
            terminal_id=m["terminal_id"],
            channel=m["channel"],
            category=m["category"],
            redeemed_at=m["redeemed_at"],
            recorded_at=m["recorded_at"],
            order_amount_fen=int(m["order_amount_fen"]),
            discount_fen=int(m["discount_fen"]),
            order_ref=m["order_ref"],
            metadata=json.loads(m["details"]) if m["details"] else {},
        )

    def csv_row(self) -> dict[str, Any]:
        return {
            **self.model_dump(exclude={"metadata"}),
            "branch": self.metadata.get("branch"),
            "cashier": self.metadata.get("cashier"),
            "receipt_no": self.metadata.get("receipt_no"),
        }


class StatementDetail(BaseModel):
    statement: StatementPublic
    lines: list[StatementLine]
    next_cursor: str | None


class PayoutCreate(Body):
    payment_ref: str = Field(max_length=200, description="The bank's batch or transfer reference")
    merchant_ids: list[str] | None = Field(
        default=None, max_length=10_000, description="Only these statements; default: all pending"
    )


class PayoutPublic(BaseModel):
    id: str
    settlement_id: str
    program_id: str
    statements: int
    amount_fen: int
    payment_ref: str
    marked_by: str
    marked_at: datetime

    @classmethod
    def of(cls, p: Payout) -> PayoutPublic:
        return cls(**{k: getattr(p, k) for k in cls.model_fields})
