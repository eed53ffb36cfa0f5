"""Rules of typed voucher codes: shape, forgiving reading, and the slips the check catches."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.errors import Kind, QuanError
from quan.domain.voucher_code import (
    ALPHABET,
    INVALID_VOUCHER_CODE,
    LENGTH,
    RANDOM_BYTES,
    new_code,
    normalize,
    validate,
)

SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")


def gf32_mul(a: int, b: int) -> int:
    """Multiplication in GF(2^5) modulo x^5 + x^2 + 1, the long way (carry-less, then reduce)."""
    product = 0
    for bit in range(5):
        if b >> bit & 1:
            product ^= a << bit
    for bit in (8, 7, 6, 5):
        if product >> bit & 1:
            product ^= 0b100101 << (bit - 5)
    return product


# The Damm operation table x ∘ y = α·x + y with α = x (the value 2).
TABLE = [[gf32_mul(2, x) ^ y for y in range(32)] for x in range(32)]


def reference_is_valid(compact: str) -> bool:
    interim = 0
    for symbol in compact:
        interim = TABLE[interim][ALPHABET.index(symbol)]
    return interim == 0


def compact(code: str) -> str:
    return code.replace("-", "")


def sample_codes(count: int) -> list[str]:
    generator = random.Random(20260115)  # fixed: the sample is the same on every run
    return [new_code(generator.randbytes(RANDOM_BYTES)) for _ in range(count)]


def refused_reason(text: str) -> str:
    with pytest.raises(QuanError) as caught:
        validate(text)
    assert caught.value.spec is INVALID_VOUCHER_CODE
    return str(caught.value.params["reason"])


def test_the_alphabet_is_crockford_base32() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_damm_table_is_a_totally_anti_symmetric_quasigroup() -> None:
    for row in TABLE:
        assert sorted(row) == list(range(32))
    for y in range(32):
        assert sorted(TABLE[x][y] for x in range(32)) == list(range(32))
    for c in range(32):
        for x in range(32):
            for y in range(32):
                if TABLE[TABLE[c][x]][y] == TABLE[TABLE[c][y]][x]:
                    assert x == y


def test_known_codes_from_fixed_bytes() -> None:
    assert new_code(bytes(RANDOM_BYTES)) == "0000-0000-0000-0000"
    assert new_code(b"\xff" * RANDOM_BYTES) == "ZZZZ-ZZZZ-ZZZZ-ZZZN"
    assert validate("7K3M-Q9XD-2HVB-T4NW") == "7K3M-Q9XD-2HVB-T4NW"


@given(st.binary(min_size=RANDOM_BYTES, max_size=RANDOM_BYTES))
def test_new_code_is_four_groups_of_four_and_valid(random_bytes: bytes) -> None:
    code = new_code(random_bytes)
    assert SHAPE.fullmatch(code)
    assert len(compact(code)) == LENGTH
    assert validate(code) == code
    assert reference_is_valid(compact(code))


@given(st.binary(min_size=RANDOM_BYTES, max_size=RANDOM_BYTES))
def test_new_code_uses_the_first_75_bits_of_the_random_bytes(random_bytes: bytes) -> None:
    payload = int.from_bytes(random_bytes, "big") >> 5
    symbols = "".join(ALPHABET[payload >> (5 * i) & 31] for i in reversed(range(15)))
    assert compact(new_code(random_bytes))[:15] == symbols


@pytest.mark.parametrize("size", [0, RANDOM_BYTES - 1, RANDOM_BYTES + 1])
def test_new_code_needs_exactly_ten_random_bytes(size: int) -> None:
    with pytest.raises(ValueError, match="exactly"):
        new_code(bytes(size))


def test_reading_forgives_case_spaces_dashes_and_look_alikes() -> None:
    code = "1K0M-Q9XD-2HVB-T4N1"
    assert normalize(code) == code
    assert normalize(" 1k0m q9xd-2hvb  t4n1 ") == code
    assert normalize("1K0MQ9XD2HVBT4N1") == code
    assert normalize("iKOM-Q9XD-2HVB-T4Nl") == code
    assert normalize("LKoM-Q9XD-2HVB-T4NI") == code
    assert normalize("１Ｋ０Ｍ－Ｑ９ＸＤ－２ＨＶＢ－Ｔ４Ｎ１") == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        "7K3M-Q9XD-2HVB-T4N",  # 15 symbols
        "7K3M-Q9XD-2HVB-T4NW0",  # 17 symbols
        "7K3M-Q9XD-2HVB-T4NU",  # U is not a symbol
        "7K3M-Q9XD-2HVB-T4N*",
        "7K3M_Q9XD_2HVB_T4NW",
    ],
)
def test_text_that_cannot_be_a_code_is_refused_as_format(text: str) -> None:
    assert refused_reason(text) == "format"
    with pytest.raises(QuanError):
        normalize(text)


def test_normalize_does_not_look_at_the_check_symbol() -> None:
    assert normalize("7K3M-Q9XD-2HVB-T4NX") == "7K3M-Q9XD-2HVB-T4NX"
    assert refused_reason("7K3M-Q9XD-2HVB-T4NX") == "check_digit"


def test_every_single_symbol_error_is_refused() -> None:
    for code in sample_codes(40):
        symbols = compact(code)
        for position in range(LENGTH):
            for replacement in ALPHABET:
                if replacement != symbols[position]:
                    typo = symbols[:position] + replacement + symbols[position + 1 :]
                    assert refused_reason(typo) == "check_digit", typo


def test_every_adjacent_transposition_is_refused() -> None:
    for code in sample_codes(200):
        symbols = compact(code)
        for position in range(LENGTH - 1):
            a, b = symbols[position], symbols[position + 1]
            if a != b:
                swapped = symbols[:position] + b + a + symbols[position + 2 :]
                assert refused_reason(swapped) == "check_digit", swapped


def test_every_transposition_of_two_different_symbols_is_refused() -> None:
    for code in sample_codes(40):
        symbols = list(compact(code))
        for i in range(LENGTH):
            for j in range(i + 1, LENGTH):
                if symbols[i] != symbols[j]:
                    swapped = symbols.copy()
                    swapped[i], swapped[j] = swapped[j], swapped[i]
                    assert refused_reason("".join(swapped)) == "check_digit"


def test_every_twin_error_is_refused() -> None:
    for code in sample_codes(40):
        symbols = compact(code)
        for position in range(LENGTH - 1):
            if symbols[position] == symbols[position + 1]:
                for other in ALPHABET:
                    if other != symbols[position]:
                        twin = symbols[:position] + other * 2 + symbols[position + 2 :]
                        assert refused_reason(twin) == "check_digit"


def test_twin_errors_occur_in_the_sample() -> None:
    # Guards the test above against passing vacuously.
    assert any(
        symbols[i] == symbols[i + 1]
        for symbols in map(compact, sample_codes(40))
        for i in range(LENGTH - 1)
    )


@given(st.text(ALPHABET, min_size=LENGTH, max_size=LENGTH))
def test_validation_agrees_with_the_damm_table(symbols: str) -> None:
    if reference_is_valid(symbols):
        assert compact(validate(symbols)) == symbols
    else:
        assert refused_reason(symbols) == "check_digit"


def test_refusal_is_an_invalid_input_error_with_messages() -> None:
    with pytest.raises(QuanError) as caught:
        validate("7K3M-Q9XD-2HVB-T4NX")
    assert caught.value.code == "INVALID_VOUCHER_CODE"
    assert caught.value.kind is Kind.INVALID
    assert caught.value.message("zh") == "券码无效，请核对后重新输入"
    assert "voucher code is not valid" in caught.value.message("en")
