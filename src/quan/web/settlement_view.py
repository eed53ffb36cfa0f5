"""What the console adds to settlement: a person's copy of the CSV files (headers in the page's
language, amounts in yuan, times in the program's zone, statuses and categories in words) and
the refusals of its forms that no service defines (a date that is not a date, a payout not
ticked as paid)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request

from quan.domain.errors import Kind, define
from quan.edge.downloads import Shown
from quan.web.i18n import Translator, category_name, request_lang

INVALID_CUT_OFF = define(
    "INVALID_CUT_OFF_DATE",
    Kind.INVALID,
    zh="截止日期须为日期，例如 2027-01-31",
    en="The cut-off day must be a date, such as 2027-01-31",
)
PAYOUT_NOT_CONFIRMED = define(
    "PAYOUT_NOT_CONFIRMED",
    Kind.INVALID,
    zh="请勾选确认银行已按付款文件付款",
    en="Tick the box to confirm that the bank paid the payout file",
)
# A refusal of the payout form → the control it concerns.
PAYOUT_CODES: Final = {
    "PAYMENT_REF_REQUIRED": "payment_ref",
    "PAYOUT_NOT_CONFIRMED": "confirmed",
}
_WORDS: Final = {"payout_status": "payout."}


def people_csv(request: Request, zone: str) -> Shown:
    """The CSV as the person downloading it reads it (see :class:`quan.edge.downloads.Shown`)."""
    t = Translator(request_lang(request))

    def word(column: str, value: Any) -> Any:
        if column == "category" and isinstance(value, str):
            return category_name(value, t.lang)
        prefix = _WORDS.get(column)
        if prefix is None or not isinstance(value, str):
            return value
        key = prefix + value
        said = t(key)
        return value if said == key else said

    return Shown(
        label=lambda c: t(f"csv.{c}"), word=word, zone=zone, drop=frozenset({"amount_yuan"})
    )
