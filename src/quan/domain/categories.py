"""The service-consumption category taxonomy shared by merchants and voucher types.

A merchant declares the categories it serves; a voucher type names the categories it may be
spent on; redemption compares the two by code. The codes are stable identifiers stored in the
database and sent over the API, so a code is never renamed or reused: a new kind of service
gets a new code, and the names may be reworded freely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from quan.domain.errors import Kind, QuanError, define

UNKNOWN_CATEGORY = define(
    "UNKNOWN_CATEGORY",
    Kind.INVALID,
    zh="未知的消费类别：{category}",
    en="Unknown category: {category}",
)


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    zh: str
    en: str


def _taxonomy(*entries: Category) -> Mapping[str, Category]:
    return MappingProxyType({c.code: c for c in entries})


CATEGORIES: Mapping[str, Category] = _taxonomy(
    Category("catering", "餐饮", "Catering"),
    Category("accommodation", "住宿", "Accommodation"),
    Category("tourism", "旅游", "Tourism"),
    Category("culture_entertainment", "文化娱乐", "Culture and entertainment"),
    Category("sports", "体育健身", "Sports and fitness"),
    Category("transport", "交通出行", "Transport"),
    Category("education", "教育培训", "Education and training"),
    Category("health", "医疗健康", "Health"),
    Category("elderly_care", "养老服务", "Elderly care"),
    Category("childcare", "托育服务", "Childcare"),
    Category("housekeeping", "家政服务", "Housekeeping"),
    Category("personal_care", "美容美发", "Beauty and hairdressing"),
    Category(
        "residential_services",
        "居民生活服务（洗染、摄影、维修等）",
        "Everyday services (laundry, photography, repairs ...)",
    ),
)


def check_categories(codes: Iterable[str]) -> tuple[str, ...]:
    """The codes, each known, without repeats, in the order given.

    Raises ``UNKNOWN_CATEGORY`` (with ``category``) at the first code not in the taxonomy. An
    empty input gives an empty tuple: whether "none" is allowed is the caller's rule.
    """
    seen: dict[str, None] = {}
    for code in codes:
        if code not in CATEGORIES:
            raise QuanError(UNKNOWN_CATEGORY, category=code)
        seen.setdefault(code, None)
    return tuple(seen)
