"""The resident ID number (居民身份证号码, GB 11643-1999): parsing, validation and masking.

An 18-character number: a 6-digit administrative-division code (GB/T 2260), the birth date as
YYYYMMDD, a 3-digit sequence whose parity gives the sex, and an ISO 7064 MOD 11-2 check character
(``0``-``9`` or ``X``). This module owns what "a valid resident ID number" means on the platform
and how one is shown to people (masked).

Every refusal is ``INVALID_RESIDENT_ID`` with a ``reason`` among ``format``, ``check_digit``,
``birth_date`` and ``region``. The number itself is never put into the error, a repr or a log
line: only its masked form.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import Enum

from stdnum import numdb

from quan.domain.errors import Kind, QuanError, define

INVALID_RESIDENT_ID = define(
    "INVALID_RESIDENT_ID",
    Kind.INVALID,
    zh="居民身份证号码无效，请核对后重新输入",
    en="The resident ID number is not valid; please check it and try again",
)

REASONS = ("format", "check_digit", "birth_date", "region")

_LENGTH = 18
_DIGITS = frozenset("0123456789")
# ISO 7064 MOD 11-2: weight of position i (0-based, left to right) is 2**(17 - i) mod 11.
_WEIGHTS = tuple(pow(2, _LENGTH - 1 - i, 11) for i in range(_LENGTH - 1))
_EARLIEST_BIRTH = date(1900, 1, 1)

# Residence permits for people from Taiwan (台湾居民居住证, 2018) carry GB 11643 numbers with the
# code 830000, which is not an administrative division and so is not in the GB/T 2260 table.
# Hong Kong and Macao permit holders use 810000 / 820000, which the table does list.
_PERMIT_REGION_CODES = frozenset({"830000"})


class Sex(Enum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A valid resident ID number and the facts it encodes."""

    number: str  # normalized: 18 ASCII characters, check character upper case
    birth_date: date
    region_code: str  # the first 6 digits: the division where the number was first assigned
    sex: Sex

    @property
    def masked(self) -> str:
        return mask_resident_id(self.number)

    def __repr__(self) -> str:
        # Reprs end up in logs and tracebacks; the full number must not.
        return f"ResidentId({self.masked!r}, sex={self.sex.value})"


def parse_resident_id(text: str, *, today: date) -> ResidentId:
    """Validate ``text`` as a resident ID number as of ``today`` and return what it encodes.

    Accepts surrounding and grouping spaces, a lower-case ``x`` and full-width characters (as typed
    on Chinese input methods). Checks, in order: format, check character, birth date, region.
    """
    number = _normalize(text)
    if len(number) != _LENGTH or not _is_ascii_digits(number[:-1]):
        raise _invalid("format", number)
    if number[-1] not in _DIGITS and number[-1] != "X":
        raise _invalid("format", number)
    if number[-1] != check_character(number[:-1]):
        raise _invalid("check_digit", number)
    birth = _birth_date(number)
    if birth is None or birth < _EARLIEST_BIRTH or birth > today:
        raise _invalid("birth_date", number)
    region = number[:6]
    if not is_known_region_code(region):
        raise _invalid("region", number)
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return ResidentId(number=number, birth_date=birth, region_code=region, sex=sex)


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != _LENGTH - 1 or not _is_ascii_digits(first17):
        raise ValueError("the check character is computed over exactly 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def is_known_region_code(code: str) -> bool:
    """Whether ``code`` is a county-level (or higher) division code that has ever existed.

    The table is python-stdnum's ``cn/loc.dat`` (GB/T 2260 as collected on Wikipedia), read once
    on first use through ``stdnum.numdb``. We deliberately do not use ``stdnum.cn.ric``'s birth
    place check: it refuses a code that did not exist in the *birth* year, but a number takes the
    code in force when it was first *assigned* (often years after birth, e.g. 110111 房山区 from
    1986 for people born in 1980), and numbers are not reissued when a division is renamed or
    abolished. Such refusals would lock real citizens out, so any code the table has ever held is
    accepted.
    """
    if len(code) != 6 or not _is_ascii_digits(code):
        return False
    if code in _PERMIT_REGION_CODES:
        return True
    parts = numdb.get("cn/loc").info(code)
    # A known code splits into the 2-digit province and the 4-digit rest, each with its name.
    return len(parts) == 2 and bool(parts[0][1].get("province")) and bool(parts[1][1].get("county"))


def mask_resident_id(number: str) -> str:
    """The number for display: the first 3 characters kept (the province and city, which the
    stored region code tells anyway), the rest as ``*``.

    No tail: the birth date and the region are stored in clear for eligibility, and with them
    the last two characters (a sequence digit and the check character) narrowed a number down
    to about ten candidates (issue 13, I3); without them about a thousand remain, and only the
    keyed hash, which needs the server's key, tells which. Anything too short to mask
    meaningfully is masked entirely, so that a typo never leaks.
    """
    shown = _normalize(number)
    if len(shown) < 8:
        return "*" * len(shown)
    return shown[:3] + "*" * (len(shown) - 3)


def _normalize(text: str) -> str:
    # NFKC folds full-width digits and letters (１１０…Ｘ) to ASCII.
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split()).upper()


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit() would also accept other scripts' digits and superscripts.
    return all(c in _DIGITS for c in text)


def _birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _invalid(reason: str, number: str) -> QuanError:
    return QuanError(INVALID_RESIDENT_ID, reason=reason, masked=mask_resident_id(number))
