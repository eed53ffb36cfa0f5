"""Refusals a person understands: one sentence per problem, in the page's language, next to the
field it concerns.

Every console form goes through this module when the input is refused:

- :func:`from_validation` turns a pydantic :class:`ValidationError` (the API's request model
  refused the form) into sentences per field label — never pydantic's English, never a field's
  code name;
- :func:`from_refusal` turns a :class:`QuanError` into a sentence with amounts in yuan and times
  in the program's time zone, attached to the form field its ``field`` parameter names;
- :func:`sentence` says any :class:`QuanError` that way (the error page uses it too).

The result is a :class:`FormErrors`: ``{form field: sentence}`` plus sentences about the form as
a whole. Templates show them with the ``field_error`` / ``invalid_attrs`` macros of
``_macros.html`` (``aria-invalid``, ``aria-describedby``) and ``_form_errors.html`` (the summary,
which moves focus to the first invalid field via ``static/forms.js``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from pydantic import ValidationError

from quan.domain.errors import QuanError
from quan.web.i18n import Translator
from quan.web.templating import DEFAULT_ZONE, localtime, yuan


@dataclass(frozen=True, slots=True)
class Field:
    """How the form shows one model field: the form control's name, its label (a catalogue key)
    and whether it holds money (typed in yuan, sent as fen)."""

    name: str
    label: str
    money: bool = False
    prefix: str = ""  # a catalogue key said before the label ("老年人 · 名额")

    def said(self, t: Translator) -> str:
        return f"{t(self.prefix)} · {t(self.label)}" if self.prefix else t(self.label)


@dataclass(slots=True)
class FormErrors:
    """What is wrong with a form: a sentence per form control, and sentences about the whole."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str | None, text: str) -> None:
        if name is None:
            self.general.append(text)
        else:
            self.fields.setdefault(name, text)

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def all(self) -> list[tuple[str | None, str]]:
        """Every sentence, field sentences first (in the order they were found)."""
        return [(k, v) for k, v in self.fields.items()] + [(None, g) for g in self.general]


NO_ERRORS: Final = FormErrors()

# pydantic's error type → the catalogue key of the sentence (``refuse.*`` in messages_supplyui).
_PYDANTIC: Final = {
    "missing": "refuse.missing",
    "int_type": "refuse.whole_number",
    "int_parsing": "refuse.whole_number",
    "int_from_float": "refuse.whole_number",
    "greater_than_equal": "refuse.at_least",
    "greater_than": "refuse.more_than",
    "less_than_equal": "refuse.at_most",
    "less_than": "refuse.less_than",
    "string_too_long": "refuse.too_long",
    "string_too_short": "refuse.missing",
    "too_long": "refuse.too_many",
    "too_short": "refuse.choose_one",
    "enum": "refuse.choose",
    "literal_error": "refuse.choose",
    "datetime_type": "refuse.datetime",
    "datetime_parsing": "refuse.datetime",
    "datetime_from_date_parsing": "refuse.datetime",
    "timezone_aware": "refuse.datetime",
    "date_type": "refuse.date",
    "date_parsing": "refuse.date",
    "date_from_datetime_parsing": "refuse.date",
}

Locator = Mapping[str, Field] | Callable[[str], Field | None]


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _find(fields: Locator, path: str) -> Field | None:
    if callable(fields):
        return fields(path)
    found = fields.get(path)
    while found is None and "." in path:  # "reserved.0.quantity" → "reserved.0" → "reserved"
        path = path.rsplit(".", 1)[0]
        found = fields.get(path)
    return found


def _limit(value: Any, money: bool) -> str:
    return yuan(int(value)) if money and isinstance(value, int) else str(value)


