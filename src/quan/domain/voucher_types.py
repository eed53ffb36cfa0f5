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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any, TypeGuard
from zoneinfo import ZoneInfo

from quan.domain.categories import check_categories
from quan.domain.errors import Kind, QuanError, define
from quan.domain.merchants import Scene, is_region_code
from quan.domain.money import MAX_AMOUNT_FEN, format_yuan
from quan.domain.names import check_name

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


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _amount(data: Mapping[str, Any], field: str, *, zero_ok: bool = False) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if not _int(value) or value > MAX_AMOUNT_FEN or value < (0 if zero_ok else 1):
        raise QuanError(INVALID_DISCOUNT, field=field, reason="amount_out_of_range")
    return int(value)


def _discount(data: Mapping[str, Any]) -> Discount:
    try:
        kind = DiscountKind(str(data.get("kind")))
    except ValueError:
        raise QuanError(INVALID_DISCOUNT, field="kind", reason="fixed_or_percent") from None
    face = _amount(data, "face_value_fen")
    cap = _amount(data, "cap_fen")
    min_spend = _amount(data, "min_spend_fen", zero_ok=True) or 0
    percent = data.get("percent_off")
    if kind is DiscountKind.FIXED:
        if face is None:
            raise QuanError(INVALID_DISCOUNT, field="face_value_fen", reason="required")
        for other in ("percent_off", "cap_fen"):
            if data.get(other) is not None:
                raise QuanError(INVALID_DISCOUNT, field=other, reason="not_for_fixed")
        if 0 < min_spend < face:
            raise QuanError(
                MIN_SPEND_BELOW_FACE_VALUE, min_spend_fen=min_spend, face_value_fen=face
            )
        return Discount(kind, min_spend, face_value_fen=face)
    if face is not None:
        raise QuanError(INVALID_DISCOUNT, field="face_value_fen", reason="not_for_percent")
    if not _int(percent) or not 1 <= percent <= 100:
        raise QuanError(INVALID_DISCOUNT, field="percent_off", reason="1_to_100")
    if cap is None:
        raise QuanError(INVALID_DISCOUNT, field="cap_fen", reason="required")
    return Discount(kind, min_spend, percent_off=int(percent), cap_fen=cap)


