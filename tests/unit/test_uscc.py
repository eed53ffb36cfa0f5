"""Rules of the GB 32100 Unified Social Credit Code: real codes, letter authorities, mutations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from quan.domain.errors import Kind, QuanError
from quan.domain.uscc import ALPHABET, INVALID_USCC, Uscc, check_character, parse_uscc

# Codes of real bodies, as published (python-stdnum's collection and business licences).
REAL_CODES = [
    "91350100M000100Y43",
    "91110000600037341L",
    "91110000710926094P",
    "121200004013590816",
    "911522010783710635",
    "9115220107837757XE",
    "91310115MA1K3BTP2B",
    "9144030071526726XG",
    "91620105L015101280",
    "92340603MA2UK2QAXJ",
    "92340621MA2UK3PJXE",
    "91340600MA2PBMQB9E",
]

# Letter registration authorities: A 中央军委改革和编制办公室, N 农业农村, Y 其他. Check characters
# computed by the independent reference below.
LETTER_CODES = [
    "A1110000MB0000001M",
    "N2330106MF1234567L",
    "N1510104MH0123456J",
    "Y1440300MC00000000",
]

WEIGHTS = [pow(3, i, 31) for i in range(17)]


def reference_check(first17: str) -> str:
    """GB 32100 §4 straight from the standard's text: values 0-30, weights 3^i mod 31."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def reason_for(text: str) -> str:
    with pytest.raises(QuanError) as caught:
        parse_uscc(text)
    assert caught.value.spec is INVALID_USCC
    return str(caught.value.params["reason"])


def test_the_alphabet_has_31_symbols_without_i_o_z_s_v() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 31
    assert not set("IOZSV") & set(ALPHABET)


def test_weights_are_the_standard_ones() -> None:
    assert WEIGHTS == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert parse_uscc(code).code == code


@pytest.mark.parametrize("code", LETTER_CODES)
def test_code_starting_with_a_letter_is_valid(code: str) -> None:
    assert reference_check(code[:17]) == code[17]
    assert parse_uscc(code).registration_authority == code[0]


@pytest.mark.parametrize("code", LETTER_CODES)
def test_python_stdnum_wrongly_refuses_letter_authorities(code: str) -> None:
    # Why this module exists: stdnum insists the first 8 characters are digits.
    assert not stdnum_uscc.is_valid(code)


def test_parts_are_read_by_position() -> None:
    code = parse_uscc("91350100M000100Y43")
    assert code == Uscc("91350100M000100Y43")
    assert code.registration_authority == "9"
    assert code.category == "1"
    assert code.region_code == "350100"
    assert code.organisation_code == "M000100Y4"
    assert code.check_character == "3"


def test_lower_case_spaces_and_full_width_are_accepted() -> None:
    assert parse_uscc(" 91 350100 m000100y4 3 ").code == "91350100M000100Y43"
    assert parse_uscc("９１３５０１００Ｍ０００１００Ｙ４３").code == "91350100M000100Y43"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100O000100Y43",  # O is not in the alphabet (and is not read as 0)
        "91350100I000100Y43",
        "91350100Z000100Y43",
        "91350100S000100Y43",
        "91350100V000100Y43",
        "91350100M000100Y4*",
    ],
)
def test_malformed_text_is_refused_as_format(text: str) -> None:
    assert reason_for(text) == "format"


def test_letter_in_the_region_code_is_refused_as_region() -> None:
    first17 = "9135A100M000100Y4"
    assert reason_for(first17 + reference_check(first17)) == "region"


def test_wrong_check_character_is_refused() -> None:
    assert reason_for("91350100M000100Y44") == "check_digit"


@pytest.mark.parametrize("code", REAL_CODES + LETTER_CODES)
def test_every_single_character_change_is_refused(code: str) -> None:
    for position in range(18):
        for replacement in ALPHABET + "IOZSV":
            if replacement != code[position]:
                mutated = code[:position] + replacement + code[position + 1 :]
                with pytest.raises(QuanError):
                    parse_uscc(mutated)


@pytest.mark.parametrize("code", REAL_CODES + LETTER_CODES)
def test_every_adjacent_transposition_is_refused(code: str) -> None:
    for position in range(17):
        a, b = code[position], code[position + 1]
        if a != b:
            with pytest.raises(QuanError):
                parse_uscc(code[:position] + b + a + code[position + 2 :])


def test_refusal_is_an_invalid_input_error_with_messages() -> None:
    with pytest.raises(QuanError) as caught:
        parse_uscc("91350100M000100Y44")
    assert caught.value.code == "INVALID_USCC"
    assert caught.value.kind is Kind.INVALID
    assert caught.value.message("zh") == "统一社会信用代码无效，请核对后重新输入"
    assert "Unified Social Credit Code is not valid" in caught.value.message("en")


def test_check_character_needs_seventeen_symbols_of_the_alphabet() -> None:
    with pytest.raises(ValueError, match="17 characters"):
        check_character("91350100M000100Y")
    with pytest.raises(ValueError, match="17 characters"):
        check_character("91350100M000100YO")


symbols = st.sampled_from(ALPHABET)
bodies = st.tuples(
    symbols,
    symbols,
    st.text("0123456789", min_size=6, max_size=6),
    st.text(ALPHABET, min_size=9, max_size=9),
).map("".join)


@given(bodies)
def test_any_body_completed_with_its_check_character_is_valid(body: str) -> None:
    assert check_character(body) == reference_check(body)
    parsed = parse_uscc(body + check_character(body))
    assert parsed.code[:17] == body


@given(bodies, st.integers(min_value=0, max_value=17), symbols)
def test_any_single_substitution_is_refused(body: str, position: int, replacement: str) -> None:
    code = body + check_character(body)
    mutated = code[:position] + replacement + code[position + 1 :]
    if mutated != code:
        with pytest.raises(QuanError):
            parse_uscc(mutated)