def from_validation(exc: ValidationError, t: Translator, fields: Locator) -> FormErrors:
    """One sentence per refused field, from the type of pydantic's error and the field's label
    (money limits in yuan); a value that is not money at all in a money field says so."""
    errors = FormErrors()
    for e in exc.errors():
        where = _find(fields, _dotted(e["loc"]))
        label = where.said(t) if where else t("refuse.this_form")
        money = bool(where and where.money)
        kind = str(e["type"])
        ctx = e.get("ctx") or {}
        if money and kind in ("int_type", "int_parsing", "int_from_float"):
            key = "refuse.amount"
        else:
            key = _PYDANTIC.get(kind, "refuse.invalid")
        limit = next(
            (ctx[k] for k in ("ge", "gt", "le", "lt", "max_length", "min_length") if k in ctx), ""
        )
        text = t(key, label=label, limit=_limit(limit, money))
        errors.add(where.name if where else None, text)
    return errors


_INDEXED: Final = re.compile(r"\[(\d+)\]")


def _param_text(name: str, value: Any, zone: str) -> Any:
    if name.endswith("_fen") and isinstance(value, int):
        return yuan(value)
    if isinstance(value, datetime):
        return localtime(value, zone)
    if isinstance(value, str) and "T" in value and len(value) >= 19:
        try:
            return localtime(datetime.fromisoformat(value), zone)
        except ValueError:
            return value
    if isinstance(value, date):
        return value.isoformat()
    return value


def sentence(
    exc: QuanError, t: Translator, zone: str = DEFAULT_ZONE, fields: Locator | None = None
) -> str:
    """The refusal as a sentence in the page's language: the console's own wording when the
    catalogue has one for the code (and its ``reason``), else the code's message — always with
    amounts in yuan, times in ``zone``, and a field's label instead of its code name."""
    params = {k: _param_text(k, v, zone) for k, v in exc.params.items()}
    where = _where(exc, fields)
    if where is not None:
        params["label"] = where.said(t)
    elif "field" in exc.params:
        params["label"] = t("refuse.this_form")
    reason = str(exc.params.get("reason", ""))
    bounds = re.fullmatch(r"(?:[a-z]+_)?(\d+)_to_(\d+)", reason)
    if bounds:
        params["lo"], params["hi"] = (f"{int(b):,}" for b in bounds.groups())
    keys = (
        [f"refuse.{exc.code}.{reason}", f"refuse.{exc.code}.{_generic(reason)}"] if reason else []
    )
    for key in [*keys, f"refuse.{exc.code}"]:
        text = t(key, **params)
        if text != key:
            return text
    return _message(exc, t, params)


def _generic(reason: str) -> str:
    """``1_to_2000000`` → ``range``: ranges share one sentence (the numbers are in the text)."""
    return "range" if re.fullmatch(r"(tickets_)?\d+_to_\d+", reason) else reason


def _message(exc: QuanError, t: Translator, params: dict[str, Any]) -> str:
    template = exc.spec.en if t.lang == "en" else exc.spec.zh
    shown = {k: v for k, v in params.items() if k not in ("field", "reason")}
    if "field" in params:
        shown["field"] = params.get("label", "")
    if "reason" in params:
        key = f"reason.{params['reason']}"
        shown["reason"] = t(key) if t(key) != key else t("refuse.see_form")
    try:
        return template.format(**shown)
    except (KeyError, IndexError, ValueError):
        return exc.message(t.lang)


def _where(exc: QuanError, fields: Locator | None) -> Field | None:
    name = exc.params.get("field")
    if fields is None or not isinstance(name, str):
        return None
    return _find(fields, _INDEXED.sub(r".\1", name))


def from_refusal(
    exc: QuanError,
    t: Translator,
    zone: str = DEFAULT_ZONE,
    fields: Locator | None = None,
    *,
    attach: str | None = None,
) -> FormErrors:
    """A refusal as form errors: attached to the field its ``field`` parameter names (or to
    ``attach`` when the caller knows which control a code concerns), else to the whole form."""
    errors = FormErrors()
    where = _where(exc, fields)
    errors.add(where.name if where else attach, sentence(exc, t, zone, fields))
    return errors
