"""What a measure of the alert rules is asked and answers (:mod:`.alert_measures`): the scope
(program, now), the rule's cut (comparator, threshold), the samples (labels, value), and the
measure's entry in the registry."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection

Labels = tuple[tuple[str, str], ...]

COMPARE: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Where and when a rule is measured: its program (``None`` for the platform) and now."""

    now: datetime
    program_id: str | None = None
    issuer_id: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cut:
    """The rule's comparison, applied where the figure is computed."""

    comparator: str
    threshold: float

    def holds(self, value: float) -> bool:
        return bool(COMPARE[self.comparator](value, self.threshold))

    def sql(self, value: ColumnElement[Any]) -> ColumnElement[bool]:
        result: ColumnElement[bool] = COMPARE[self.comparator](value, self.threshold)
        return result


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Labels
    value: float


MeasureFn = Callable[[Connection, Scope, Mapping[str, Any], Cut], list[Sample]]
Asked = tuple[Mapping[str, Any], Cut]
# Several rules' samples from one read: one list per (params, cut) asked, in order.
SharedFn = Callable[[Connection, Scope, Sequence[Asked]], list[list[Sample]]]


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    fn: MeasureFn
    per_program: bool  # False: a platform measure (rules without a program)
    unit: str  # how the console says the value: per_minute, count, share, seconds, ratio
    shared: SharedFn | None = None
