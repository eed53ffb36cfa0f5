"""Voucher type definitions: each rule refused with its own code, validity read as people do."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.errors import QuanError
from quan.domain.merchants import Scene
from quan.domain.voucher_type_json import parse_voucher_type, voucher_type_to_json
from quan.domain.voucher_types import DiscountKind, ScopeKind, Validity

FIXED: dict[str, Any] = {
    "name": "餐饮满100减30",
    "kind": "fixed",
    "face_value_fen": 3000,
    "min_spend_fen": 10000,
    "categories": ["catering", "tourism"],
    "scenes": ["online", "offline"],
    "validity_preset": "short",
}
PERCENT: dict[str, Any] = {
    "name": "体育健身8折",
    "kind": "percent",
    "percent_off": 20,
    "cap_fen": 5000,
    "categories": ["sports"],
    "scenes": ["offline"],
    "valid_from": "2026-12-01T00:00:00+08:00",
    "valid_until": "2027-01-01T00:00:00+08:00",
}


def test_a_fixed_voucher_reserves_its_face_value_and_a_percent_voucher_its_cap() -> None:
    fixed = parse_voucher_type(FIXED)
    assert fixed.discount.kind is DiscountKind.FIXED
    assert fixed.unit_fen == 3000
    assert parse_voucher_type(PERCENT).unit_fen == 5000


def test_defaults_are_every_approved_merchant_every_day_one_per_order() -> None:
    spec = parse_voucher_type(FIXED)
    assert spec.scope.kind is ScopeKind.ALL
    assert spec.usage.weekdays == (1, 2, 3, 4, 5, 6, 7)
    assert spec.usage.hours == ()
    assert spec.max_per_order == 1
    assert spec.scenes == (Scene.OFFLINE, Scene.ONLINE)  # canonical order


def test_presets_are_three_six_and_twelve_months_of_days() -> None:
    for preset, days in (("short", 90), ("medium", 180), ("long", 365)):
        assert parse_voucher_type({**FIXED, "validity_preset": preset}).validity.valid_days == days


def test_the_definition_round_trips_through_its_canonical_json() -> None:
    full = {
        **PERCENT,
        "min_spend_fen": 2000,
        "merchant_scope": {"kind": "regions", "region_codes": ["330106"]},
        "weekdays": [6, 7],
        "hours": [{"start": "18:00", "end": "24:00"}, {"start": "09:00", "end": "12:00"}],
        "excluded_dates": ["2027-01-01", "2026-12-25"],
        "max_per_order": 2,
    }
    spec = parse_voucher_type(full)
    canonical = voucher_type_to_json(spec)
    assert parse_voucher_type(canonical) == spec
    assert [w["start"] for w in canonical["hours"]] == ["09:00", "18:00"]
    assert canonical["excluded_dates"] == ["2026-12-25", "2027-01-01"]
    assert canonical["valid_from"] == "2026-11-30T16:00:00+00:00"


BAD: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("no name", {"name": "  "}, "INVALID_VOUCHER_TYPE_NAME", {}),
    ("unknown kind", {"kind": "bogo"}, "INVALID_DISCOUNT", {"field": "kind"}),
    ("fixed without face value", {"face_value_fen": None}, "INVALID_DISCOUNT",
     {"field": "face_value_fen", "reason": "required"}),
    ("fixed with a cap", {"cap_fen": 100}, "INVALID_DISCOUNT", {"field": "cap_fen"}),
    ("face value zero", {"face_value_fen": 0}, "INVALID_DISCOUNT",
     {"reason": "amount_out_of_range"}),
    ("face value float", {"face_value_fen": 30.5}, "INVALID_DISCOUNT",
     {"reason": "amount_out_of_range"}),
    ("minimum below face value", {"min_spend_fen": 2000}, "MIN_SPEND_BELOW_FACE_VALUE",
     {"min_spend_fen": 2000, "face_value_fen": 3000}),
    ("negative minimum", {"min_spend_fen": -1}, "INVALID_DISCOUNT", {"field": "min_spend_fen"}),
    ("no categories", {"categories": []}, "VOUCHER_CATEGORY_REQUIRED", {}),
    ("unknown category", {"categories": ["casino"]}, "UNKNOWN_CATEGORY", {"category": "casino"}),
    ("no scenes", {"scenes": []}, "VOUCHER_SCENE_REQUIRED", {}),
    ("unknown scene", {"scenes": ["moon"]}, "VOUCHER_SCENE_REQUIRED", {}),
    ("regions scope without regions", {"merchant_scope": {"kind": "regions"}},
     "INVALID_MERCHANT_SCOPE", {"reason": "region_codes_required"}),
    ("region code not six digits", {"merchant_scope": {"kind": "regions", "region_codes": ["33"]}},
     "INVALID_MERCHANT_SCOPE", {"reason": "region_code_format"}),
    ("merchant list empty", {"merchant_scope": {"kind": "merchants", "merchant_ids": []}},
     "INVALID_MERCHANT_SCOPE", {"reason": "ids_required"}),
    ("scope field of another kind", {"merchant_scope": {"kind": "all", "merchant_ids": ["m"]}},
     "INVALID_MERCHANT_SCOPE", {"reason": "unexpected_field"}),
    ("two validity forms", {"valid_until": "2027-01-01T00:00:00Z"}, "INVALID_VALIDITY",
     {"reason": "exactly_one_form"}),
    ("preset against days", {"valid_days": 30}, "INVALID_VALIDITY",
     {"reason": "preset_disagrees_with_days"}),
    ("no validity", {"validity_preset": None}, "INVALID_VALIDITY",
     {"reason": "exactly_one_form"}),
    ("unknown preset", {"validity_preset": "forever"}, "INVALID_VALIDITY",
     {"reason": "unknown_preset"}),
    ("zero days", {"validity_preset": None, "valid_days": 0}, "INVALID_VALIDITY",
     {"reason": "valid_days_range"}),
    ("half an absolute window", {"validity_preset": None, "valid_from": "2026-12-01T00:00:00Z"},
     "INVALID_VALIDITY", {"reason": "valid_until_required"}),
    ("window backwards", {"validity_preset": None, "valid_from": "2027-01-01T00:00:00Z",
                          "valid_until": "2026-01-01T00:00:00Z"},
     "INVALID_VALIDITY", {"reason": "from_before_until"}),
    ("naive time", {"validity_preset": None, "valid_from": "2026-12-01T00:00:00",
                    "valid_until": "2027-01-01T00:00:00Z"},
     "INVALID_VALIDITY", {"reason": "valid_from_required"}),
    ("weekday eight", {"weekdays": [1, 8]}, "INVALID_USAGE_WINDOW", {"field": "weekdays"}),
    ("no weekday", {"weekdays": []}, "INVALID_USAGE_WINDOW", {"field": "weekdays"}),
    ("hour 25", {"hours": [{"start": "09:00", "end": "25:00"}]}, "INVALID_USAGE_WINDOW",
     {"field": "hours[0]", "reason": "hh_mm"}),
    ("hours backwards", {"hours": [{"start": "21:00", "end": "09:00"}]}, "INVALID_USAGE_WINDOW",
     {"reason": "start_before_end"}),
    ("hours overlap", {"hours": [{"start": "09:00", "end": "12:00"},
                                 {"start": "11:00", "end": "13:00"}]},
     "INVALID_USAGE_WINDOW", {"field": "hours", "reason": "overlap"}),
    ("bad excluded date", {"excluded_dates": ["2026-13-01"]}, "INVALID_USAGE_WINDOW",
     {"field": "excluded_dates[0]"}),
    ("twenty-one per order", {"max_per_order": 21}, "INVALID_MAX_PER_ORDER", {}),
]


@pytest.mark.parametrize(("case", "change", "code", "params"), BAD, ids=[b[0] for b in BAD])
def test_each_invalid_definition_is_refused_with_its_code(
    case: str, change: dict[str, Any], code: str, params: dict[str, Any]
) -> None:
    with pytest.raises(QuanError) as caught:
        parse_voucher_type({**FIXED, **change})
    assert caught.value.code == code
    assert params.items() <= caught.value.params.items()


def test_a_percent_voucher_needs_a_percentage_and_a_cap_and_no_face_value() -> None:
    for change, field in (
        ({"percent_off": 0}, "percent_off"),
        ({"percent_off": 101}, "percent_off"),
        ({"cap_fen": None}, "cap_fen"),
        ({"face_value_fen": 100}, "face_value_fen"),
    ):
        with pytest.raises(QuanError) as caught:
            parse_voucher_type({**PERCENT, **change})
        assert caught.value.code == "INVALID_DISCOUNT"
        assert caught.value.params["field"] == field


def test_no_threshold_is_a_minimum_spend_of_zero() -> None:
    spec = parse_voucher_type({**FIXED, "min_spend_fen": 0})
    assert spec.discount.min_spend_fen == 0
    assert spec.discount.summary("zh") == "无门槛立减 ¥30.00"


def test_summaries_say_the_discount_in_both_languages() -> None:
    fixed, percent = parse_voucher_type(FIXED), parse_voucher_type(PERCENT)
    assert fixed.discount.summary("zh") == "满 ¥100.00 减 ¥30.00"
    assert fixed.discount.summary("en") == "¥30.00 off a spend of ¥100.00"
    assert percent.discount.summary("zh") == "立减 20%，最多减 ¥50.00"
    assert percent.discount.summary("en") == "20% off, at most ¥50.00"


# --- validity --------------------------------------------------------------------------------


def test_relative_validity_counts_the_claim_day_and_ends_at_local_midnight() -> None:
    validity = Validity(valid_days=1)
    # 23:30 on 25 Nov in Shanghai is still the claim day: valid until local midnight.
    claimed = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    start, end = validity.window_for(claimed, "Asia/Shanghai")
    assert start == claimed
    assert end == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


def test_relative_validity_follows_the_program_time_zone_not_utc() -> None:
    claimed = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # already 26 Nov in Shanghai
    _, in_shanghai = Validity(valid_days=90).window_for(claimed, "Asia/Shanghai")
    _, in_london = Validity(valid_days=90).window_for(claimed, "Europe/London")
    assert in_shanghai == datetime(2027, 2, 23, 16, 0, tzinfo=UTC)  # 24 Feb 00:00 +08:00
    assert in_london == datetime(2027, 2, 23, 0, 0, tzinfo=UTC)  # 23 Feb 00:00 +00:00


def test_absolute_validity_is_the_same_for_every_claim() -> None:
    spec = parse_voucher_type(PERCENT)
    early = spec.validity.window_for(datetime(2026, 11, 1, tzinfo=UTC), "Asia/Shanghai")
    late = spec.validity.window_for(datetime(2026, 12, 20, tzinfo=UTC), "Asia/Shanghai")
    assert early == late == (
        datetime(2026, 11, 30, 16, tzinfo=UTC),
        datetime(2026, 12, 31, 16, tzinfo=UTC),
    )


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    st.integers(1, 1095),
)
def test_a_relative_voucher_is_valid_for_exactly_its_days_in_local_dates(
    claimed: datetime, days: int
) -> None:
    from zoneinfo import ZoneInfo

    start, end = Validity(valid_days=days).window_for(claimed, "Asia/Shanghai")
    zone = ZoneInfo("Asia/Shanghai")
    assert start == claimed < end
    first, after_last = claimed.astimezone(zone).date(), end.astimezone(zone).date()
    assert (after_last - first).days == days
    assert end.astimezone(zone).time().hour == 0


def test_excluded_dates_accept_date_objects_too() -> None:
    spec = parse_voucher_type({**FIXED, "excluded_dates": [date(2027, 2, 17)]})
    assert spec.usage.excluded_dates == (date(2027, 2, 17),)
