"""An eligibility rule from untrusted JSON, bounded in depth, size and values (each refusal names
the path of the offending node), and back to JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from quan.domain.citizens import (
    IncomeGroup,
    PriorityGroup,
)
from quan.domain.eligibility import (
    EVERYONE,
    INVALID_ELIGIBILITY_RULE,
    MAX_AGE,
    MAX_DEPTH,
    MAX_LIST,
    MAX_NODES,
    ROOT,
    AgeBetween,
    All,
    AnyOf,
    Disabled,
    IncomeGroupIn,
    Not,
    PriorityGroupIn,
    RegionIn,
    Rule,
)
from quan.domain.errors import QuanError
from quan.domain.resident_id import is_known_region_code


def _invalid(path: str, reason: str) -> QuanError:
    return QuanError(INVALID_ELIGIBILITY_RULE, path=path, reason=reason)


class _Budget:
    """Counts nodes while parsing so that a huge rule is refused before it costs much."""

    def __init__(self) -> None:
        self.nodes = 0

    def spend(self, path: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _invalid(path, "too_many_nodes")


def parse_rule(data: Any) -> Rule:
    """Validate a rule given as JSON data (``None`` means everyone) and return it."""
    if data is None:
        return EVERYONE
    return _parse(data, ROOT, 1, _Budget())


def _parse(data: Any, path: str, depth: int, budget: _Budget) -> Rule:
    if depth > MAX_DEPTH:
        raise _invalid(path, "too_deep")
    budget.spend(path)
    if not isinstance(data, Mapping) or len(data) != 1:
        raise _invalid(path, "one_key_object_required")
    ((key, value),) = data.items()
    parser = _PARSERS.get(key)
    if parser is None:
        raise _invalid(path, f"unknown_predicate:{key}"[:80])
    return parser(value, f"{path}.{key}", depth, budget)


def _list(value: Any, path: str, *, allow_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(path, "list_required")
    if not value and not allow_empty:
        raise _invalid(path, "empty_list")
    if len(value) > MAX_LIST:
        raise _invalid(path, "list_too_long")
    return value


def _unique_strings(value: Any, path: str) -> list[str]:
    items = _list(value, path)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _invalid(f"{path}[{i}]", "string_required")
    if len(set(items)) != len(items):
        raise _invalid(path, "duplicate_items")
    return items


def _all(value: Any, path: str, depth: int, budget: _Budget) -> Rule:
    items = _list(value, path, allow_empty=True)
    return All(tuple(_parse(v, f"{path}[{i}]", depth + 1, budget) for i, v in enumerate(items)))


def _any(value: Any, path: str, depth: int, budget: _Budget) -> Rule:
    items = _list(value, path)
    return AnyOf(tuple(_parse(v, f"{path}[{i}]", depth + 1, budget) for i, v in enumerate(items)))


def _not(value: Any, path: str, depth: int, budget: _Budget) -> Rule:
    return Not(_parse(value, path, depth + 1, budget))


def _region_in(value: Any, path: str, _depth: int, _budget: _Budget) -> Rule:
    codes = _unique_strings(value, path)
    for i, code in enumerate(codes):
        if not is_known_region_code(code):
            raise _invalid(f"{path}[{i}]", "unknown_region_code")
    return RegionIn(tuple(codes))


def _bound(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AGE:
        raise _invalid(path, "age_out_of_range")
    return value


def _age_between(value: Any, path: str, _depth: int, _budget: _Budget) -> Rule:
    if not isinstance(value, Mapping) or not set(value) <= {"min", "max"}:
        raise _invalid(path, "min_max_object_required")
    low, high = _bound(value.get("min"), f"{path}.min"), _bound(value.get("max"), f"{path}.max")
    if low is None and high is None:
        raise _invalid(path, "bound_required")
    if low is not None and high is not None and low > high:
        raise _invalid(path, "min_above_max")
    return AgeBetween(low, high)


def _income_group_in(value: Any, path: str, _depth: int, _budget: _Budget) -> Rule:
    names = _unique_strings(value, path)
    known = {g.value for g in IncomeGroup}
    for i, name in enumerate(names):
        if name not in known:
            raise _invalid(f"{path}[{i}]", "unknown_income_group")
    return IncomeGroupIn(tuple(IncomeGroup(n) for n in names))


def _disabled(value: Any, path: str, _depth: int, _budget: _Budget) -> Rule:
    if not isinstance(value, bool):
        raise _invalid(path, "boolean_required")
    return Disabled(value)


def _priority_group_in(value: Any, path: str, _depth: int, _budget: _Budget) -> Rule:
    names = _unique_strings(value, path)
    known = {g.value for g in PriorityGroup}
    for i, name in enumerate(names):
        if name not in known:
            raise _invalid(f"{path}[{i}]", "unknown_priority_group")
    return PriorityGroupIn(tuple(PriorityGroup(n) for n in names))


_PARSERS: dict[str, Callable[[Any, str, int, _Budget], Rule]] = {
    "all": _all,
    "any": _any,
    "not": _not,
    "region_in": _region_in,
    "age_between": _age_between,
    "income_group_in": _income_group_in,
    "disabled": _disabled,
    "priority_group_in": _priority_group_in,
}
