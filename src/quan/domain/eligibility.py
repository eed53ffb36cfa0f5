"""Eligibility rules as data (R1.1): who may receive a batch's vouchers, published and explained.

A rule is a small JSON tree, stored with its batch, published with it, and applied identically to
everyone. Each node is an object with exactly one key::

    {"all": [rule, ...]}                      every sub-rule holds ({"all": []} admits everyone)
    {"any": [rule, ...]}                      at least one holds (needs one or more)
    {"not": rule}                             the sub-rule does not hold
    {"region_in": ["330100", ...]}            lives in one of these divisions (a city covers
                                              its districts: 330106 is in 330100)
    {"age_between": {"min": 60, "max": 120}}  age in completed years, bounds inclusive, either
                                              bound may be left out
    {"income_group_in": ["low_income", ...]}  household income group: normal, low_income,
                                              subsistence (低保)
    {"disabled": true}                        registered disability (or, with false, none)
    {"priority_group_in": ["elderly", ...]}   belongs to a priority group: elderly, low_income,
                                              disabled (see quan.domain.citizens)

:func:`~quan.domain.eligibility_json.parse_rule` validates untrusted JSON and raises
``INVALID_ELIGIBILITY_RULE`` with the ``path`` of the offending node and a ``reason``;
:func:`rule_to_json` gives the canonical form back (``parse_rule(rule_to_json(r)) == r``).
:func:`render` says a rule in zh-CN or English for the public batch page, and :func:`evaluate`
decides for one citizen, returning the failing node (its path and its text) so that every
``NOT_ELIGIBLE`` refusal names the rule that failed.

Age is counted on the calendar date in the program's time zone, which the caller passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, TypeAlias

from quan.domain.citizens import (
    CitizenProfile,
    IncomeGroup,
    PriorityGroup,
    age_on,
    priority_groups,
)
from quan.domain.errors import Kind, QuanError, define
from quan.domain.place_names import ENGLISH

INVALID_ELIGIBILITY_RULE = define(
    "INVALID_ELIGIBILITY_RULE",
    Kind.INVALID,
    zh="领取条件规则无效：位置 {path}，原因 {reason}",
    en="The eligibility rule is not valid at {path}: {reason}",
)
NOT_ELIGIBLE = define(
    "NOT_ELIGIBLE",
    Kind.FORBIDDEN,
    zh="您不符合本批次的领取条件：{rule_text_zh}",
    en="You do not meet this batch's eligibility rule: {rule_text_en}",
)

MAX_DEPTH = 8
MAX_NODES = 200
MAX_LIST = 500
MAX_AGE = 150
ROOT = "$"


@dataclass(frozen=True, slots=True)
class All:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    rule: Rule


@dataclass(frozen=True, slots=True)
class RegionIn:
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgeBetween:
    min: int | None
    max: int | None


@dataclass(frozen=True, slots=True)
class IncomeGroupIn:
    groups: tuple[IncomeGroup, ...]


@dataclass(frozen=True, slots=True)
class Disabled:
    value: bool


@dataclass(frozen=True, slots=True)
class PriorityGroupIn:
    groups: tuple[PriorityGroup, ...]


Rule: TypeAlias = (
    All | AnyOf | Not | RegionIn | AgeBetween | IncomeGroupIn | Disabled | PriorityGroupIn
)
EVERYONE: Rule = All(())


def rule_to_json(rule: Rule) -> dict[str, Any]:
    """The canonical JSON form of a rule (what is stored, published and logged)."""
    match rule:
        case All(rules):
            return {"all": [rule_to_json(r) for r in rules]}
        case AnyOf(rules):
            return {"any": [rule_to_json(r) for r in rules]}
        case Not(inner):
            return {"not": rule_to_json(inner)}
        case RegionIn(codes):
            return {"region_in": list(codes)}
        case AgeBetween(low, high):
            bounds = {"min": low, "max": high}
            return {"age_between": {k: v for k, v in bounds.items() if v is not None}}
        case IncomeGroupIn(groups):
            return {"income_group_in": [g.value for g in groups]}
        case Disabled(value):
            return {"disabled": value}
        case PriorityGroupIn(groups):
            return {"priority_group_in": [g.value for g in groups]}


# --- evaluation -------------------------------------------------------------------------------


def region_within(region_code: str, area_code: str) -> bool:
    """``330106`` lies in ``330100`` (its city) and ``330000`` (its province): trailing ``00``
    pairs of the area code mark its level."""
    prefix = area_code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return region_code.startswith(prefix)


def holds(rule: Rule, profile: CitizenProfile, on: date) -> bool:
    """Whether ``profile`` satisfies ``rule`` on the calendar date ``on``."""
    return evaluate(rule, profile, on) is None


@dataclass(frozen=True, slots=True)
class Failure:
    """The node that made a citizen ineligible: where it sits in the rule and what it says."""

    path: str
    rule: Rule

    def text(self, lang: str = "zh") -> str:
        return render(self.rule, lang)

    def error(self) -> QuanError:
        return QuanError(
            NOT_ELIGIBLE,
            rule=self.path,
            rule_text_zh=self.text("zh"),
            rule_text_en=self.text("en"),
        )


def evaluate(rule: Rule, profile: CitizenProfile, on: date, path: str = ROOT) -> Failure | None:
    """``None`` when eligible; otherwise the failing node.

    ``all`` reports its first failing sub-rule (recursively, so the most specific node);
    ``any`` and ``not`` report themselves, since no single sub-rule is to blame.
    """
    match rule:
        case All(rules):
            for i, sub in enumerate(rules):
                failure = evaluate(sub, profile, on, f"{path}.all[{i}]")
                if failure is not None:
                    return failure
            return None
        case AnyOf(rules):
            if any(evaluate(sub, profile, on) is None for sub in rules):
                return None
            return Failure(path, rule)
        case Not(inner):
            return Failure(path, rule) if evaluate(inner, profile, on) is None else None
        case _:
            return None if _leaf_holds(rule, profile, on) else Failure(_leaf_path(path, rule), rule)


def _leaf_path(path: str, rule: Rule) -> str:
    (key,) = rule_to_json(rule)
    return f"{path}.{key}"


def _leaf_holds(rule: Rule, profile: CitizenProfile, on: date) -> bool:
    match rule:
        case RegionIn(codes):
            return any(region_within(profile.region_code, code) for code in codes)
        case AgeBetween(low, high):
            age = age_on(profile.birth_date, on)
            return (low is None or age >= low) and (high is None or age <= high)
        case IncomeGroupIn(groups):
            return profile.income_group in groups
        case Disabled(value):
            return profile.disabled is value
        case PriorityGroupIn(groups):
            return bool(priority_groups(profile, on) & set(groups))
    raise TypeError(f"not a leaf rule: {rule!r}")


# --- readable text ----------------------------------------------------------------------------

_INCOME = {
    IncomeGroup.NORMAL: ("一般家庭", "ordinary"),
    IncomeGroup.LOW_INCOME: ("低收入家庭", "low income"),
    IncomeGroup.SUBSISTENCE: ("低保家庭", "subsistence allowance (dibao)"),
}
_PRIORITY = {
    PriorityGroup.ELDERLY: ("老年人（60 周岁及以上）", "elderly (aged 60 or over)"),
    PriorityGroup.LOW_INCOME: ("低收入或低保家庭", "low-income or dibao household"),
    PriorityGroup.DISABLED: ("残疾人", "people with disabilities"),
}


@lru_cache(maxsize=4096)
def region_name(code: str) -> str | None:
    """The Chinese name of a division code (``330100`` → ``杭州市``), if the table knows it."""
    from stdnum import numdb  # the GB/T 2260 table that resident ID validation reads too

    parts = numdb.get("cn/loc").info(code)
    if len(parts) != 2:
        return None
    name = parts[1][1].get("county") or parts[0][1].get("province")
    if not name:
        return None
    # Entries carry their years of validity as a prefix ("[1983-]西湖区"); the name follows.
    return str(name).rsplit("]", 1)[-1] or None


def _region(code: str, zh: bool) -> str:
    name = region_name(code)
    if zh:
        return f"{code}（{name}）" if name else code
    return f"{code} ({ENGLISH.get(name, name)})" if name else code


def render(rule: Rule, lang: str = "zh") -> str:
    """The rule in words, zh-CN (default) or English (``lang`` starting with ``en``)."""
    zh = not lang.startswith("en")
    return _say(rule, zh, top=True)


def _say(rule: Rule, zh: bool, *, top: bool = False) -> str:
    match rule:
        case All(()):
            return "所有已登记居民" if zh else "every registered resident"
        case All(rules):
            text = ("，且" if zh else "; and ").join(_part(r, zh) for r in rules)
            return text if top or len(rules) == 1 else _wrap(text, zh)
        case AnyOf(rules):
            text = ("，或" if zh else "; or ").join(_part(r, zh) for r in rules)
            return text if top or len(rules) == 1 else _wrap(text, zh)
        case Not(inner):
            return f"不满足：{_part(inner, zh)}" if zh else f"not: {_part(inner, zh)}"
        case RegionIn(codes):
            places = ("、" if zh else ", ").join(_region(c, zh) for c in codes)
            return f"所在地区属于 {places}" if zh else f"lives in region {_or(codes, places)}"
        case AgeBetween(low, high):
            return _age(low, high, zh)
        case IncomeGroupIn(groups):
            names = [_INCOME[g][0 if zh else 1] for g in groups]
            if zh:
                return f"家庭收入类别为{'或'.join(names)}"
            return f"household income group is {' or '.join(names)}"
        case Disabled(value):
            if zh:
                return "持有残疾人证" if value else "未登记残疾"
            return "has a registered disability" if value else "has no registered disability"
        case PriorityGroupIn(groups):
            names = [_PRIORITY[g][0 if zh else 1] for g in groups]
            if zh:
                return f"属于优先群体：{'或'.join(names)}"
            return f"belongs to a priority group: {' or '.join(names)}"
    raise TypeError(f"not a rule: {rule!r}")


def _or(codes: tuple[str, ...], joined: str) -> str:
    return joined if len(codes) == 1 else f"one of {joined}"


def _part(rule: Rule, zh: bool) -> str:
    return _say(rule, zh)


def _wrap(text: str, zh: bool) -> str:
    return f"（{text}）" if zh else f"({text})"


def _age(low: int | None, high: int | None, zh: bool) -> str:
    if low is not None and high is not None:
        if low == high:
            return f"年龄为 {low} 周岁" if zh else f"aged {low}"
        return f"年龄在 {low} 至 {high} 周岁之间（含）" if zh else f"aged {low} to {high}"
    if low is not None:
        return f"年龄在 {low} 周岁及以上" if zh else f"aged {low} or over"
    return f"年龄在 {high} 周岁及以下" if zh else f"aged {high} or under"
