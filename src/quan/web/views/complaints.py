"""What the complaint pages show of a complaint: its reference, sentiment label, whether it is
overdue, and its steps; shared by the wallet, the merchant portal and the staff console."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.feedback import CATEGORIES, reference
from quan.services.feedback import complaints
from quan.services.feedback.analysis import label_of
from quan.services.feedback.complaints import Filing
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.web.i18n import Translator
from quan.web.refusals import FormErrors, sentence


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


def file_in_one_transaction(rt: Runtime, actor: Actor, filing: Filing) -> str:
    """File a complaint in one transaction (the wallet, the portal and the console alike)."""
    with rt.db.write() as tx:
        return complaints.file_complaint(
            tx,
            rt.clock.now(),
            CitizenKeys.from_settings(rt.settings),
            actor,
            filing,
            locale=rt.settings.message_locale,
        )


# Which field a refusal of a filing belongs to, on any of the three forms ("text" otherwise).
FIELD_OF: Final[Mapping[str, str]] = {
    "UNKNOWN_COMPLAINT_CATEGORY": "category",
    "INVALID_COMPLAINT_TEXT": "text",
    "INVALID_PHONE": "phone",
    "NOT_FOUND": "merchant_id",
}


def refusal(exc: QuanError, t: Translator, link_field: str) -> FormErrors:
    """The refusal as a sentence next to its field; ``link_field`` is the form's voucher field
    (``voucher_id`` in the wallet, ``voucher_code`` elsewhere)."""
    errors = FormErrors()
    field = link_field if exc.code == "COMPLAINT_LINK_NOT_YOURS" else FIELD_OF.get(exc.code)
    errors.add(field or "text", sentence(exc, t))
    return errors
