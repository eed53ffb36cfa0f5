"""The counter's refusals in words (issue 16, point 11): a redemption rule that refused an order
is said as a sentence — categories, ways of use, places, weekdays and hours named in words, money
in yuan, the last usable day rather than an exclusive end — and an amount that is not money names
the field. Anything else is said by :func:`quan.web.refusals.sentence`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request

from quan.domain.errors import VALIDATION_FAILED, QuanError
from quan.web.i18n import Translator, category_name, request_lang
from quan.web.refusals import sentence
from quan.web.region_labels import region_label
from quan.web.routes.common import parse_yuan
from quan.web.templating import DEFAULT_ZONE

WEEKDAYS = {
    "zh": ("", "周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def last_day(valid_until: datetime | None, zone: str) -> str | None:
    """The last local day a voucher can be used: ``valid_until`` is exclusive."""
    if valid_until is None:
        return None
    return (valid_until - timedelta(microseconds=1)).astimezone(ZoneInfo(zone)).date().isoformat()


def _words(values: Any, say: Any, t: Translator) -> str:
    items = [say(v) for v in values] if isinstance(values, list) else [say(values)]
    return t("counter.list_sep").join(items)


def counter_sentence(exc: QuanError, t: Translator, zone: str = DEFAULT_ZONE) -> str:
    """A redemption refusal as the counter says it: the rule as a sentence (category, scene,
    place and time named in words, money in yuan), else :func:`quan.web.refusals.sentence`."""
    p = exc.params
    rule = str(p.get("rule", ""))
    lang = t.lang
    params: dict[str, Any] = {}
    if exc.code == "OUT_OF_SCOPE" and rule in ("category", "merchant_category"):
        params["category"] = category_name(str(p.get("category", "")), lang)
        params["allowed"] = _words(p.get("allowed", []), lambda c: category_name(c, lang), t)
    elif exc.code == "OUT_OF_SCOPE" and rule in ("scene", "merchant_scene"):
        params["scene"] = t(f"counter.scene.{p.get('scene', '')}")
        params["allowed"] = _words(p.get("allowed", []), lambda s: t(f"counter.scene.{s}"), t)
    elif exc.code == "OUT_OF_SCOPE" and rule == "region":
        params["region"] = region_label(str(p.get("region_code", "")), lang)
        params["allowed"] = _words(p.get("allowed", []), lambda c: region_label(c, lang), t)
    elif exc.code == "OUTSIDE_USAGE_WINDOW" and rule == "weekday":
        names = WEEKDAYS[lang]
        params["weekday"] = names[int(p.get("weekday", 0))]
        params["weekdays"] = _words(p.get("weekdays", []), lambda d: names[int(d)], t)
    elif exc.code == "OUTSIDE_USAGE_WINDOW" and rule == "hours":
        params["hours"] = _words(p.get("hours", []), str, t)
        params["local_time"] = p.get("local_time", "")
    elif exc.code == "OUTSIDE_USAGE_WINDOW" and rule == "excluded_date":
        params["date"] = p.get("date", "")
    elif exc.code == "VOUCHER_EXPIRED":
        until = p.get("valid_until")
        if isinstance(until, str):
            params["last_day"] = last_day(datetime.fromisoformat(until), zone)
            rule = "last_day"
    elif not (exc.code == "OUT_OF_SCOPE" and rule in ("merchant", "issuer")):
        return sentence(exc, t, zone)  # said well enough already (amounts in yuan)
    text = t(f"counter.refuse.{exc.code}.{rule}", **params)
    return sentence(exc, t, zone) if text.startswith("counter.refuse.") else text


def refusal_words(request: Request, refusal: QuanError | None, amount: str) -> dict[str, Any]:
    """The refusal in words; an amount that is not money is said next to the amount field,
    naming it."""
    if refusal is None:
        return {"refusal_text": None, "amount_error": False}
    t = Translator(request_lang(request))
    fen = parse_yuan(amount)
    if refusal.spec is VALIDATION_FAILED and (fen is None or fen <= 0):
        return {"refusal_text": t("refuse.amount", label=t("cashier.amount")),
                "amount_error": True}
    return {"refusal_text": counter_sentence(refusal, t), "amount_error": False}
