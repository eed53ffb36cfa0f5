"""Voucher types (券种): what one voucher is worth, where and when it may be spent.

A voucher type is a definition, validated here once and then stored as canonical JSON (the
versioned record the transparency log carries), from which :func:`parse_voucher_type` rebuilds it
exactly. Redemption reads the same definition to enforce it; this module only defines and checks.

- Discount: ``fixed`` — ``face_value_fen`` off an order of at least ``min_spend_fen`` (满减; a
  minimum of 0 means no threshold), or ``percent`` — ``percent_off`` % off, at most ``cap_fen``,
  optionally above ``min_spend_fen``. :attr:`Discount.unit_fen` is the most one voucher can cost,
  which is what a batch reserves per voucher (the face value, or the cap).
- Scope: ``categories`` (codes of :mod:`quan.domain.categories`), ``scenes`` (offline, online) and
  the merchant scope: every approved merchant in the categories, those in some regions, or an
  explicit list of merchants.
- Validity: absolute (``valid_from``/``valid_until``) or relative to the claim (``valid_days``,
  or ``validity_preset`` short/medium/long = 90/180/365 days). A relative voucher is valid from
  its claim until local midnight after its last day, in the program's time zone.
- Use windows: ISO weekdays (1 = Monday), hour ranges ``HH:MM``–``HH:MM`` and excluded dates
  (holidays), all read in the program's time zone; ``max_per_order`` vouchers per order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from quan.domain.errors import Kind, define
from quan.domain.merchants import Scene
from quan.domain.money import format_yuan

MAX_VALID_DAYS = 1095
MAX_PER_ORDER = 20
MAX_SCOPE_ITEMS = 2000
MAX_EXCLUDED_DATES = 366
NAME_LENGTH = 100

INVALID_VOUCHER_TYPE_NAME = define(
    "INVALID_VOUCHER_TYPE_NAME",
    Kind.INVALID,
    zh="券种名称须为 1–100 个字符",
    en="The voucher type's name must be 1 to 100 characters",
)
INVALID_DISCOUNT = define(
    "INVALID_DISCOUNT",
    Kind.INVALID,
    zh="优惠设置无效（{field}：{reason}）。满减券填写面额 face_value_fen；折扣券填写 "
    "percent_off（1–100）与封顶金额 cap_fen",
    en="The discount is not valid ({field}: {reason}). A fixed voucher has face_value_fen; a "
    "percent voucher has percent_off (1-100) and cap_fen",
)
MIN_SPEND_BELOW_FACE_VALUE = define(
    "MIN_SPEND_BELOW_FACE_VALUE",
    Kind.INVALID,
    zh="使用门槛 {min_spend_fen} 分低于面额 {face_value_fen} 分（无门槛请填 0）",
    en="The minimum spend {min_spend_fen} fen is below the face value {face_value_fen} fen "
    "(use 0 for no threshold)",
)
VOUCHER_CATEGORY_REQUIRED = define(
    "VOUCHER_CATEGORY_REQUIRED",
    Kind.INVALID,
    zh="请至少选择一个可用消费类别",
    en="Choose at least one category the voucher may be spent on",
)
VOUCHER_SCENE_REQUIRED = define(
    "VOUCHER_SCENE_REQUIRED",
    Kind.INVALID,
    zh="请选择使用场景：线下（offline）和/或线上（online）",
    en="Choose the scenes: offline and/or online",
)
INVALID_MERCHANT_SCOPE = define(
    "INVALID_MERCHANT_SCOPE",
    Kind.INVALID,
    zh="适用商户范围无效（{reason}）：可选全部（all）、按地区（regions）或指定商户（merchants）",
    en="The merchant scope is not valid ({reason}): all, regions or merchants",
)
INVALID_VALIDITY = define(
    "INVALID_VALIDITY",
    Kind.INVALID,
    zh="有效期设置无效（{reason}）：填写 valid_from 与 valid_until，或 valid_days（1–1095），"
    "或 validity_preset（short/medium/long），三者选一",
    en="The validity is not valid ({reason}): give valid_from and valid_until, or valid_days "
    "(1-1095), or validity_preset (short/medium/long), exactly one of them",
)
INVALID_USAGE_WINDOW = define(
    "INVALID_USAGE_WINDOW",
    Kind.INVALID,
    zh="使用时段无效（{field}：{reason}）",
    en="The usage window is not valid ({field}: {reason})",
)
INVALID_MAX_PER_ORDER = define(
    "INVALID_MAX_PER_ORDER",
    Kind.INVALID,
    zh="每单可用张数须为 1–20",
    en="max_per_order must be 1 to 20",
)


class DiscountKind(StrEnum):
    FIXED = "fixed"  # 满减: face value off a minimum spend
    PERCENT = "percent"  # 折扣: percent off, capped


class ScopeKind(StrEnum):
    ALL = "all"  # every approved merchant in the categories
    REGIONS = "regions"  # ... located in one of these divisions
    MERCHANTS = "merchants"  # ... on this explicit list


class ValidityPreset(StrEnum):
    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"


PRESET_DAYS = {ValidityPreset.SHORT: 90, ValidityPreset.MEDIUM: 180, ValidityPreset.LONG: 365}


@dataclass(frozen=True, slots=True)
class Discount:
    kind: DiscountKind
    min_spend_fen: int
    face_value_fen: int | None = None
    percent_off: int | None = None
    cap_fen: int | None = None

    @property
    def unit_fen(self) -> int:
        """The most one voucher can cost the program: what a batch reserves per voucher."""
        value = self.face_value_fen if self.kind is DiscountKind.FIXED else self.cap_fen
        assert value is not None  # guaranteed by _discount
        return value

    def summary(self, lang: str = "zh") -> str:
        """``满 ¥100.00 减 ¥30.00`` / ``¥30.00 off a spend of ¥100.00`` and the like."""
        zh = not lang.startswith("en")
        if self.kind is DiscountKind.FIXED:
            off = format_yuan(self.unit_fen)
            if self.min_spend_fen == 0:
                return f"无门槛立减 {off}" if zh else f"{off} off, no minimum spend"
            spend = format_yuan(self.min_spend_fen)
            return f"满 {spend} 减 {off}" if zh else f"{off} off a spend of {spend}"
        cap = format_yuan(self.unit_fen)
        floor = (
            ""
            if self.min_spend_fen == 0
            else (f"满 {format_yuan(self.min_spend_fen)} 可用，" if zh else "")
        )
        if zh:
            return f"{floor}立减 {self.percent_off}%，最多减 {cap}"
        above = f" on a spend of {format_yuan(self.min_spend_fen)} or more" * (
            self.min_spend_fen > 0
        )
        return f"{self.percent_off}% off{above}, at most {cap}"


@dataclass(frozen=True, slots=True)
class MerchantScope:
    kind: ScopeKind
    region_codes: tuple[str, ...] = ()
    merchant_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Validity:
    """Absolute (``valid_from``/``valid_until``) or relative (``valid_days``) validity."""

    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    preset: ValidityPreset | None = None

    @property
    def relative(self) -> bool:
        return self.valid_days is not None

    def window_for(self, claimed_at: datetime, timezone: str) -> tuple[datetime, datetime]:
        """When a voucher claimed at ``claimed_at`` may be used: ``[from, until)`` in UTC.

        Relative validity counts the claim day as day one and ends at local midnight after the
        last day, so "90 days" means 90 calendar days a citizen can read off a calendar.
        """
        if self.valid_days is None:
            assert self.valid_from is not None
            assert self.valid_until is not None
            return self.valid_from, self.valid_until
        zone = ZoneInfo(timezone)
        last_day = claimed_at.astimezone(zone).date() + timedelta(days=self.valid_days)
        until = datetime.combine(last_day, time(0), tzinfo=zone).astimezone(UTC)
        return claimed_at, until


@dataclass(frozen=True, slots=True)
class HourWindow:
    """``[start, end)`` minutes after local midnight; ``end`` may be 1440 (24:00)."""

    start_minute: int
    end_minute: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


@dataclass(frozen=True, slots=True)
class UsageWindows:
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    hours: tuple[HourWindow, ...] = ()  # empty: any time of day
    excluded_dates: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class VoucherTypeSpec:
    name: str
    discount: Discount
    categories: tuple[str, ...]
    scenes: tuple[Scene, ...]
    scope: MerchantScope
    validity: Validity
    usage: UsageWindows
    max_per_order: int

    @property
    def unit_fen(self) -> int:
        return self.discount.unit_fen


# --- parsing ----------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at else None


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def describe_validity(validity: Validity, lang: str = "zh") -> str:
    zh = not lang.startswith("en")
    if validity.valid_days is not None:
        days = validity.valid_days
        return f"领取后 {days} 天内有效（含领取当天）" if zh else f"{days} days from the claim"
    assert validity.valid_from is not None
    assert validity.valid_until is not None
    span = f"{_iso(validity.valid_from)} – {_iso(validity.valid_until)}"
    return f"有效期 {span}" if zh else f"valid {span}"
