"""Batch rules: validation, pools and reserved quotas, lifecycle, and the money they move."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain import ledger
from quan.domain.batches import (
    GENERAL,
    Allocation,
    BatchAction,
    BatchRules,
    BatchStatus,
    Quota,
    check_budget,
    check_rules,
    next_status,
    recyclable,
    tickets_for,
    total_fen,
)
from quan.domain.citizens import PriorityGroup
from quan.domain.errors import QuanError
from quan.domain.money import MAX_AMOUNT_FEN

OPENS = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday 10:00 in Shanghai
CLOSES = OPENS + timedelta(days=2)
RELEASE = OPENS + timedelta(hours=4)
NOBODY: frozenset[PriorityGroup] = frozenset()
ELDERLY = frozenset({PriorityGroup.ELDERLY})

RULES = BatchRules(
    quantity=100,
    allocation=Allocation.FCFS,
    per_citizen_limit=1,
    claim_opens_at=OPENS,
    claim_closes_at=CLOSES,
    quotas=(
        Quota(PriorityGroup.ELDERLY, 20, RELEASE, opens_at=OPENS - timedelta(hours=1)),
        Quota(PriorityGroup.DISABLED, 10, RELEASE),
    ),
)


def _refused(rules: BatchRules) -> QuanError:
    with pytest.raises(QuanError) as caught:
        check_rules(rules)
    return caught.value


def test_valid_rules_pass_unchanged() -> None:
    assert check_rules(RULES) is RULES


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 2_000_001}, "quantity"),
        ({"per_citizen_limit": 0}, "per_citizen_limit"),
        ({"per_citizen_limit": 11}, "per_citizen_limit"),
        ({"claim_closes_at": OPENS}, "claim_closes_at"),
    ],
)
def test_quantity_limit_and_window_are_checked(change: dict[str, object], field: str) -> None:
    error = _refused(replace(RULES, **change))  # type: ignore[arg-type]
    assert error.code == "INVALID_BATCH"
    assert error.params["field"] == field


@pytest.mark.parametrize(
    ("quotas", "reason"),
    [
        ((Quota(PriorityGroup.ELDERLY, 1, RELEASE),) * 2, "group_twice"),
        ((Quota(PriorityGroup.ELDERLY, 0, RELEASE),), "quantity_positive"),
        ((Quota(PriorityGroup.ELDERLY, 1, OPENS),), "release_within_window"),
        ((Quota(PriorityGroup.ELDERLY, 1, CLOSES + timedelta(1)),), "release_within_window"),
        (
            (Quota(PriorityGroup.ELDERLY, 1, RELEASE, opens_at=OPENS + timedelta(minutes=1)),),
            "opens_no_later_than_batch",
        ),
        (
            (Quota(PriorityGroup.ELDERLY, 60, RELEASE), Quota(PriorityGroup.DISABLED, 41, RELEASE)),
            "more_than_quantity",
        ),
    ],
)
def test_reserved_quotas_are_checked(quotas: tuple[Quota, ...], reason: str) -> None:
    error = _refused(replace(RULES, quotas=quotas))
    assert error.code == "INVALID_QUOTA"
    assert error.params["reason"] == reason


def test_pools_split_the_quantity_between_reserved_groups_and_the_rest() -> None:
    assert RULES.pool_sizes() == {"elderly": 20, "disabled": 10, GENERAL: 70}
    everything_reserved = replace(RULES, quotas=(Quota(PriorityGroup.ELDERLY, 100, RELEASE),))
    assert everything_reserved.pool_sizes() == {"elderly": 100}


def test_members_take_from_their_reserve_first_then_the_general_pool() -> None:
    assert RULES.pools_for(ELDERLY, OPENS) == ["elderly", GENERAL]
    both = frozenset({PriorityGroup.ELDERLY, PriorityGroup.DISABLED})
    assert RULES.pools_for(both, OPENS) == ["elderly", "disabled", GENERAL]


def test_others_take_from_the_general_pool_until_the_reserves_are_released() -> None:
    assert RULES.pools_for(NOBODY, OPENS) == [GENERAL]
    assert RULES.pools_for(NOBODY, RELEASE - timedelta(seconds=1)) == [GENERAL]
    assert RULES.pools_for(NOBODY, RELEASE) == [GENERAL, "elderly", "disabled"]
    assert RULES.pools_for(ELDERLY, RELEASE) == ["elderly", GENERAL, "disabled"]


def test_early_access_opens_only_the_groups_own_reserve() -> None:
    early = OPENS - timedelta(minutes=30)
    assert RULES.pools_for(ELDERLY, early) == ["elderly"]
    with pytest.raises(QuanError) as caught:
        RULES.pools_for(NOBODY, early)
    assert caught.value.code == "CLAIM_NOT_OPEN_YET"
    assert caught.value.params["claim_opens_at"] == OPENS.isoformat()
    with pytest.raises(QuanError) as caught:
        RULES.pools_for(frozenset({PriorityGroup.DISABLED}), early)
    assert caught.value.code == "CLAIM_NOT_OPEN_YET"


def test_the_window_ends_at_claim_closes_at_for_everyone() -> None:
    for groups in (NOBODY, ELDERLY):
        with pytest.raises(QuanError) as caught:
            RULES.pools_for(groups, CLOSES)
        assert caught.value.code == "CLAIM_WINDOW_OVER"


@given(
    st.lists(
        st.tuples(st.sampled_from(list(PriorityGroup)), st.integers(1, 40), st.integers(1, 47)),
        max_size=3,
        unique_by=lambda q: q[0],
    ),
    st.integers(1, 200),
)
def test_pools_always_add_up_to_the_quantity(
    quotas: list[tuple[PriorityGroup, int, int]], quantity: int
) -> None:
    rules = replace(
        RULES,
        quantity=quantity,
        quotas=tuple(Quota(g, n, OPENS + timedelta(hours=h)) for g, n, h in quotas),
    )
    try:
        check_rules(rules)
    except QuanError:
        assert sum(n for _, n, _ in quotas) > quantity
        return
    sizes = rules.pool_sizes()
    assert sum(sizes.values()) == quantity
    assert all(n > 0 for n in sizes.values())


def test_lifecycle_goes_draft_open_closed_recycled() -> None:
    assert next_status(BatchStatus.DRAFT, BatchAction.OPEN) is BatchStatus.OPEN
    assert next_status(BatchStatus.OPEN, BatchAction.CLOSE) is BatchStatus.CLOSED
    assert next_status(BatchStatus.CLOSED, BatchAction.RECYCLE) is BatchStatus.RECYCLED
    assert next_status(BatchStatus.OPEN, BatchAction.RECYCLE) is BatchStatus.RECYCLED
    for status, action in (
        (BatchStatus.OPEN, BatchAction.OPEN),
        (BatchStatus.DRAFT, BatchAction.RECYCLE),
        (BatchStatus.RECYCLED, BatchAction.RECYCLE),
        (BatchStatus.RECYCLED, BatchAction.CLOSE),
    ):
        with pytest.raises(QuanError) as caught:
            next_status(status, action)
        assert caught.value.code == "BATCH_TRANSITION_NOT_ALLOWED"


def test_an_open_batch_is_recycled_after_its_window_a_closed_one_at_once() -> None:
    assert not recyclable(BatchStatus.OPEN, CLOSES, CLOSES - timedelta(seconds=1))
    assert recyclable(BatchStatus.OPEN, CLOSES, CLOSES)
    assert recyclable(BatchStatus.CLOSED, CLOSES, OPENS)
    assert not recyclable(BatchStatus.DRAFT, CLOSES, CLOSES)


def test_opening_needs_the_whole_amount_available() -> None:
    check_budget(300_000, 300_000)
    with pytest.raises(QuanError) as caught:
        check_budget(300_001, 300_000)
    assert caught.value.code == "INSUFFICIENT_BUDGET"
    assert caught.value.params == {"needed_fen": 300_001, "available_fen": 300_000}


def test_a_batch_worth_more_than_the_platform_maximum_is_refused() -> None:
    assert total_fen(1000, 3000) == 3_000_000
    with pytest.raises(QuanError) as caught:
        total_fen(2_000_000, MAX_AMOUNT_FEN)
    assert caught.value.code == "BATCH_AMOUNT_TOO_LARGE"


def test_reserving_and_releasing_move_money_between_available_and_the_batch() -> None:
    reserve = ledger.reserve("bat_1", 9000)
    assert reserve.kind == "reserve"
    assert {(p.bucket, p.ref, p.amount_fen) for p in reserve.postings} == {
        (ledger.Bucket.AVAILABLE, "", -9000),
        (ledger.Bucket.RESERVED, "bat_1", 9000),
    }
    release = ledger.release("expiry", "bat_1", 3000)
    assert release.kind == "expiry"
    assert {(p.bucket, p.ref, p.amount_fen) for p in release.postings} == {
        (ledger.Bucket.RESERVED, "bat_1", -3000),
        (ledger.Bucket.AVAILABLE, "", 3000),
    }


def test_a_registrant_holds_the_most_tickets_any_of_their_reserved_groups_gives() -> None:
    rules = replace(
        RULES,
        allocation=Allocation.LOTTERY,
        quotas=(
            Quota(PriorityGroup.ELDERLY, 20, RELEASE, tickets=3),
            Quota(PriorityGroup.DISABLED, 10, RELEASE, tickets=2),
        ),
    )
    assert check_rules(rules) is rules
    assert tickets_for(rules, NOBODY) == 1
    assert tickets_for(rules, ELDERLY) == 3
    assert tickets_for(rules, frozenset({PriorityGroup.DISABLED})) == 2
    assert tickets_for(rules, ELDERLY | {PriorityGroup.DISABLED}) == 3
    assert tickets_for(rules, frozenset({PriorityGroup.LOW_INCOME})) == 1  # no reserve: 1


def test_extra_tickets_belong_to_lotteries_only() -> None:
    weighted = replace(RULES, quotas=(Quota(PriorityGroup.ELDERLY, 20, RELEASE, tickets=2),))
    assert _refused(weighted).params["reason"] == "tickets_only_in_lotteries"
