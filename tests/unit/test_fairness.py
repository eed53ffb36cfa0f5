"""Gini coefficient and under-served flags (quan.domain.fairness)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.fairness import figures, gini, share, under_served

counts = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=30)


def test_gini_of_equal_values_is_zero() -> None:
    assert gini([5, 5, 5, 5]) == 0.0


def test_gini_when_one_of_n_holds_everything_is_n_minus_one_over_n() -> None:
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)


def test_gini_of_hand_computed_list() -> None:
    # |1-2|+|1-3|+|2-3| = 4, doubled 8; 2 n² μ = 2·9·2 = 36
    assert gini([1, 2, 3]) == pytest.approx(8 / 36)


def test_gini_of_empty_or_all_zero_is_zero() -> None:
    assert gini([]) == 0.0
    assert gini([0, 0]) == 0.0


def test_gini_ignores_zero_weights() -> None:
    assert gini([1, 100], [1, 0]) == 0.0


def test_gini_refuses_negative_values_and_mismatched_weights() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        gini([-1, 2])
    with pytest.raises(ValueError, match="length"):
        gini([1, 2], [1])


@given(counts)
def test_gini_lies_between_zero_and_one(values: list[int]) -> None:
    assert 0.0 <= gini(values) <= 1.0


@given(counts, st.randoms())
def test_gini_does_not_depend_on_order(values: list[int], rnd: object) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert gini(shuffled) == pytest.approx(gini(values), abs=1e-9)


@given(counts, st.integers(min_value=1, max_value=50))
def test_gini_is_scale_invariant(values: list[int], factor: int) -> None:
    assert gini([v * factor for v in values]) == pytest.approx(gini(values), abs=1e-9)


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=100), st.integers(min_value=1, max_value=5)),
        min_size=1,
        max_size=12,
    )
)
def test_integer_weights_equal_repeating_the_value(pairs: list[tuple[int, int]]) -> None:
    expanded = [x for x, w in pairs for _ in range(w)]
    weighted = gini([x for x, _ in pairs], [w for _, w in pairs])
    assert weighted == pytest.approx(gini(expanded), abs=1e-9)


@given(counts)
def test_brute_force_agrees(values: list[int]) -> None:
    n = len(values)
    mean = sum(values) / n
    expected = (
        0.0 if mean == 0 else sum(abs(a - b) for a in values for b in values) / (2 * n * n * mean)
    )
    assert gini(values) == pytest.approx(expected, abs=1e-9)


def test_group_is_under_served_below_four_fifths_of_its_population_share() -> None:
    # 50% of the population, 39% of claims: 0.39 < 0.8 × 0.5 = 0.40
    assert under_served(39, 100, 50, 100)
    assert not under_served(40, 100, 50, 100)


def test_nothing_is_flagged_without_claims_or_members() -> None:
    assert not under_served(0, 0, 50, 100)
    assert not under_served(0, 10, 0, 100)


def test_figures_compute_shares() -> None:
    row = figures("elderly", 2, 1, 0, 0, 4, 4)
    assert (row.population_share, row.claim_share, row.under_served) == (0.5, 0.25, True)
    assert share(1, 0) == 0.0
