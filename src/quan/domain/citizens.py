"""Citizens as the rules see them: who a person is for eligibility, and the input we accept.

This module owns the citizen's attributes (region, birth date, household income group,
disability), the priority groups that derive from them (elderly 60+, low income, disabled) and
the validation of what a person types when registering: phone, name, region code, attributes.
The resident ID number itself is validated by :mod:`quan.domain.resident_id`.

Age is counted in completed years on a calendar *date*, and that date is taken in the program's
time zone (a birthday starts at local midnight in Asia/Shanghai, not in UTC). Someone born on
29 February reaches a new age on 1 March in common years.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

from quan.domain.errors import Kind, QuanError, define
from quan.domain.names import check_name
from quan.domain.resident_id import ResidentId, is_known_region_code, parse_resident_id

T = TypeVar("T")

DEFAULT_TIMEZONE = "Asia/Shanghai"
ELDERLY_AGE = 60
DISABILITY_GRADES = (1, 2, 3, 4)  # 残疾等级 一级 (most severe) … 四级
MAX_NAME_LENGTH = 64

INVALID_PHONE = define(
    "INVALID_PHONE",
    Kind.INVALID,
    zh="手机号码无效，须为 11 位中国大陆手机号",
    en="The phone number is not valid; it must be an 11-digit mainland China mobile number",
)
UNKNOWN_REGION_CODE = define(
    "UNKNOWN_REGION_CODE",
    Kind.INVALID,
    zh="行政区划代码无效，须为 6 位现行或曾用的县级以上代码",
    en="The region code must be a 6-digit county-level (or higher) GB/T 2260 code",
)
INVALID_NAME = define(
    "INVALID_NAME",
    Kind.INVALID,
    zh="姓名无效：须为 1–64 个字符，不含数字或控制字符",
    en="The name is not valid: 1–64 characters, without digits or control characters",
)
INVALID_INCOME_GROUP = define(
    "INVALID_INCOME_GROUP",
    Kind.INVALID,
    zh="收入类别无效，须为 normal（一般）、low_income（低收入）或 subsistence（低保）",
    en="The income group must be normal, low_income or subsistence",
)
INVALID_DISABILITY = define(
    "INVALID_DISABILITY",
    Kind.INVALID,
    zh="残疾信息无效：残疾等级须为 1–4，且仅适用于残疾人",
    en="Disability is not valid: a grade is 1–4 and only given for a disabled person",
)


class IncomeGroup(StrEnum):
    NORMAL = "normal"
    LOW_INCOME = "low_income"  # 低收入家庭
    SUBSISTENCE = "subsistence"  # 最低生活保障（低保）


class PriorityGroup(StrEnum):
    """Groups a batch may reserve quota for or open earlier to (R1.3)."""

    ELDERLY = "elderly"
    LOW_INCOME = "low_income"
    DISABLED = "disabled"


# Both 低收入 and 低保 households are "low income" for priority purposes; 低保 is the stricter
# status, so a rule that wants only 低保 matches on income_group instead.
_LOW_INCOME_GROUPS = frozenset({IncomeGroup.LOW_INCOME, IncomeGroup.SUBSISTENCE})


@dataclass(frozen=True, slots=True)
class CitizenProfile:
    """The facts about a citizen that eligibility rules and priority groups read."""

    birth_date: date
    region_code: str
    income_group: IncomeGroup = IncomeGroup.NORMAL
    disabled: bool = False
    disability_grade: int | None = None


def age_on(birth_date: date, day: date) -> int:
    """Completed years on ``day`` (0 before the first birthday; never negative)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return max(years, 0)


