"""Domain errors with stable codes, spoken in zh-CN and en.

Every error a user can cause is a :class:`QuanError` carrying a stable ``code`` (``SOLD_OUT``,
``BELOW_MIN_SPEND`` ...) and structured ``params`` (``rule``, ``min_spend_fen`` ...). The
human messages live next to the code in one catalogue so that every edge (HTTP, CLI, console)
says the same thing. The edge decides the transport status from the error's :class:`Kind`;
the domain never speaks HTTP.

Modules that own a rule define their codes where the rule lives::

    ALREADY_CLAIMED = define(
        "ALREADY_CLAIMED", Kind.CONFLICT, zh="您已领取过该批次的券", en="Already claimed"
    )
    raise QuanError(ALREADY_CLAIMED, batch_id=batch.id)

Tree::

    QuanError
      (one class; ``kind`` tells: invalid · unauthorized · forbidden · not_found · conflict ·
       refused · gone · too_many)
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Kind(Enum):
    """What sort of failure this is; the API maps each kind to one HTTP status."""

    INVALID = "invalid"  # the input itself is wrong (422)
    BAD_REQUEST = "bad_request"  # the request cannot be read (400)
    UNAUTHORIZED = "unauthorized"  # who are you? (401)
    FORBIDDEN = "forbidden"  # you may not (403)
    NOT_FOUND = "not_found"  # no such thing (404)
    CONFLICT = "conflict"  # the current state does not allow it (409)
    REFUSED = "refused"  # a business rule says no (422 with the failing rule)
    GONE = "gone"  # it existed but is over (410)
    TOO_MANY = "too_many"  # slow down (429)
    UNAVAILABLE = "unavailable"  # a service we depend on is down: try again later (503)


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: str
    kind: Kind
    zh: str
    en: str


_CATALOGUE: dict[str, ErrorSpec] = {}


def define(code: str, kind: Kind, *, zh: str, en: str) -> ErrorSpec:
    """Register a stable error code with its messages; defining the same code twice must agree."""
    spec = ErrorSpec(code, kind, zh, en)
    existing = _CATALOGUE.get(code)
    if existing is not None and existing != spec:
        raise ValueError(f"error code {code} defined twice with different meaning")
    _CATALOGUE[code] = spec
    return spec


def spec_for(code: str) -> ErrorSpec:
    return _CATALOGUE[code]


def catalogue() -> dict[str, ErrorSpec]:
    return dict(_CATALOGUE)


class _Lenient(string.Formatter):
    """Fills ``{name}`` from params and leaves unknown names visible rather than failing."""

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "{" + key + "}")
        return super().get_value(key, args, kwargs)


_FORMATTER = _Lenient()


class QuanError(Exception):
    """A failure a user can cause, with a stable code and structured fields."""

    def __init__(self, spec: ErrorSpec, /, **params: Any) -> None:
        self.spec = spec
        self.params = params
        super().__init__(spec.code)

    def __str__(self) -> str:
        # Formatted when shown, not when raised: refusals are raised thousands of times a
        # second in a flash round and most are answered in the caller's language only.
        return f"{self.spec.code}: {self.message('en')}"

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    def message(self, lang: str = "zh") -> str:
        template = self.spec.en if lang.startswith("en") else self.spec.zh
        return _FORMATTER.format(template, **self.params)


# Codes shared by every part of the platform. Specific rules define their own codes.
VALIDATION_FAILED = define(
    "VALIDATION_FAILED", Kind.INVALID, zh="请求内容不符合要求", en="The request is not valid"
)
MALFORMED_REQUEST = define(
    "MALFORMED_REQUEST",
    Kind.BAD_REQUEST,
    zh="请求体无法解析为 JSON",
    en="The request body is not valid JSON",
)
NOT_FOUND = define("NOT_FOUND", Kind.NOT_FOUND, zh="未找到：{what}", en="Not found: {what}")
UNAUTHORIZED = define(
    "UNAUTHORIZED",
    Kind.UNAUTHORIZED,
    zh="需要登录，或登录凭证无效或已过期",
    en="Sign-in required, or the credentials are invalid or expired",
)
FORBIDDEN = define(
    "FORBIDDEN", Kind.FORBIDDEN, zh="无权执行此操作", en="You are not allowed to do this"
)
