"""Human-typable voucher codes: how they are made, read back and checked.

A code is 16 symbols of Crockford base32 (``0-9 A-Z`` without ``I L O U``) shown in four groups of
four, ``7K3M-Q9XD-2HVB-T4NW``: 15 random symbols (75 bits) and a final check symbol. The code is
what a cashier or an agent types when the QR cannot be scanned, so reading is forgiving (case,
spaces, dashes, ``O`` for ``0``, ``I``/``L`` for ``1``) and the check symbol catches the slips
people make before a database is asked.

Check symbol: the Damm algorithm over the totally anti-symmetric quasigroup ``x ∘ y = α·x + y`` in
GF(32), α a primitive element. Unrolled, a code is valid when ``Σ α^(15-i)·s_i = 0``. Because α
is neither 0 nor 1 and has order 31, this detects every single-symbol error, every transposition
of two different symbols anywhere in the code (α^i ≠ α^j for distinct places) and every twin
error (``aa``→``bb``, as α + 1 ≠ 0). ISO 7064 MOD 37-2 was not chosen: its check character ranges
over 37 values (``*`` and letters outside base32), which do not fit the alphabet.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from quan.domain.errors import Kind, QuanError, define

INVALID_VOUCHER_CODE = define(
    "INVALID_VOUCHER_CODE",
    Kind.INVALID,
    zh="券码无效，请核对后重新输入",
    en="The voucher code is not valid; please check it and try again",
)

REASONS = ("format", "check_digit")

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 16
RANDOM_BYTES = 10  # 80 bits in, the first 75 used

_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# Crockford's reading rules: the letters people confuse with digits read as those digits.
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_GROUP = 4
_PAYLOAD_BITS = 5 * (LENGTH - 1)
# x^5 + x^2 + 1 is primitive, so α = x (the value 2) generates the multiplicative group of GF(32).
_MODULUS = 0b100101


def new_code(random_bytes: bytes) -> str:
    """A fresh code from ``RANDOM_BYTES`` bytes of a cryptographic random source, grouped."""
    if len(random_bytes) != RANDOM_BYTES:
        raise ValueError(f"a voucher code is made from exactly {RANDOM_BYTES} random bytes")
    payload = int.from_bytes(random_bytes, "big") >> (8 * RANDOM_BYTES - _PAYLOAD_BITS)
    values = [(payload >> (5 * i)) & 31 for i in reversed(range(LENGTH - 1))]
    values.append(_times_alpha(_accumulate(values)))
    return _grouped("".join(ALPHABET[v] for v in values))


def normalize(text: str) -> str:
    """The canonical grouped form of what a person typed; raises if it cannot be a code.

    Does not look at the check symbol; :func:`validate` does.
    """
    folded = unicodedata.normalize("NFKC", text).upper().translate(_LOOK_ALIKES)
    compact = "".join(folded.replace("-", " ").split())
    if len(compact) != LENGTH or any(c not in _VALUE for c in compact):
        raise QuanError(INVALID_VOUCHER_CODE, reason="format")
    return _grouped(compact)


def validate(text: str) -> str:
    """The canonical form of a well-formed code whose check symbol is right."""
    code = normalize(text)
    if _accumulate(_VALUE[c] for c in code if c != "-") != 0:
        raise QuanError(INVALID_VOUCHER_CODE, reason="check_digit")
    return code


def _accumulate(values: Iterable[int]) -> int:
    # Damm's interim value: interim ∘ s = α·interim + s, with + being XOR in GF(2^5).
    interim = 0
    for value in values:
        interim = _times_alpha(interim) ^ value
    return interim


def _times_alpha(value: int) -> int:
    value <<= 1
    return value ^ _MODULUS if value & 32 else value


def _grouped(compact: str) -> str:
    return "-".join(compact[i : i + _GROUP] for i in range(0, LENGTH, _GROUP))
