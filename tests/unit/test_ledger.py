"""Ledger rules: balanced entries only, and the budget identity follows from them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quan.domain.ledger import (
    Bucket,
    JournalEntry,
    Posting,
    UnbalancedEntryError,
    Violations,
    budget_from_buckets,
    check_account_balances,
    check_entry_sums,
    contribution,
    return_to_funder,
    transfer,
)


def test_entry_whose_postings_do_not_sum_to_zero_is_refused() -> None:
    with pytest.raises(UnbalancedEntryError):
        JournalEntry("x", (Posting(Bucket.AVAILABLE, 100), Posting(Bucket.FUNDING, -99, "f")))


def test_entry_with_a_single_posting_is_refused() -> None:
    with pytest.raises(UnbalancedEntryError):
        JournalEntry("x", (Posting(Bucket.AVAILABLE, 0),))


def test_zero_and_float_postings_are_refused() -> None:
    with pytest.raises(UnbalancedEntryError):
        JournalEntry("x", (Posting(Bucket.AVAILABLE, 0), Posting(Bucket.FUNDING, 0, "f")))
    with pytest.raises(UnbalancedEntryError):
        JournalEntry("x", (Posting(Bucket.AVAILABLE, 1.5), Posting(Bucket.FUNDING, -1.5, "f")))  # type: ignore[arg-type]


def test_transfer_of_non_positive_amount_is_refused() -> None:
    with pytest.raises(UnbalancedEntryError):
        transfer("x", 0, Posting(Bucket.AVAILABLE, 0), Posting(Bucket.RESERVED, 0, "b"))


def test_contribution_credits_the_funder_and_fills_available() -> None:
    entry = contribution("fdr_1", 500)
    assert {(p.bucket, p.ref, p.amount_fen) for p in entry.postings} == {
        (Bucket.FUNDING, "fdr_1", -500),
        (Bucket.AVAILABLE, "", 500),
    }


def test_budget_view_reads_funded_as_the_negated_funding_balance() -> None:
    budget = budget_from_buckets({"funding": -1000, "available": 600, "reserved": 300, "paid": 100})
    assert budget.funded_fen == 1000
    assert budget.identity_holds


def test_negative_holding_account_is_a_violation() -> None:
    violations = Violations()
    check_account_balances(
        "p", [("funding", "f", -10), ("available", "", -5), ("reserved", "b", 15)], violations
    )
    assert any("negative" in v for v in violations.items)


def test_unbalanced_stored_entry_is_a_violation() -> None:
    violations = Violations()
    check_entry_sums([("je_1", 0, 2), ("je_2", 7, 2), ("je_3", 0, 1)], violations)
    assert len(violations.items) == 2


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["contribute", "return", "reserve", "redeem", "pay", "release"]),
            st.integers(min_value=1, max_value=10**9),
            st.sampled_from(["f1", "f2"]),
        ),
        max_size=60,
    )
)
def test_any_sequence_of_valid_movements_keeps_the_identity(
    ops: list[tuple[str, int, str]],
) -> None:
    """Applying only moves that the balances allow, the identity and non-negativity always hold."""
    balances: dict[tuple[str, str], int] = {}

    def bal(bucket: Bucket, ref: str = "") -> int:
        return balances.get((bucket.value, ref), 0)

    for op, amount, funder in ops:
        if op == "contribute":
            entry = contribution(funder, amount)
        elif op == "return":
            net = -bal(Bucket.FUNDING, funder) - bal(Bucket.RETURNED, funder)
            amount = min(amount, bal(Bucket.AVAILABLE), net)
            if amount <= 0:
                continue
            entry = return_to_funder(funder, amount)
        else:
            source, target = {
                "reserve": (Posting(Bucket.AVAILABLE, 0), Posting(Bucket.RESERVED, 0, "b")),
                "redeem": (Posting(Bucket.RESERVED, 0, "b"), Posting(Bucket.PAYABLE, 0, "m")),
                "pay": (Posting(Bucket.PAYABLE, 0, "m"), Posting(Bucket.PAID, 0, "m")),
                "release": (Posting(Bucket.RESERVED, 0, "b"), Posting(Bucket.AVAILABLE, 0)),
            }[op]
            amount = min(amount, bal(source.bucket, source.ref))
            if amount <= 0:
                continue
            entry = transfer(op, amount, source, target)
        for p in entry.postings:
            key = (p.bucket.value, p.ref)
            balances[key] = balances.get(key, 0) + p.amount_fen

    violations = Violations()
    budget = check_account_balances("p", [(b, r, v) for (b, r), v in balances.items()], violations)
    assert not violations.items
    assert budget.identity_holds
