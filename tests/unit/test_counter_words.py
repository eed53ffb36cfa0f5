"""The counter says a refused redemption as a sentence (issue 16, point 11): categories, ways of
use, places, weekdays, hours and the last day in words; money in yuan, never fen."""

from __future__ import annotations

from datetime import UTC, datetime

from quan.domain.errors import QuanError
from quan.domain.redemption_situation import (
    BELOW_MIN_SPEND,
    OUT_OF_SCOPE,
    OUTSIDE_USAGE_WINDOW,
    VOUCHER_EXPIRED,
)
from quan.web.counter_words import counter_sentence, last_day
from quan.web.i18n import Translator
from quan.web.region_labels import region_label

ZH, EN = Translator("zh"), Translator("en")


def test_a_category_refusal_names_the_categories_in_words() -> None:
    exc = QuanError(OUT_OF_SCOPE, rule="category", category="tourism", allowed=["catering"])
    assert counter_sentence(exc, ZH) == "该券只能用于餐饮，不能用于“旅游”。"
    assert (
        counter_sentence(exc, EN) == "This voucher can only be used for Catering, not for Tourism."
    )


def test_a_region_refusal_names_the_places_in_both_languages() -> None:
    exc = QuanError(OUT_OF_SCOPE, rule="region", region_code="330102", allowed=["330106"])
    assert "330106 Xihu District" in counter_sentence(exc, EN)
    assert "330102 Shangcheng District" in counter_sentence(exc, EN)
    assert "330106 西湖区" in counter_sentence(exc, ZH)


def test_a_time_refusal_names_the_weekdays_and_hours() -> None:
    weekday = QuanError(OUTSIDE_USAGE_WINDOW, rule="weekday", weekday=7, weekdays=[1, 2, 3])
    assert counter_sentence(weekday, ZH) == "该券只能在周一、周二、周三使用，今天是周日。"
    hours = QuanError(OUTSIDE_USAGE_WINDOW, rule="hours", local_time="22:10", hours=["10:00-14:00"])
    assert counter_sentence(hours, EN) == (
        "This voucher can only be used 10:00-14:00; it is 22:10 now."
    )


def test_the_minimum_spend_is_said_in_yuan() -> None:
    exc = QuanError(BELOW_MIN_SPEND, rule="min_spend", min_spend_fen=10_000, order_amount_fen=5_000)
    said = counter_sentence(exc, ZH)
    assert "需满 ¥100.00" in said
    assert "分" not in said


def test_an_expired_voucher_says_its_last_day_not_an_exclusive_end() -> None:
    until = datetime(2027, 3, 6, 16, 0, tzinfo=UTC)  # 2027-03-07 00:00 in Shanghai
    assert last_day(until, "Asia/Shanghai") == "2027-03-06"
    exc = QuanError(VOUCHER_EXPIRED, rule="validity", valid_until=until.isoformat())
    assert counter_sentence(exc, ZH) == "该券已过期：最后可用日是 2027-03-06。"


def test_an_unknown_place_keeps_its_chinese_name_on_english_pages() -> None:
    assert region_label("110101", "en") == "110101 东城区"
    assert region_label("330106", "en") == "330106 Xihu District"
    assert region_label("999999", "en") == "999999"