def _scenes(value: Any) -> tuple[Scene, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise QuanError(VOUCHER_SCENE_REQUIRED)
    try:
        scenes = {Scene(v) for v in value}
    except ValueError:
        raise QuanError(VOUCHER_SCENE_REQUIRED) from None
    return tuple(s for s in Scene if s in scenes)  # canonical order


def _categories(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise QuanError(VOUCHER_CATEGORY_REQUIRED)
    categories = check_categories(value)
    if not categories:
        raise QuanError(VOUCHER_CATEGORY_REQUIRED)
    return categories


def _strings(value: Any, reason: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value or len(value) > MAX_SCOPE_ITEMS:
        raise QuanError(INVALID_MERCHANT_SCOPE, reason=reason)
    if not all(isinstance(v, str) and v for v in value) or len(set(value)) != len(value):
        raise QuanError(INVALID_MERCHANT_SCOPE, reason=reason)
    return tuple(value)


def _scope(value: Any) -> MerchantScope:
    if value is None:
        return MerchantScope(ScopeKind.ALL)
    if not isinstance(value, Mapping):
        raise QuanError(INVALID_MERCHANT_SCOPE, reason="object_required")
    try:
        kind = ScopeKind(str(value.get("kind")))
    except ValueError:
        raise QuanError(INVALID_MERCHANT_SCOPE, reason="unknown_kind") from None
    allowed = {"kind"} | {
        ScopeKind.ALL: set(),
        ScopeKind.REGIONS: {"region_codes"},
        ScopeKind.MERCHANTS: {"merchant_ids"},
    }[kind]
    if not set(value) <= allowed:
        raise QuanError(INVALID_MERCHANT_SCOPE, reason="unexpected_field")
    if kind is ScopeKind.REGIONS:
        codes = _strings(value.get("region_codes"), "region_codes_required")
        if not all(is_region_code(c) for c in codes):
            raise QuanError(INVALID_MERCHANT_SCOPE, reason="region_code_format")
        return MerchantScope(kind, region_codes=codes)
    if kind is ScopeKind.MERCHANTS:
        return MerchantScope(kind, merchant_ids=_strings(value.get("merchant_ids"), "ids_required"))
    return MerchantScope(kind)


def _instant(value: Any, reason: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise QuanError(INVALID_VALIDITY, reason=reason) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise QuanError(INVALID_VALIDITY, reason=reason)
    return value.astimezone(UTC)


def _validity(data: Mapping[str, Any]) -> Validity:
    absolute = data.get("valid_from") is not None or data.get("valid_until") is not None
    days, preset = data.get("valid_days"), data.get("validity_preset")
    if sum((absolute, days is not None and preset is None, preset is not None)) != 1:
        raise QuanError(INVALID_VALIDITY, reason="exactly_one_form")
    if absolute:
        start = _instant(data.get("valid_from"), "valid_from_required")
        end = _instant(data.get("valid_until"), "valid_until_required")
        if start >= end:
            raise QuanError(INVALID_VALIDITY, reason="from_before_until")
        return Validity(valid_from=start, valid_until=end)
    if preset is not None:
        try:
            named = ValidityPreset(preset)
        except ValueError:
            raise QuanError(INVALID_VALIDITY, reason="unknown_preset") from None
        if days is not None and days != PRESET_DAYS[named]:
            raise QuanError(INVALID_VALIDITY, reason="preset_disagrees_with_days")
        return Validity(valid_days=PRESET_DAYS[named], preset=named)
    if not _int(days) or not 1 <= days <= MAX_VALID_DAYS:
        raise QuanError(INVALID_VALIDITY, reason="valid_days_range")
    return Validity(valid_days=int(days))


def _minute(text: Any, field: str) -> int:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise QuanError(INVALID_USAGE_WINDOW, field=field, reason="hh_mm")
    hh, mm = text[:2], text[3:]
    if not (hh.isascii() and hh.isdigit() and mm.isascii() and mm.isdigit()):
        raise QuanError(INVALID_USAGE_WINDOW, field=field, reason="hh_mm")
    minute = int(hh) * 60 + int(mm)
    if int(mm) >= 60 or minute > 24 * 60:
        raise QuanError(INVALID_USAGE_WINDOW, field=field, reason="hh_mm")
    return minute


def _usage(data: Mapping[str, Any]) -> UsageWindows:
    weekdays = data.get("weekdays")
    if weekdays is None:
        weekdays = [1, 2, 3, 4, 5, 6, 7]
    if (
        not isinstance(weekdays, list | tuple)
        or not weekdays
        or not all(_int(d) and 1 <= d <= 7 for d in weekdays)
        or len(set(weekdays)) != len(weekdays)
    ):
        raise QuanError(INVALID_USAGE_WINDOW, field="weekdays", reason="iso_weekdays_1_to_7")
    hours = []
    for i, window in enumerate(data.get("hours") or ()):
        field = f"hours[{i}]"
        if not isinstance(window, Mapping) or set(window) != {"start", "end"}:
            raise QuanError(INVALID_USAGE_WINDOW, field=field, reason="start_end_required")
        start, end = _minute(window["start"], field), _minute(window["end"], field)
        if start >= end:
            raise QuanError(INVALID_USAGE_WINDOW, field=field, reason="start_before_end")
        hours.append(HourWindow(start, end))
    hours.sort(key=lambda w: w.start_minute)
    for before, after in pairwise(hours):
        if after.start_minute < before.end_minute:
            raise QuanError(INVALID_USAGE_WINDOW, field="hours", reason="overlap")
    excluded = []
    raw_dates = data.get("excluded_dates") or ()
    if len(raw_dates) > MAX_EXCLUDED_DATES:
        raise QuanError(INVALID_USAGE_WINDOW, field="excluded_dates", reason="too_many")
    for i, value in enumerate(raw_dates):
        try:
            excluded.append(value if isinstance(value, date) else date.fromisoformat(value))
        except (TypeError, ValueError):
            raise QuanError(
                INVALID_USAGE_WINDOW, field=f"excluded_dates[{i}]", reason="yyyy_mm_dd"
            ) from None
    return UsageWindows(tuple(sorted(weekdays)), tuple(hours), tuple(sorted(set(excluded))))


def parse_voucher_type(data: Mapping[str, Any]) -> VoucherTypeSpec:
    """Validate a definition (API input or stored JSON) and return it; raises with a code."""
    name = check_name(
        str(data.get("name") or ""), max_length=NAME_LENGTH, error=INVALID_VOUCHER_TYPE_NAME
    )
    max_per_order = data.get("max_per_order", 1)
    if not _int(max_per_order) or not 1 <= max_per_order <= MAX_PER_ORDER:
        raise QuanError(INVALID_MAX_PER_ORDER)
    return VoucherTypeSpec(
        name=name,
        discount=_discount(data),
        categories=_categories(data.get("categories")),
        scenes=_scenes(data.get("scenes")),
        scope=_scope(data.get("merchant_scope")),
        validity=_validity(data),
        usage=_usage(data),
        max_per_order=int(max_per_order),
    )


def voucher_type_to_json(spec: VoucherTypeSpec) -> dict[str, Any]:
    """The canonical definition: stored, published, logged, and read back by redemption."""
    d, v, u, s = spec.discount, spec.validity, spec.usage, spec.scope
    scope: dict[str, Any] = {"kind": s.kind.value}
    if s.kind is ScopeKind.REGIONS:
        scope["region_codes"] = list(s.region_codes)
    if s.kind is ScopeKind.MERCHANTS:
        scope["merchant_ids"] = list(s.merchant_ids)
    return {
        "name": spec.name,
        "kind": d.kind.value,
        "face_value_fen": d.face_value_fen,
        "min_spend_fen": d.min_spend_fen,
        "percent_off": d.percent_off,
        "cap_fen": d.cap_fen,
        "categories": list(spec.categories),
        "scenes": [x.value for x in spec.scenes],
        "merchant_scope": scope,
        "valid_from": _iso(v.valid_from),
        "valid_until": _iso(v.valid_until),
        "valid_days": v.valid_days,
        "validity_preset": v.preset.value if v.preset else None,
        "weekdays": list(u.weekdays),
        "hours": [{"start": _hhmm(w.start_minute), "end": _hhmm(w.end_minute)} for w in u.hours],
        "excluded_dates": [x.isoformat() for x in u.excluded_dates],
        "max_per_order": spec.max_per_order,
    }


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
