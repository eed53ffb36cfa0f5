"""What a terminal may attach to a redemption: its order number and a few bounded details.

``order_ref`` is the merchant's order or receipt number; vouchers redeemed with the same one at the
same merchant are one order (stacking rules apply across them). ``details`` are short text fields
(branch, cashier, receipt number...) shown on the merchant's statement. Both are bounded so a
terminal cannot grow the database or the statements without limit, and neither enters events:
a cashier's name is personal data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from quan.domain.errors import Kind, QuanError, define

MAX_KEYS = 8
MAX_KEY_CHARS = 32
MAX_VALUE_CHARS = 120
MAX_ORDER_REF_CHARS = 64
KNOWN_KEYS = ("branch", "cashier", "receipt_no")

INVALID_ORDER_DETAILS = define(
    "INVALID_ORDER_DETAILS",
    Kind.INVALID,
    zh="订单附加信息无效（{reason}）：至多 8 项，键为小写字母、数字或下划线，值不超过 120 字",
    en="The order details are not valid ({reason}): at most 8 entries, keys of lower-case "
    "letters, digits and underscores, values of at most 120 characters",
)
INVALID_ORDER_REF = define(
    "INVALID_ORDER_REF",
    Kind.INVALID,
    zh="订单号须为 1–64 个可见字符",
    en="The order reference must be 1 to 64 visible characters",
)

_KEY = re.compile(rf"^[a-z][a-z0-9_]{{0,{MAX_KEY_CHARS - 1}}}$")


def check_details(details: Mapping[str, object] | None) -> dict[str, str]:
    """The details, trimmed; raises ``INVALID_ORDER_DETAILS`` with a ``reason``."""
    if not details:
        return {}
    if len(details) > MAX_KEYS:
        raise QuanError(INVALID_ORDER_DETAILS, reason="too_many")
    clean: dict[str, str] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise QuanError(INVALID_ORDER_DETAILS, reason="key")
        if not isinstance(value, str):
            raise QuanError(INVALID_ORDER_DETAILS, reason="value_not_text")
        text = " ".join(value.split())
        if len(text) > MAX_VALUE_CHARS or not text.isprintable():
            raise QuanError(INVALID_ORDER_DETAILS, reason="value")
        clean[key] = text
    return clean


def check_order_ref(order_ref: str | None) -> str | None:
    if order_ref is None:
        return None
    ref = order_ref.strip()
    if not ref or len(ref) > MAX_ORDER_REF_CHARS or not ref.isprintable():
        raise QuanError(INVALID_ORDER_REF)
    return ref
