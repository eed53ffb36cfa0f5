"""Eligibility rules as data: validated on input, said in words, applied with the failing rule."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.citizens import CitizenProfile, IncomeGroup, PriorityGroup
from quan.domain.eligibility import (
    EVERYONE,
    MAX_DEPTH,
    AgeBetween,
    All,
    AnyOf,
    Disabled,
    IncomeGroupIn,
    Not,
    PriorityGroupIn,
    RegionIn,
    Rule,
    evaluate,
    holds,
    render,
    rule_to_json,
)
from quan.domain.eligibility_json import parse_rule
from quan.domain.errors import QuanError

TODAY = date(2026, 11, 25)
HANGZHOU_WEST_LAKE = "330106"


def person(**overrides: Any) -> CitizenProfile:
    values: dict[str, Any] = {
        "birth_date": date(1990, 5, 17),
        "region_code": HANGZHOU_WEST_LAKE,
        "income_group": IncomeGroup.NORMAL,
        "disabled": False,
    }
    values.update(overrides)
    return CitizenProfile(**values)


# --- validation ------------------------------------------------------------------------------


def test_missing_rule_admits_everyone() -> None:
    assert parse_rule(None) == EVERYONE
    assert holds(EVERYONE, person(), TODAY)
    assert render(EVERYONE, "zh") == "所有已登记居民"


def test_a_valid_rule_round_trips_through_its_canonical_json() -> None:
    data = {
        "all": [
            {"region_in": ["330100"]},
            {
                "any": [
                    {"age_between": {"min": 60}},
                    {"income_group_in": ["low_income", "subsistence"]},
                    {"disabled": True},
                ]
            },
            {"not": {"priority_group_in": ["elderly"]}},
        ]
    }
    rule = parse_rule(data)
    assert rule_to_json(rule) == data
    assert parse_rule(json.loads(json.dumps(rule_to_json(rule)))) == rule


P_GROUP = "$.priority_group_in[0]"
NESTED = "$.all[1].not.any[0]"
ONE_KEY = "one_key_object_required"
BAD_RULES: list[tuple[str, Any, str, str]] = [
    ("not an object", ["region_in"], "$", "one_key_object_required"),
    ("two keys", {"all": [], "any": []}, "$", "one_key_object_required"),
    ("unknown predicate", {"salary_above": 1}, "$", "unknown_predicate:salary_above"),
    ("empty any", {"any": []}, "$.any", "empty_list"),
    ("all of a non-list", {"all": {"disabled": True}}, "$.all", "list_required"),
    ("unknown region", {"region_in": ["999999"]}, "$.region_in[0]", "unknown_region_code"),
    ("region not a string", {"region_in": [330100]}, "$.region_in[0]", "string_required"),
    ("repeated region", {"region_in": ["330100", "330100"]}, "$.region_in", "duplicate_items"),
    ("age without bounds", {"age_between": {}}, "$.age_between", "bound_required"),
    ("age min above max", {"age_between": {"min": 7, "max": 6}}, "$.age_between", "min_above_max"),
    ("age as text", {"age_between": {"min": "60"}}, "$.age_between.min", "age_out_of_range"),
    ("age as boolean", {"age_between": {"max": True}}, "$.age_between.max", "age_out_of_range"),
    ("age negative", {"age_between": {"min": -1}}, "$.age_between.min", "age_out_of_range"),
    ("age extra key", {"age_between": {"avg": 2}}, "$.age_between", "min_max_object_required"),
    ("unknown income", {"income_group_in": ["x"]}, "$.income_group_in[0]", "unknown_income_group"),
    ("disabled as text", {"disabled": "yes"}, "$.disabled", "boolean_required"),
    ("unknown priority", {"priority_group_in": ["x"]}, P_GROUP, "unknown_priority_group"),
    ("nested error", {"all": [{"disabled": True}, {"not": {"any": [1]}}]}, NESTED, ONE_KEY),
]


@pytest.mark.parametrize(
    ("case", "data", "path", "reason"), BAD_RULES, ids=[c[0] for c in BAD_RULES]
)
def test_an_invalid_rule_is_refused_with_the_path_and_reason(
    case: str, data: Any, path: str, reason: str
) -> None:
    with pytest.raises(QuanError) as caught:
        parse_rule(data)
    assert caught.value.code == "INVALID_ELIGIBILITY_RULE"
    assert caught.value.params == {"path": path, "reason": reason}


def test_a_rule_nested_too_deep_is_refused() -> None:
    data: Any = {"disabled": True}
    for _ in range(MAX_DEPTH):
        data = {"not": data}
    with pytest.raises(QuanError) as caught:
        parse_rule(data)
    assert caught.value.params["reason"] == "too_deep"


def test_a_rule_with_too_many_nodes_is_refused() -> None:
    with pytest.raises(QuanError) as caught:
        parse_rule({"any": [{"disabled": True}] * 300})
    assert caught.value.params["reason"] == "too_many_nodes"


# --- evaluation ------------------------------------------------------------------------------


def test_a_city_covers_its_districts_and_a_province_its_cities() -> None:
    assert holds(RegionIn(("330100",)), person(region_code="330106"), TODAY)
    assert holds(RegionIn(("330000",)), person(region_code="330203"), TODAY)
    assert not holds(RegionIn(("330100",)), person(region_code="330203"), TODAY)


def test_age_bounds_are_inclusive_and_counted_on_the_given_day() -> None:
    sixty_today = person(birth_date=date(1966, 11, 25))
    sixty_tomorrow = person(birth_date=date(1966, 11, 26))
    assert holds(AgeBetween(60, None), sixty_today, TODAY)
    assert not holds(AgeBetween(60, None), sixty_tomorrow, TODAY)
    assert holds(AgeBetween(None, 59), sixty_tomorrow, TODAY)
    assert holds(AgeBetween(60, 60), sixty_today, TODAY)


def test_priority_groups_derive_from_the_attributes() -> None:
    rule = PriorityGroupIn((PriorityGroup.LOW_INCOME,))
    assert holds(rule, person(income_group=IncomeGroup.SUBSISTENCE), TODAY)
    assert not holds(rule, person(), TODAY)
    assert holds(PriorityGroupIn((PriorityGroup.DISABLED,)), person(disabled=True), TODAY)


def test_the_refusal_names_the_first_failing_rule_of_an_all() -> None:
    rule = parse_rule(
        {"all": [{"region_in": ["330100"]}, {"age_between": {"min": 60}}, {"disabled": True}]}
    )
    failure = evaluate(rule, person(), TODAY)
    assert failure is not None
    assert failure.path == "$.all[1].age_between"
    assert failure.text("zh") == "年龄在 60 周岁及以上"
    assert failure.text("en") == "aged 60 or over"
    error = failure.error()
    assert error.code == "NOT_ELIGIBLE"
    assert error.params["rule"] == "$.all[1].age_between"
    assert "年龄在 60 周岁及以上" in error.message("zh")
    assert "aged 60 or over" in error.message("en")


def test_an_any_that_fails_is_named_as_a_whole() -> None:
    rule = parse_rule({"all": [{"any": [{"disabled": True}, {"age_between": {"min": 60}}]}]})
    failure = evaluate(rule, person(), TODAY)
    assert failure is not None
    assert failure.path == "$.all[0]"
    assert failure.text("en") == "has a registered disability; or aged 60 or over"


def test_a_not_that_fails_is_named_with_what_it_negates() -> None:
    rule = parse_rule({"not": {"region_in": ["330100"]}})
    failure = evaluate(rule, person(), TODAY)
    assert failure is not None
    assert failure.path == "$"
    assert failure.text("zh") == "不满足：所在地区属于 330100（杭州市）"


def test_rules_read_as_sentences_in_both_languages() -> None:
    rule = parse_rule(
        {
            "all": [
                {"region_in": ["330100", "330200"]},
                {"any": [{"age_between": {"min": 60}}, {"income_group_in": ["subsistence"]}]},
            ]
        }
    )
    assert render(rule, "zh") == (
        "所在地区属于 330100（杭州市）、330200（宁波市），"
        "且（年龄在 60 周岁及以上，或家庭收入类别为低保家庭）"
    )
    assert render(rule, "en") == (
        "lives in region one of 330100 (Hangzhou), 330200 (Ningbo); and (aged 60 or over; or "
        "household income group is subsistence allowance (dibao))"
    )


# --- properties ------------------------------------------------------------------------------

REGIONS = ["330100", "330106", "330200", "330000", "110105"]
profiles = st.builds(
    CitizenProfile,
    birth_date=st.dates(min_value=date(1920, 1, 1), max_value=date(2026, 11, 25)),
    region_code=st.sampled_from(["330106", "330203", "110105", "440305"]),
    income_group=st.sampled_from(list(IncomeGroup)),
    disabled=st.booleans(),
)


def _age_rule(bounds: tuple[int | None, int | None]) -> Rule:
    low, high = bounds
    if low is not None and high is not None and low > high:
        low, high = high, low
    return AgeBetween(low, high)


ages = (
    st.tuples(st.none() | st.integers(0, 110), st.none() | st.integers(0, 110))
    .filter(lambda b: b != (None, None))
    .map(_age_rule)
)

leaves: st.SearchStrategy[Rule] = st.one_of(
    st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3, unique=True).map(
        lambda r: RegionIn(tuple(r))
    ),
    ages,
    st.lists(st.sampled_from(list(IncomeGroup)), min_size=1, unique=True).map(
        lambda g: IncomeGroupIn(tuple(g))
    ),
    st.booleans().map(Disabled),
    st.lists(st.sampled_from(list(PriorityGroup)), min_size=1, unique=True).map(
        lambda g: PriorityGroupIn(tuple(g))
    ),
)
rules: st.SearchStrategy[Rule] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda r: All(tuple(r))),
        st.lists(inner, min_size=1, max_size=3).map(lambda r: AnyOf(tuple(r))),
        inner.map(Not),
    ),
    max_leaves=12,
)


def reference(rule: Rule, profile: CitizenProfile, on: date) -> bool:
    """An independent reading of the rule's meaning, written from the module's docstring."""
    age = on.year - profile.birth_date.year - (
        (on.month, on.day) < (profile.birth_date.month, profile.birth_date.day)
    )
    match rule:
        case All(items):
            return all(reference(r, profile, on) for r in items)
        case AnyOf(items):
            return any(reference(r, profile, on) for r in items)
        case Not(inner):
            return not reference(inner, profile, on)
        case RegionIn(codes):
            return any(_within(profile.region_code, c) for c in codes)
        case AgeBetween(low, high):
            return (low is None or age >= low) and (high is None or age <= high)
        case IncomeGroupIn(groups):
            return profile.income_group in groups
        case Disabled(value):
            return profile.disabled == value
        case PriorityGroupIn(groups):
            member = {
                PriorityGroup.ELDERLY: age >= 60,
                PriorityGroup.LOW_INCOME: profile.income_group is not IncomeGroup.NORMAL,
                PriorityGroup.DISABLED: profile.disabled,
            }
            return any(member[g] for g in groups)
    raise AssertionError(rule)


def _within(region: str, area: str) -> bool:
    level = 6
    while level > 2 and area[level - 2 : level] == "00":
        level -= 2
    return region[:level] == area[:level]


def _node(data: Any, path: str) -> Any:
    """Follow a failure path like ``$.all[1].not`` into the rule's JSON."""
    node = data
    for part in path.removeprefix("$").split(".")[1:]:
        key, _, index = part.partition("[")
        node = node[key]
        if index:
            node = node[int(index.rstrip("]"))]
    return node


