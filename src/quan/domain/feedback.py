"""Complaints as tickets (issue 22): categories, their deadlines, the steps of a ticket, and the
masking of personal numbers in what people write.

Pure rules: no database. A complaint has one *next deadline* (``due_at``): while nobody has
answered it, the first response's; once answered, the resolution's. A deadline passed without
the step it waits for escalates the complaint one level (at most :data:`MAX_LEVEL`) and gives
the next level a new deadline of the same length; see :mod:`quan.services.feedback.escalation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from quan.domain.errors import Kind, QuanError, define


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    respond_within: timedelta  # first response after filing
    resolve_within: timedelta  # resolution after the first response


CATEGORIES: Final[dict[str, Category]] = {
    c.code: c
    for c in (
        Category("merchant_refused", timedelta(hours=24), timedelta(hours=72)),
        Category("overcharge", timedelta(hours=24), timedelta(hours=120)),
        Category("voucher_problem", timedelta(hours=48), timedelta(hours=120)),
        Category("service_quality", timedelta(hours=72), timedelta(hours=168)),
        Category("other", timedelta(hours=72), timedelta(hours=240)),
    )
}

CHANNELS: Final = ("wallet", "portal", "hotline")
STATUSES: Final = ("open", "answered", "resolved")
STEP_KINDS: Final = ("filed", "assigned", "response", "merchant_answer", "escalated", "resolved")
MAX_LEVEL: Final = 3  # 1: the team lead, 2: the program office, 3: the issuer's leadership
MAX_TEXT: Final = 2000
MIN_TEXT: Final = 5

UNKNOWN_COMPLAINT_CATEGORY = define(
    "UNKNOWN_COMPLAINT_CATEGORY",
    Kind.INVALID,
    zh="请选择投诉类别。",
    en="Choose the complaint's category.",
)
INVALID_COMPLAINT_TEXT = define(
    "INVALID_COMPLAINT_TEXT",
    Kind.INVALID,
    zh="请用 5 到 2000 个字说明情况。",
    en="Describe what happened in 5 to 2000 characters.",
)
COMPLAINT_CLOSED = define(
    "COMPLAINT_CLOSED",
    Kind.CONFLICT,
    zh="该投诉已办结，不能再回复。",
    en="This complaint is resolved: it takes no more answers.",
)
COMPLAINT_LINK_NOT_YOURS = define(
    "COMPLAINT_LINK_NOT_YOURS",
    Kind.INVALID,
    zh="所填券码或核销记录不存在，或不属于投诉人。",
    en="The voucher or redemption given does not exist or is not the complainant's.",
)

# Mainland mobile numbers and resident ID numbers written in a complaint are masked before it
# is stored: the text is read by staff and merchants, and kept.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def mask_personal_numbers(text: str) -> str:
    """``text`` with phone and resident ID numbers replaced by ``***``."""
    return _PHONE.sub("***", _RESIDENT_ID.sub("***", text))


def clean_text(text: str) -> str:
    """The complaint's text as stored: trimmed, numbers masked; refused when too short or long."""
    cleaned = mask_personal_numbers(text.strip())
    if not MIN_TEXT <= len(cleaned) <= MAX_TEXT:
        raise QuanError(INVALID_COMPLAINT_TEXT)
    return cleaned


def category(code: str) -> Category:
    found = CATEGORIES.get(code)
    if found is None:
        raise QuanError(UNKNOWN_COMPLAINT_CATEGORY)
    return found


def reference(complaint_id: str) -> str:
    """The short reference a complainant is told (the last 8 characters of the id)."""
    return complaint_id[-8:].upper()
