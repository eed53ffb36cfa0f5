"""The Unified Social Credit Code (统一社会信用代码, GB 32100-2015) of merchants and other bodies.

Eighteen characters from a 31-symbol alphabet (digits and upper-case letters without I, O, Z, S,
V): position 1 the registration authority (登记管理部门, e.g. ``9`` market regulation, ``5`` civil
affairs, ``A`` military, ``N`` agriculture, ``Y`` others), 2 the category of body, 3-8 the
administrative-division code of the registering office, 9-17 the organisation code (GB 11714) and
18 a MOD 31 check character. This module owns what "a valid USCC" means on the platform.

Why not ``stdnum.cn.uscc``: it requires the first 8 characters to be digits, so it refuses valid
codes issued by authorities whose code is a letter (``A1…`` 军队单位, ``N2…`` 村集体经济组织,
``Y1…``). We accept any registration authority and category from the alphabet rather than
checking them against a list, because the authorities' table grows (``A`` and ``N`` were added
after the standard) and a refused merchant cannot join at all.

Every refusal is ``INVALID_USCC`` with a ``reason`` among ``format`` (length or a character
outside the alphabet), ``region`` (positions 3-8 not digits) and ``check_digit``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from quan.domain.errors import Kind, QuanError, define

INVALID_USCC = define(
    "INVALID_USCC",
    Kind.INVALID,
    zh="统一社会信用代码无效，请核对后重新输入",
    en="The Unified Social Credit Code is not valid; please check it and try again",
)

REASONS = ("format", "region", "check_digit")

# The index of a symbol is its value in the check computation (A=10 … Y=30). All 21 letters
# other than I, O, Z, S, V are used, M (21) included: 91350100M000100Y43 is a real code.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)  # 3**i mod 31
_LENGTH = 18


@dataclass(frozen=True, slots=True)
class Uscc:
    """A valid Unified Social Credit Code and its parts."""

    code: str  # normalized: 18 upper-case characters

    @property
    def registration_authority(self) -> str:
        return self.code[0]

    @property
    def category(self) -> str:
        return self.code[1]

    @property
    def region_code(self) -> str:
        return self.code[2:8]

    @property
    def organisation_code(self) -> str:
        return self.code[8:17]

    @property
    def check_character(self) -> str:
        return self.code[17]


def parse_uscc(text: str) -> Uscc:
    """Validate ``text`` as a USCC and return it normalized.

    Accepts surrounding and grouping spaces, lower case and full-width characters. Look-alikes are
    not corrected (an ``O`` is refused, not read as ``0``): an official code must be typed as
    issued.
    """
    code = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    if len(code) != _LENGTH or any(c not in _VALUE for c in code):
        raise QuanError(INVALID_USCC, reason="format")
    if not code[2:8].isascii() or not code[2:8].isdigit():
        raise QuanError(INVALID_USCC, reason="region", code=code)
    if code[-1] != check_character(code[:-1]):
        raise QuanError(INVALID_USCC, reason="check_digit", code=code)
    return Uscc(code)


def check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (upper case)."""
    if len(first17) != _LENGTH - 1 or any(c not in _VALUE for c in first17):
        raise ValueError("the check character is computed over 17 characters of the alphabet")
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]
