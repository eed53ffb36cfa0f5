"""A voucher type's definition as data: parsed and checked field by field (each refusal with its own
code) into a :class:`~quan.domain.voucher_types.VoucherTypeSpec`, and written back as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any, TypeGuard

from quan.domain.categories import check_categories
from quan.domain.errors import QuanError
from quan.domain.merchants import Scene, is_region_code
from quan.domain.money import MAX_AMOUNT_FEN
from quan.domain.names import check_name
from quan.domain.voucher_types import (
    INVALID_DISCOUNT,
    INVALID_MAX_PER_ORDER,
    INVALID_MERCHANT_SCOPE,
    INVALID_USAGE_WINDOW,
    INVALID_VALIDITY,
    INVALID_VOUCHER_TYPE_NAME,
    MAX_EXCLUDED_DATES,
    MAX_PER_ORDER,
    MAX_SCOPE_ITEMS,
    MAX_VALID_DAYS,
    MIN_SPEND_BELOW_FACE_VALUE,
    NAME_LENGTH,
    PRESET_DAYS,
    VOUCHER_CATEGORY_REQUIRED,
    VOUCHER_SCENE_REQUIRED,
    Discount,
    DiscountKind,
    HourWindow,
    MerchantScope,
    ScopeKind,
    UsageWindows,
    Validity,
    ValidityPreset,
    VoucherTypeSpec,
    _hhmm,
    _iso,
)


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
