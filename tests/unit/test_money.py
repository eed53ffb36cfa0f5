from __future__ import annotations

import pytest

from quan.domain.money import format_yuan


def test_fen_format_as_yuan_with_two_decimals() -> None:
    assert format_yuan(0) == "¥0.00"
    assert format_yuan(5) == "¥0.05"
    assert format_yuan(123456789) == "¥1,234,567.89"
    assert format_yuan(-150) == "-¥1.50"


def test_floats_are_not_money() -> None:
    with pytest.raises(TypeError):
        format_yuan(1.5)  # type: ignore[arg-type]
