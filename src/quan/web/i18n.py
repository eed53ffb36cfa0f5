"""Which language a page speaks, and the translator templates call as ``t("key")``.

zh-CN is the default. English is chosen explicitly — by the ``lang`` cookie that the language
switch sets, or by ``?lang=en`` on a link — never guessed from ``Accept-Language``, so that a
page looks the same for everyone who did not ask otherwise (browsers abroad included).
"""

from __future__ import annotations

import string
from typing import Any, Final, Literal

from fastapi import Request

from quan.domain.categories import CATEGORIES
from quan.web.messages import MESSAGES

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
DEFAULT_LANG: Final[Lang] = "zh"
LANG_COOKIE: Final = "quan_lang"


def parse_lang(value: str | None) -> Lang | None:
    """``"en"`` → ``"en"``; ``"zh"``/``"zh-CN"`` → ``"zh"``; anything else → ``None``."""
    if not value:
        return None
    value = value.strip().lower()
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return "zh"
    return None


def request_lang(request: Request) -> Lang:
    """The page language: ``?lang=`` first, then the cookie, then zh-CN."""
    return (
        parse_lang(request.query_params.get("lang"))
        or parse_lang(request.cookies.get(LANG_COOKIE))
        or DEFAULT_LANG
    )


def html_lang(lang: Lang) -> str:
    """The value of ``<html lang>``: screen readers pick their voice from it."""
    return "zh-CN" if lang == "zh" else "en"


class _Lenient(string.Formatter):
    """Fills ``{name}`` from params and leaves unknown names visible instead of failing a page."""

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "{" + key + "}")
        return super().get_value(key, args, kwargs)


_FORMATTER = _Lenient()


class Translator:
    """``t("nav.programs")`` → the message in the page's language (the key itself if unknown,
    which a unit test forbids for every key the templates use)."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._index = 0 if lang == "zh" else 1

    def __call__(self, key: str, **params: Any) -> str:
        pair = MESSAGES.get(key)
        if pair is None:
            return key
        text = pair[self._index]
        return _FORMATTER.format(text, **params) if params else text

    def pick(self, zh: str, en: str) -> str:
        """Choose between two texts the domain already gives in both languages."""
        return zh if self.lang == "zh" else en


def category_name(code: str, lang: str) -> str:
    """A category's name in the page's language (the taxonomy names both)."""
    category = CATEGORIES.get(code)
    if category is None:
        return code
    return category.zh if lang == "zh" else category.en
