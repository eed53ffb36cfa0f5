"""The result of one benchmark and the output contract: the LAST line printed is one JSON object.

A benchmark run by ``quan bench NAME`` prints whatever progress it likes on stderr; its stdout
ends with exactly one line holding the whole :class:`BenchResult` as compact JSON, so a caller
(the suite, CI, a shell pipeline with ``tail -n1``) can always parse it whatever came before.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    PENDING = "pending"  # the code path it measures does not exist yet
    SKIPPED = "skipped"  # not applicable here (e.g. no PostgreSQL configured)
    FAILED = "failed"  # it ran and broke; ``reason`` says how


@dataclass
class BenchResult:
    """What a benchmark measured, in units named by the figure (``*_per_s``, ``*_ms``, ``*_s``).

    ``throughput`` names the figure compared with the ceilings; ``ratios`` holds
    ``throughput / ceiling`` for each ceiling measured in the same run (``ceilings`` holds those
    ceilings' values). ``checks`` are counts that must be zero (oversold, duplicate, errors...).
    ``runs`` keeps each short run's figures, of
    which ``figures`` holds the medians.
    """

    benchmark: str
    database: str | None
    status: Status = Status.OK
    reason: str | None = None
    figures: dict[str, float] = field(default_factory=dict)
    throughput: str | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    ceilings: dict[str, float] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, float]] = field(default_factory=list)
    load: dict[str, Any] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started_at: str | None = None
    elapsed_s: float | None = None
    # Set when a report carries this result over from an earlier run (its file, date, commit):
    # its ratios and verdicts stay those of that run's ceilings.
    carried_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def failed_checks(self) -> dict[str, int]:
        return {name: value for name, value in self.checks.items() if value != 0}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        values = dict(data)
        values["status"] = Status(values.get("status", Status.OK))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def json_line(value: BenchResult | dict[str, Any]) -> str:
    """One line of compact JSON (never a newline inside: strings are escaped by json.dumps)."""
    data = value.to_dict() if isinstance(value, BenchResult) else value
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def parse_last_line(output: str) -> dict[str, Any]:
    """The JSON object on the last non-empty line of ``output``; ValueError if there is none."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise ValueError("no output")
    data = json.loads(lines[-1])
    if not isinstance(data, dict):
        raise ValueError("the last line is JSON but not an object")
    return data
