"""Shared field types and the page envelope."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from quan.domain.calendar import EARLIEST, LATEST, day_in_range, instant_in_range
from quan.domain.money import MAX_AMOUNT_FEN

# Strict: "100", 100.0 and true are refused rather than guessed at. Money is never coerced.
AmountFen = Annotated[
    int,
    Field(strict=True, gt=0, le=MAX_AMOUNT_FEN, description="Amount in fen (1/100 yuan), > 0"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]

T = TypeVar("T")


class Body(BaseModel):
    """Request bodies refuse unknown fields, so that a misspelt field is an error, not ignored,
    and dates outside the calendar Quan accepts (:mod:`quan.domain.calendar`) in any field,
    however nested, so that no later arithmetic overflows. Every request body derives from
    this class (``tests/unit/test_schemas_calendar.py`` checks it)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _within_calendar(cls, value: Any) -> Any:
        if not _dates_in_range(value):
            raise ValueError(f"dates must fall between {EARLIEST} and {LATEST} (UTC)")
        return value


def _dates_in_range(value: Any) -> bool:
    if isinstance(value, datetime):
        return instant_in_range(value)
    if isinstance(value, date):
        return day_in_range(value)
    if isinstance(value, BaseModel):
        return all(_dates_in_range(v) for v in value.__dict__.values())
    if isinstance(value, dict):
        return all(_dates_in_range(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return all(_dates_in_range(v) for v in value)
    return True


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end"
    )


Limit = Annotated[int, Field(ge=1, le=200)]
