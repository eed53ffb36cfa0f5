"""Double-entry ledger rules: journal entries, buckets, and the invariants every program keeps.

A posting moves ``amount_fen`` into one account of a program; accounts are ``(bucket, ref)``,
where ``ref`` names the funder, batch or merchant the money sits with. Debits are positive,
credits negative, and every journal entry sums to zero. The ``funding`` bucket is the credit side
(what funders put in, negated); the other buckets hold the money, so that for every program at
every moment::

    funded = available + reserved + payable + paid + returned

follows from each entry summing to zero, and each holding bucket never goes negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Bucket(StrEnum):
    FUNDING = "funding"  # credit side: minus what each funder contributed (ref = funder)
    AVAILABLE = "available"  # budget not yet committed to any batch
    RESERVED = "reserved"  # set aside for the vouchers of an opened batch (ref = batch)
    PAYABLE = "payable"  # owed to a merchant for redeemed vouchers (ref = merchant)
    PAID = "paid"  # paid out to merchants
    RETURNED = "returned"  # handed back to funders


HOLDING = (Bucket.AVAILABLE, Bucket.RESERVED, Bucket.PAYABLE, Bucket.PAID, Bucket.RETURNED)


@dataclass(frozen=True, slots=True)
class Posting:
    bucket: Bucket
    amount_fen: int
    ref: str = ""


class UnbalancedEntryError(ValueError):
    """A journal entry whose postings do not sum to zero (a programming error, never user input)."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    kind: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise UnbalancedEntryError(f"{self.kind}: an entry needs at least two postings")
        for p in self.postings:
            if not isinstance(p.amount_fen, int) or isinstance(p.amount_fen, bool):
                raise UnbalancedEntryError(f"{self.kind}: amounts are ints of fen")
            if p.amount_fen == 0:
                raise UnbalancedEntryError(f"{self.kind}: a posting of zero moves nothing")
        total = sum(p.amount_fen for p in self.postings)
        if total != 0:
            raise UnbalancedEntryError(f"{self.kind}: postings sum to {total}, not 0")


def transfer(kind: str, amount_fen: int, source: Posting, target: Posting) -> JournalEntry:
    """Move ``amount_fen`` from one account to another (``source``/``target`` give the accounts)."""
    if amount_fen <= 0:
        raise UnbalancedEntryError(f"{kind}: a transfer moves a positive amount")
    return JournalEntry(
        kind,
        (
            Posting(source.bucket, -amount_fen, source.ref),
            Posting(target.bucket, amount_fen, target.ref),
        ),
    )


def contribution(funder_id: str, amount_fen: int) -> JournalEntry:
    return transfer(
        "contribution",
        amount_fen,
        Posting(Bucket.FUNDING, 0, funder_id),
        Posting(Bucket.AVAILABLE, 0),
    )


def return_to_funder(funder_id: str, amount_fen: int) -> JournalEntry:
    return transfer(
        "return", amount_fen, Posting(Bucket.AVAILABLE, 0), Posting(Bucket.RETURNED, 0, funder_id)
    )


def reserve(batch_id: str, amount_fen: int) -> JournalEntry:
    """Opening a batch: its vouchers' money leaves the available budget for the batch reserve."""
    return transfer(
        "reserve", amount_fen, Posting(Bucket.AVAILABLE, 0), Posting(Bucket.RESERVED, 0, batch_id)
    )


def release(kind: str, batch_id: str, amount_fen: int) -> JournalEntry:
    """Recycling: money a batch no longer needs (``kind`` says why) returns to available."""
    return transfer(
        kind, amount_fen, Posting(Bucket.RESERVED, 0, batch_id), Posting(Bucket.AVAILABLE, 0)
    )


@dataclass(frozen=True, slots=True)
class Budget:
    """The budget view of one program, all in fen."""

    funded_fen: int
    available_fen: int
    reserved_fen: int
    payable_fen: int
    paid_fen: int
    returned_fen: int

    @property
    def identity_holds(self) -> bool:
        return self.funded_fen == (
            self.available_fen
            + self.reserved_fen
            + self.payable_fen
            + self.paid_fen
            + self.returned_fen
        )


def budget_from_buckets(balances: Mapping[str, int]) -> Budget:
    """Budget view from the per-bucket sums of a program's postings."""
    return Budget(
        funded_fen=-balances.get(Bucket.FUNDING, 0),
        available_fen=balances.get(Bucket.AVAILABLE, 0),
        reserved_fen=balances.get(Bucket.RESERVED, 0),
        payable_fen=balances.get(Bucket.PAYABLE, 0),
        paid_fen=balances.get(Bucket.PAID, 0),
        returned_fen=balances.get(Bucket.RETURNED, 0),
    )


@dataclass(slots=True)
class Violations:
    """What a whole-ledger check found wrong; empty means every invariant holds."""

    items: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.items.append(message)

    def __bool__(self) -> bool:
        return bool(self.items)


def check_entry_sums(entry_sums: Iterable[tuple[str, int, int]], violations: Violations) -> None:
    """Each ``(entry_id, sum, posting_count)`` must sum to zero with at least two postings."""
    for entry_id, total, count in entry_sums:
        if total != 0:
            violations.add(f"journal entry {entry_id} sums to {total} fen, not 0")
        if count < 2:
            violations.add(f"journal entry {entry_id} has {count} posting(s); needs at least 2")


def check_account_balances(
    program_id: str, accounts: Iterable[tuple[str, str, int]], violations: Violations
) -> Budget:
    """Holding accounts never go negative, funding accounts never positive; returns the budget."""
    by_bucket: dict[str, int] = {}
    for bucket, ref, balance in accounts:
        by_bucket[bucket] = by_bucket.get(bucket, 0) + balance
        label = f"{bucket}:{ref}" if ref else bucket
        if bucket == Bucket.FUNDING and balance > 0:
            violations.add(f"program {program_id}: funding account {label} is {balance} (> 0)")
        elif bucket != Bucket.FUNDING and balance < 0:
            violations.add(f"program {program_id}: account {label} is negative ({balance} fen)")
    budget = budget_from_buckets(by_bucket)
    if not budget.identity_holds:
        violations.add(
            f"program {program_id}: funded {budget.funded_fen} != available + reserved + payable"
            f" + paid + returned"
        )
    return budget
