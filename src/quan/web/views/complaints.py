"""What the complaint pages show of a complaint: its reference, sentiment label, whether it is
overdue, and its steps; shared by the wallet, the merchant portal and the staff console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quan.domain.feedback import CATEGORIES, reference
from quan.services.feedback.analysis import label_of


@dataclass(frozen=True, slots=True)
class ComplaintView:
    id: str
    ref: str
    category: str
    channel: str
    status: str
    body: str
    merchant_id: str | None
    merchant_name: str | None
    voucher_id: str | None
    redemption_id: str | None
    filed_at: datetime
    due_at: datetime | None
    overdue: bool
    level: int
    assignee: str | None
    sentiment: str  # negative | neutral | positive | pending
    topic: str | None
    filed_by_merchant: str | None


def view(row: Any, now: datetime) -> ComplaintView:
    return ComplaintView(
        id=row.id,
        ref=reference(row.id),
        category=row.category,
        channel=row.channel,
        status=row.status,
        body=row.body,
        merchant_id=row.merchant_id,
        merchant_name=row.merchant_name,
        voucher_id=row.voucher_id,
        redemption_id=row.redemption_id,
        filed_at=row.filed_at,
        due_at=row.due_at,
        overdue=row.due_at is not None and row.due_at <= now,
        level=row.escalation_level,
        assignee=row.assignee,
        sentiment="pending" if row.sentiment is None else label_of(row.sentiment),
        topic=row.topic,
        filed_by_merchant=row.filing_merchant_id,
    )


def category_codes() -> list[str]:
    return list(CATEGORIES)


def respond_hours(code: str) -> int:
    return int(CATEGORIES[code].respond_within.total_seconds() // 3600)
