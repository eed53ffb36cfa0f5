"""Merchant rules: what an application must hold, the review workflow, re-review dates, and who
may see or act on a merchant.

Workflow (every arrow is a review decision, attributed to its reviewer)::

    submitted ──approve──▶ approved ──suspend──▶ suspended
        │                   │  ▲                      │
        └──reject──▶ rejected   └─renew (re-review)    └──reinstate──▶ approved

``rejected`` is final for that application; the body may apply again. ``approve``, ``renew``
and ``reinstate`` each set the next re-review date ``REVIEW_INTERVAL_MONTHS`` ahead; ``reject``
and ``suspend`` need a reason and clear it (a suspended merchant is not due, it is being
handled). A merchant applies to one issuer's scheme and is reviewed by that issuer.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from quan.domain.auth import Actor, PartnerRole, require_issuer
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.domain.names import check_name as check_text_name
from quan.domain.names import has_control_characters


class MerchantStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Scene(StrEnum):
    OFFLINE = "offline"  # at the counter, through a terminal
    ONLINE = "online"  # a web shop or mini-program


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    RENEW = "renew"  # the periodic re-review found the merchant still fit


TRANSITIONS: dict[MerchantStatus, dict[Decision, MerchantStatus]] = {
    MerchantStatus.SUBMITTED: {
        Decision.APPROVE: MerchantStatus.APPROVED,
        Decision.REJECT: MerchantStatus.REJECTED,
    },
    MerchantStatus.APPROVED: {
        Decision.SUSPEND: MerchantStatus.SUSPENDED,
        Decision.RENEW: MerchantStatus.APPROVED,
    },
    MerchantStatus.SUSPENDED: {Decision.REINSTATE: MerchantStatus.APPROVED},
    MerchantStatus.REJECTED: {},
}
REASON_REQUIRED_FOR = frozenset({Decision.REJECT, Decision.SUSPEND})
REVIEW_INTERVAL_MONTHS = 12

ACCOUNT_DIGITS = (8, 32)  # corporate accounts vary by bank; personal cards are 16-19
NAME_LENGTH = 200
BANK_NAME_LENGTH = 100

TRANSITION_NOT_ALLOWED = define(
    "MERCHANT_TRANSITION_NOT_ALLOWED",
    Kind.CONFLICT,
    zh="商户当前状态为“{merchant_status}”，不能执行“{decision}”",
    en="A merchant in status '{merchant_status}' cannot be given the decision '{decision}'",
)
REASON_REQUIRED = define(
    "REVIEW_REASON_REQUIRED",
    Kind.INVALID,
    zh="驳回或暂停商户必须填写理由",
    en="Rejecting or suspending a merchant needs a reason",
)
CATEGORY_REQUIRED = define(
    "MERCHANT_CATEGORY_REQUIRED",
    Kind.INVALID,
    zh="请至少选择一个经营类别",
    en="Choose at least one category",
)
SCENE_REQUIRED = define(
    "MERCHANT_SCENE_REQUIRED",
    Kind.INVALID,
    zh="请至少选择一种受理场景（线下或线上）",
    en="Choose at least one scene (offline or online)",
)
INVALID_NAME = define(
    "INVALID_MERCHANT_NAME",
    Kind.INVALID,
    zh="商户名称不能为空，且不超过 200 个字符",
    en="The merchant name must be 1 to 200 characters",
)
INVALID_BANK_ACCOUNT = define(
    "INVALID_BANK_ACCOUNT",
    Kind.INVALID,
    zh="银行账户无效：账号须为 8–32 位数字，开户行名称不能为空",
    en="The bank account is not valid: 8-32 digits, and the bank's name",
)
INVALID_CONTACT_PHONE = define(
    "INVALID_CONTACT_PHONE",
    Kind.INVALID,
    zh="联系电话须为 11 位中国大陆手机号码",
    en="The contact phone must be an 11-digit mainland China mobile number",
)
REGION_OUTSIDE_ISSUER = define(
    "REGION_OUTSIDE_ISSUER",
    Kind.INVALID,
    zh="商户所在地区 {region_code} 不在该发放单位的辖区 {issuer_region_code} 内",
    en="Region {region_code} is outside the issuer's area {issuer_region_code}",
)
MERCHANT_NOT_APPROVED = define(
    "MERCHANT_NOT_APPROVED",
    Kind.CONFLICT,
    zh="商户当前状态为“{merchant_status}”，审核通过后才能进行此操作",
    en="The merchant is '{merchant_status}'; this needs an approved merchant",
)

_REGION = re.compile(r"^\d{6}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ACCOUNT_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True, slots=True)
class BankAccount:
    bank_name: str
    account_number: str  # digits only


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    status: MerchantStatus
    next_review_due_at: datetime | None


def check_name(name: str) -> str:
    return check_text_name(name, max_length=NAME_LENGTH, error=INVALID_NAME)


def check_scenes(scenes: Collection[Scene]) -> frozenset[Scene]:
    if not scenes:
        raise QuanError(SCENE_REQUIRED)
    return frozenset(scenes)


def parse_bank_account(bank_name: str, account_number: str) -> BankAccount:
    """Spaces and hyphens, as printed on cards and account letters, are dropped."""
    if has_control_characters(bank_name):
        raise QuanError(INVALID_BANK_ACCOUNT, reason="bank_name")
    bank_name = " ".join(bank_name.split())
    if not bank_name or len(bank_name) > BANK_NAME_LENGTH:
        raise QuanError(INVALID_BANK_ACCOUNT, reason="bank_name")
    digits = _ACCOUNT_SEPARATORS.sub("", account_number)
    if not digits.isascii() or not digits.isdigit():
        raise QuanError(INVALID_BANK_ACCOUNT, reason="characters")
    if not ACCOUNT_DIGITS[0] <= len(digits) <= ACCOUNT_DIGITS[1]:
        raise QuanError(INVALID_BANK_ACCOUNT, reason="length")
    return BankAccount(bank_name, digits)


def parse_contact_phone(text: str) -> str:
    """An 11-digit mobile number (it receives the review notices), with or without +86."""
    digits = _ACCOUNT_SEPARATORS.sub("", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if not _MOBILE.match(digits):
        raise QuanError(INVALID_CONTACT_PHONE)
    return digits


def is_region_code(text: str) -> bool:
    return bool(_REGION.match(text))


def region_within(region_code: str, area_code: str) -> bool:
    """Whether a GB/T 2260 division lies inside another: ``330106`` is inside ``330100`` (the
    city) and ``330000`` (the province). Trailing ``00`` pairs of the area mark its level."""
    prefix = area_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return region_code.startswith(prefix)


def check_region(region_code: str, issuer_region_code: str) -> None:
    if not region_within(region_code, issuer_region_code):
        raise QuanError(
            REGION_OUTSIDE_ISSUER, region_code=region_code, issuer_region_code=issuer_region_code
        )


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later, or the month's last day (29 Feb → 28 Feb next year)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def review(
    status: MerchantStatus, decision: Decision, reason: str, *, now: datetime
) -> ReviewOutcome:
    """Where a decision leads from ``status``, and when the merchant is next due for review."""
    target = TRANSITIONS[status].get(decision)
    if target is None:
        raise QuanError(
            TRANSITION_NOT_ALLOWED, merchant_status=status.value, decision=decision.value
        )
    if decision in REASON_REQUIRED_FOR and not reason.strip():
        raise QuanError(REASON_REQUIRED, decision=decision.value)
    due = add_months(now, REVIEW_INTERVAL_MONTHS) if target is MerchantStatus.APPROVED else None
    return ReviewOutcome(target, due)


def is_merchant_principal(actor: Actor) -> bool:
    return actor.role in (PartnerRole.MERCHANT, PartnerRole.TERMINAL)


def require_merchant_access(actor: Actor, merchant_id: str, issuer_id: str) -> None:
    """A merchant's own principals see only it; staff by issuer (see ``require_issuer``).

    Another merchant's records answer "not found" rather than "forbidden", so a merchant cannot
    learn which ids exist. What each role may *do* is declared on the route.
    """
    if is_merchant_principal(actor):
        if actor.merchant_id != merchant_id:
            raise QuanError(NOT_FOUND, what=f"merchant {merchant_id}")
        return
    require_issuer(actor, issuer_id)


def require_approved(status: MerchantStatus) -> None:
    if status is not MerchantStatus.APPROVED:
        raise QuanError(MERCHANT_NOT_APPROVED, merchant_status=status.value)