def local_date(at: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The calendar date at instant ``at`` in ``timezone`` (an IANA name)."""
    if at.tzinfo is None:
        raise ValueError("local_date needs a timezone-aware instant")
    return at.astimezone(ZoneInfo(timezone)).date()


def priority_groups(profile: CitizenProfile, on: date) -> frozenset[PriorityGroup]:
    """The priority groups ``profile`` belongs to on the calendar date ``on``."""
    groups = set()
    if age_on(profile.birth_date, on) >= ELDERLY_AGE:
        groups.add(PriorityGroup.ELDERLY)
    if profile.income_group in _LOW_INCOME_GROUPS:
        groups.add(PriorityGroup.LOW_INCOME)
    if profile.disabled:
        groups.add(PriorityGroup.DISABLED)
    return frozenset(groups)


def priority_groups_at(
    profile: CitizenProfile, at: datetime, timezone: str = DEFAULT_TIMEZONE
) -> frozenset[PriorityGroup]:
    """Priority groups at an instant, with the date taken in the program's time zone."""
    return priority_groups(profile, local_date(at, timezone))


_PHONE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")


def parse_phone(text: str) -> str:
    """A mainland mobile number as 11 ASCII digits.

    Accepts what people type: spaces and hyphens, full-width digits, and a ``+86``/``0086``/``86``
    country prefix. The number itself never goes into the error.
    """
    folded = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    for prefix in ("+86", "0086"):
        if folded.startswith(prefix):
            folded = folded[len(prefix) :]
            break
    else:
        if len(folded) == 13 and folded.startswith("86"):
            folded = folded[2:]
    if not folded.isascii() or not _PHONE.match(folded):
        raise QuanError(INVALID_PHONE)
    return folded


def parse_region_code(text: str) -> str:
    """A known 6-digit administrative division code (GB/T 2260)."""
    code = unicodedata.normalize("NFKC", text).strip()
    if not _known_region(code):
        raise QuanError(UNKNOWN_REGION_CODE)
    return code


@lru_cache(maxsize=8192)
def _known_region(code: str) -> bool:
    # The division table is searched linearly (~50 µs a code); an eligibility list of 100,000
    # rows names a few hundred distinct codes, so remembering answers saves seconds per import.
    return is_known_region_code(code)


def parse_name(text: str) -> str:
    """A person's name: trimmed, inner runs of spaces collapsed, no digits or control characters.

    Digits are refused because a name with digits is almost always a shifted column (an ID or
    phone number typed where the name belongs), and that must not be stored as a name.
    """
    name = check_name(
        unicodedata.normalize("NFKC", text), max_length=MAX_NAME_LENGTH, error=INVALID_NAME
    )
    if any(c.isdigit() for c in name):
        raise QuanError(INVALID_NAME)
    return name


def mask_name(name: str) -> str:
    """First character kept, the rest hidden: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``."""
    if len(name) <= 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def parse_income_group(text: str | None) -> IncomeGroup:
    """An income group by its code or its Chinese name; empty means ``normal``."""
    value = (text or "").strip()
    if not value:
        return IncomeGroup.NORMAL
    found = _INCOME_ALIASES.get(value.lower())
    if found is None:
        raise QuanError(INVALID_INCOME_GROUP)
    return found


_INCOME_ALIASES = {
    **{g.value: g for g in IncomeGroup},
    "一般": IncomeGroup.NORMAL,
    "普通": IncomeGroup.NORMAL,
    "低收入": IncomeGroup.LOW_INCOME,
    "低保": IncomeGroup.SUBSISTENCE,
}


def check_disability(disabled: bool, grade: int | None) -> tuple[bool, int | None]:
    """A grade implies disability; a grade must be 1–4; a disabled person may have no grade."""
    if grade is None:
        return disabled, None
    if grade not in DISABILITY_GRADES or not disabled:
        raise QuanError(INVALID_DISABILITY)
    return True, grade


@dataclass(frozen=True, slots=True)
class RegistrationInput:
    """What a registrant (or one row of an eligibility list) gives, as typed."""

    resident_id: str
    name: str
    region_code: str
    phone: str | None = None
    income_group: str | None = None
    disabled: bool = False
    disability_grade: int | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated registration: every field normalized, the birth date read from the ID."""

    resident_id: ResidentId
    name: str
    region_code: str
    phone: str | None
    income_group: IncomeGroup
    disabled: bool
    disability_grade: int | None

    @property
    def profile(self) -> CitizenProfile:
        return CitizenProfile(
            birth_date=self.resident_id.birth_date,
            region_code=self.region_code,
            income_group=self.income_group,
            disabled=self.disabled,
            disability_grade=self.disability_grade,
        )

    def __repr__(self) -> str:
        # Never the number, the name or the phone in a repr: reprs end up in logs.
        return f"Registration({self.resident_id.masked!r}, region={self.region_code})"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field that failed, with its stable code and structured params (no raw values)."""

    field: str
    error: QuanError


def check_registration(
    raw: RegistrationInput, *, today: date
) -> tuple[Registration | None, list[FieldError]]:
    """Validate every field; the registration if all pass, else every field that failed."""
    errors: list[FieldError] = []

    def attempt(field: str, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except QuanError as exc:
            errors.append(FieldError(field, exc))
            return None

    resident = attempt("resident_id", lambda: parse_resident_id(raw.resident_id, today=today))
    name = attempt("name", lambda: parse_name(raw.name))
    region = attempt("region_code", lambda: parse_region_code(raw.region_code))
    typed_phone = (raw.phone or "").strip()
    phone = attempt("phone", lambda: parse_phone(typed_phone)) if typed_phone else None
    income = attempt("income_group", lambda: parse_income_group(raw.income_group))
    disability = attempt(
        "disability_grade", lambda: check_disability(raw.disabled, raw.disability_grade)
    )
    if (
        resident is None
        or name is None
        or region is None
        or income is None
        or disability is None
        or errors
    ):
        return None, errors
    return (
        Registration(resident, name, region, phone, income, disability[0], disability[1]),
        [],
    )


def validate_registration(raw: RegistrationInput, *, today: date) -> Registration:
    """Like :func:`check_registration`, raising the first failure with its ``field`` named."""
    registration, errors = check_registration(raw, today=today)
    if registration is None:
        first = errors[0]
        raise QuanError(first.error.spec, field=first.field, **first.error.params)
    return registration