@given(rules)
def test_every_rule_round_trips_through_json(rule: Rule) -> None:
    assert parse_rule(json.loads(json.dumps(rule_to_json(rule)))) == rule


@given(rules, profiles)
def test_evaluation_agrees_with_the_meaning_of_the_rule(
    rule: Rule, profile: CitizenProfile
) -> None:
    assert holds(rule, profile, TODAY) == reference(rule, profile, TODAY)


@given(rules, profiles)
def test_a_refusal_points_at_a_node_of_the_rule_that_fails(
    rule: Rule, profile: CitizenProfile
) -> None:
    failure = evaluate(rule, profile, TODAY)
    if failure is None:
        return
    # A failing leaf's path names the predicate inside its node; composites name their node.
    path = failure.path.rsplit(".", 1)[0] if _is_leaf(failure.rule) else failure.path
    node = _node(rule_to_json(rule), path)
    assert parse_rule(node) == failure.rule
    assert not holds(failure.rule, profile, TODAY)


def _is_leaf(rule: Rule) -> bool:
    return not isinstance(rule, All | AnyOf | Not)


@given(rules, profiles)
def test_double_negation_and_de_morgan_hold(rule: Rule, profile: CitizenProfile) -> None:
    assert holds(Not(Not(rule)), profile, TODAY) == holds(rule, profile, TODAY)
    pair = (rule, Disabled(True))
    assert holds(Not(All(pair)), profile, TODAY) == holds(
        AnyOf(tuple(Not(r) for r in pair)), profile, TODAY
    )


@given(rules)
def test_every_rule_can_be_said_in_both_languages(rule: Rule) -> None:
    for lang in ("zh", "en"):
        text = render(rule, lang)
        assert text
        assert "{" not in text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["all", "any", "not", "region_in", "age_between", "disabled", "x"]),
        inner,
        max_size=2,
    ),
    max_leaves=10,
)


@given(json_values)
def test_any_json_is_either_a_rule_or_refused_with_the_rule_code(data: Any) -> None:
    code = None
    try:
        parse_rule(data)
    except QuanError as exc:
        code = exc.code
    assert code in (None, "INVALID_ELIGIBILITY_RULE")
