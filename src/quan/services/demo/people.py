"""The demo's residents: a few hundred made-up people of Hangzhou, imported as an eligibility list.

They enter the way a real list does, through the citizen import (validation, deduplication,
sealing of personal data, one import record). Numbers are generated with valid check characters;
they are synthetic and must never be loaded into a production database. About one in five is 60
or older (the elderly priority group), some live in low-income households, a few are disabled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from quan.domain.csv_export import csv_text
from quan.domain.resident_id import check_character

COUNT = 300
# 上城 拱墅 西湖 滨江 萧山 余杭
DISTRICTS = ("330102", "330105", "330106", "330108", "330109", "330110")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红"
# The demo's phones: 137 0571 xxxx, apart from the numbers tests use (139 0000 00xx).
PHONE_PREFIX = "1370571"
# The resident whose phone the sign-in instructions print: a plain adult with no voucher yet.
SHOWN = 7


@dataclass(frozen=True, slots=True)
class Resident:
    resident_id: str
    name: str
    phone: str
    region_code: str
    income_group: str
    disability_grade: str

    @property
    def elderly(self) -> bool:
        return self.birth < date(1966, 1, 1)

    @property
    def birth(self) -> date:
        return date(int(self.resident_id[6:10]), int(self.resident_id[10:12]),
                    int(self.resident_id[12:14]))  # fmt: skip


def phone(index: int) -> str:
    return f"{PHONE_PREFIX}{index:04d}"


def residents(today: date) -> list[Resident]:
    """The same people on every machine (a fixed seed), born 1940-2005."""
    rng = random.Random(20261207)  # noqa: S311 - made-up people, the same on every machine
    people = []
    for i in range(COUNT):
        elderly = i % 5 == 0 and i != SHOWN
        years = rng.randint(61, 86) if elderly else rng.randint(22, 59)
        birth = today.replace(month=1, day=1) - timedelta(days=365 * years + rng.randint(0, 364))
        region = DISTRICTS[i % len(DISTRICTS)]
        first17 = f"{region}{birth:%Y%m%d}{100 + i % 900:03d}"
        low_income = i % 11 == 3
        disabled = i % 37 == 5
        people.append(
            Resident(
                resident_id=first17 + check_character(first17),
                name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                phone=phone(i),
                region_code=region,
                income_group="low_income" if low_income else "normal",
                disability_grade="3" if disabled else "",
            )
        )
    return people


def eligibility_csv(people: list[Resident]) -> bytes:
    """The list as a bureau would upload it (``quan citizens import``'s format)."""
    header = ("resident_id", "name", "phone", "region_code", "income_group", "disability_grade")
    rows = (
        (p.resident_id, p.name, p.phone, p.region_code, p.income_group, p.disability_grade)
        for p in people
    )
    return csv_text(header, rows).encode("utf-8")
