"""The category taxonomy: stable codes with Chinese and English names, checked by code."""

from __future__ import annotations

import re

import pytest

from quan.domain.categories import CATEGORIES, UNKNOWN_CATEGORY, check_categories
from quan.domain.errors import QuanError

SERVICE_CATEGORIES = {
    "catering",
    "tourism",
    "culture_entertainment",
    "sports",
    "transport",
    "education",
    "health",
    "elderly_care",
    "childcare",
    "housekeeping",
}


def test_the_taxonomy_covers_the_service_categories_of_the_programs() -> None:
    assert CATEGORIES.keys() >= SERVICE_CATEGORIES


def test_every_category_has_a_snake_case_code_and_both_names() -> None:
    for code, category in CATEGORIES.items():
        assert category.code == code
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code)
        assert category.zh.strip()
        assert category.en.strip()
    assert len({c.zh for c in CATEGORIES.values()}) == len(CATEGORIES)


def test_the_taxonomy_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        CATEGORIES["casino"] = CATEGORIES["catering"]  # type: ignore[index]


def test_known_codes_come_back_once_each_in_the_order_given() -> None:
    assert check_categories(["tourism", "catering", "tourism"]) == ("tourism", "catering")
    assert check_categories([]) == ()


@pytest.mark.parametrize("code", ["casino", "Catering", " catering", ""])
def test_an_unknown_code_is_refused_by_name(code: str) -> None:
    with pytest.raises(QuanError) as caught:
        check_categories(["catering", code])
    assert caught.value.spec is UNKNOWN_CATEGORY
    assert caught.value.params == {"category": code}
