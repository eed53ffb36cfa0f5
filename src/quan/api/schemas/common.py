"""Shared field types and the page envelope."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
    """Request bodies refuse unknown fields, so that a misspelt field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end"
    )


Limit = Annotated[int, Field(ge=1, le=200)]
