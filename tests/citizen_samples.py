"""Synthetic citizens for tests and benchmarks: valid-looking, made-up identities.

Run as ``python -m tests.citizen_samples OUT.csv --rows 100000`` to write an eligibility list for
``quan citizens import``. Numbers are generated, not collected; a generated number may happen to
be someone's real one, so never load these into a production database.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from quan.domain.resident_id import check_character

REGIONS = ("330102", "330106", "330108", "330110", "330203", "110105", "310115", "440305")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
HEADER = ("resident_id", "name", "phone", "region_code", "income_group", "disability_grade")


def resident_id(region: str, birth: date, sequence: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@dataclass(frozen=True, slots=True)
class Person:
    resident_id: str
    name: str
    phone: str
    region_code: str
    income_group: str
    disability_grade: str

    def row(self) -> tuple[str, ...]:
        return (
            self.resident_id,
            self.name,
            self.phone,
            self.region_code,
            self.income_group,
            self.disability_grade,
        )


def people(count: int, *, seed: int = 7, born_after: date = date(1930, 1, 1)) -> Iterator[Person]:
    """``count`` distinct people (distinct ID numbers and phones), reproducible by ``seed``."""
    rng = random.Random(seed)
    span = (date(2005, 12, 31) - born_after).days
    seen: set[str] = set()
    made = 0
    while made < count:
        region = rng.choice(REGIONS)
        birth = born_after + timedelta(days=rng.randrange(span))
        number = resident_id(region, birth, rng.randrange(1000))
        if number in seen:
            continue
        seen.add(number)
        made += 1
        yield Person(
            resident_id=number,
            name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
            phone=f"13{9 - seed % 7}{made:08d}",
            region_code=region,
            income_group=rng.choices(("normal", "low_income", "subsistence"), (8, 1, 1))[0],
            disability_grade=rng.choices(("", "1", "2", "3", "4"), (20, 1, 1, 1, 1))[0],
        )


def csv_bytes(rows: list[Person], header: tuple[str, ...] = HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(p.row()) for p in rows]
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for person in people(args.rows, seed=args.seed):
            writer.writerow(person.row())


if __name__ == "__main__":
    main()
