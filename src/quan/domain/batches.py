"""Batches (批次): one round of issuance of a voucher type, its window, its pools and lifecycle.

A batch releases ``quantity`` vouchers of one type to citizens by an allocation — ``fcfs``
(first come, first served), ``lottery`` or ``grant`` — within a claim window, at most
``per_citizen_limit`` per citizen, to those its eligibility rule admits.

Pools. A batch may reserve quotas for priority groups (R1.3): ``quantity`` splits into one pool per
reserved group and the ``general`` rest. A member of a group takes from the group's pool first
(from ``opens_at``, which may be earlier than the batch's window: early access), then from the
general pool. At its ``release_at`` a reserved pool opens to everyone. The split is fixed when the
batch opens (each voucher belongs to one pool), so releasing needs no write at all: it is a
question of which pools a claimant may take from at an instant (:func:`pools_for`).

Lifecycle::

    draft ──open──▶ open ──close──▶ closed ──recycle──▶ recycled
                      └────────────(claim window over)──recycle──┘

Opening reserves ``quantity × unit`` from the available budget; recycling returns what was not
claimed. Claims are taken only while ``open``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from quan.domain.citizens import PriorityGroup
from quan.domain.errors import Kind, QuanError, define
from quan.domain.funding import INSUFFICIENT_AVAILABLE as INSUFFICIENT_BUDGET
from quan.domain.money import MAX_AMOUNT_FEN

GENERAL = "general"  # the pool of everything not reserved for a group
MAX_QUANTITY = 2_000_000  # vouchers are pre-generated at opening; beyond this, use several batches
MAX_PER_CITIZEN = 10
NAME_LENGTH = 100


class Allocation(StrEnum):
    FCFS = "fcfs"  # 先到先得
    LOTTERY = "lottery"  # 摇号
    GRANT = "grant"  # 定向发放


class BatchStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    RECYCLED = "recycled"


class BatchAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"
    RECYCLE = "recycle"


TRANSITIONS: dict[BatchStatus, dict[BatchAction, BatchStatus]] = {
    BatchStatus.DRAFT: {BatchAction.OPEN: BatchStatus.OPEN},
    BatchStatus.OPEN: {
        BatchAction.CLOSE: BatchStatus.CLOSED,
        BatchAction.RECYCLE: BatchStatus.RECYCLED,
    },
    BatchStatus.CLOSED: {BatchAction.RECYCLE: BatchStatus.RECYCLED},
    BatchStatus.RECYCLED: {},
}

INVALID_BATCH = define(
    "INVALID_BATCH",
    Kind.INVALID,
    zh="批次设置无效（{field}：{reason}）",
    en="The batch is not valid ({field}: {reason})",
)
INVALID_QUOTA = define(
    "INVALID_QUOTA",
    Kind.INVALID,
    zh="预留名额无效（{field}：{reason}）：每个优先群体至多一项，名额之和不超过总量，"
    "释放时间须在领取期内",
    en="A reserved quota is not valid ({field}: {reason}): one per priority group, together at "
    "most the quantity, released within the claim window",
)
BATCH_TRANSITION_NOT_ALLOWED = define(
    "BATCH_TRANSITION_NOT_ALLOWED",
    Kind.CONFLICT,
    zh="批次当前状态为“{batch_status}”，不能执行“{action}”",
    en="A batch in status '{batch_status}' cannot {action}",
)
CLAIM_WINDOW_OVER = define(
    "CLAIM_WINDOW_OVER",
    Kind.CONFLICT,
    zh="该批次的领取期已于 {claim_closes_at} 结束",
    en="The batch's claim window ended at {claim_closes_at}",
)
CLAIM_WINDOW_NOT_OVER = define(
    "CLAIM_WINDOW_NOT_OVER",
    Kind.CONFLICT,
    zh="领取期尚未结束（{claim_closes_at}），请先关闭批次",
    en="The claim window is still running (until {claim_closes_at}); close the batch first",
)
CLAIM_NOT_OPEN_YET = define(
    "CLAIM_NOT_OPEN_YET",
    Kind.CONFLICT,
    zh="尚未开始领取，开始时间：{claim_opens_at}",
    en="Claims have not started yet; they open at {claim_opens_at}",
)
BATCH_AMOUNT_TOO_LARGE = define(
    "BATCH_AMOUNT_TOO_LARGE",
    Kind.INVALID,
    zh="批次总金额超出上限",
    en="The batch's total amount exceeds the maximum",
)


PROGRAM_NOT_ACTIVE = define(
    "PROGRAM_NOT_ACTIVE",
    Kind.CONFLICT,
    zh="项目当前状态为“{program_status}”，须为进行中（active）",
    en="The program is '{program_status}'; it must be active",
)


@dataclass(frozen=True, slots=True)
class Quota:
    """``quantity`` vouchers kept for ``group`` until ``release_at``; members may start at
    ``opens_at`` (``None``: when the batch's window opens)."""

    group: PriorityGroup
    quantity: int
    release_at: datetime
    opens_at: datetime | None = None
    tickets: int = 1  # lottery batches: each registrant of the group holds this many tickets


@dataclass(frozen=True, slots=True)
class BatchRules:
    """What a batch promises, fixed when it is created."""

    quantity: int
    allocation: Allocation
    per_citizen_limit: int
    claim_opens_at: datetime
    claim_closes_at: datetime
    quotas: tuple[Quota, ...] = ()

    def pool_sizes(self) -> dict[str, int]:
        """How many vouchers each pool holds: reserved groups first, then ``general``."""
        sizes = {q.group.value: q.quantity for q in self.quotas}
        sizes[GENERAL] = self.quantity - sum(sizes.values())
        return {pool: n for pool, n in sizes.items() if n > 0}

    def pools_for(self, groups: frozenset[PriorityGroup], now: datetime) -> list[str]:
        """The pools a claimant in ``groups`` may take from at ``now``, in the order to try.

        Own reserved pools first (from their ``opens_at``), then the general pool, then other
        groups' pools already released. Raises ``CLAIM_NOT_OPEN_YET`` or ``CLAIM_WINDOW_OVER``
        when the claimant may take from none because of the time.
        """
        if now >= self.claim_closes_at:
            raise QuanError(CLAIM_WINDOW_OVER, claim_closes_at=self.claim_closes_at.isoformat())
        own = [
            q.group.value
            for q in self.quotas
            if q.group in groups and (q.opens_at or self.claim_opens_at) <= now
        ]
        if now < self.claim_opens_at:
            if not own:
                opens = min(
                    [self.claim_opens_at]
                    + [q.opens_at for q in self.quotas if q.group in groups and q.opens_at]
                )
                raise QuanError(CLAIM_NOT_OPEN_YET, claim_opens_at=opens.isoformat())
            return own
        released = [q.group.value for q in self.quotas if q.release_at <= now]
        return own + [GENERAL] + [p for p in released if p not in own]


def _invalid(field: str, reason: str) -> QuanError:
    return QuanError(INVALID_BATCH, field=field, reason=reason)


def check_rules(rules: BatchRules) -> BatchRules:
    """Validate a batch's rules; returns them unchanged or raises with a code."""
    if not 1 <= rules.quantity <= MAX_QUANTITY:
        raise _invalid("quantity", f"1_to_{MAX_QUANTITY}")
    if not 1 <= rules.per_citizen_limit <= MAX_PER_CITIZEN:
        raise _invalid("per_citizen_limit", f"1_to_{MAX_PER_CITIZEN}")
    if rules.claim_opens_at >= rules.claim_closes_at:
        raise _invalid("claim_closes_at", "after_claim_opens_at")
    _check_quotas(rules)
    return rules


def _check_quotas(rules: BatchRules) -> None:
    seen: set[PriorityGroup] = set()
    for i, quota in enumerate(rules.quotas):
        field = f"reserved[{i}]"
        if quota.group in seen:
            raise QuanError(INVALID_QUOTA, field=field, reason="group_twice")
        seen.add(quota.group)
        if quota.quantity < 1:
            raise QuanError(INVALID_QUOTA, field=field, reason="quantity_positive")
        if not rules.claim_opens_at < quota.release_at <= rules.claim_closes_at:
            raise QuanError(INVALID_QUOTA, field=field, reason="release_within_window")
        if quota.opens_at is not None and quota.opens_at > rules.claim_opens_at:
            raise QuanError(INVALID_QUOTA, field=field, reason="opens_no_later_than_batch")
        if not 1 <= quota.tickets <= MAX_TICKETS:
            raise QuanError(INVALID_QUOTA, field=field, reason=f"tickets_1_to_{MAX_TICKETS}")
        if quota.tickets != 1 and rules.allocation is not Allocation.LOTTERY:
            raise QuanError(INVALID_QUOTA, field=field, reason="tickets_only_in_lotteries")
    if sum(q.quantity for q in rules.quotas) > rules.quantity:
        raise QuanError(INVALID_QUOTA, field="reserved", reason="more_than_quantity")


MAX_TICKETS = 10  # a priority group's weight in a draw: up to ten times anyone else's


def tickets_for(rules: BatchRules, groups: frozenset[PriorityGroup]) -> int:
    """A lottery registrant's tickets: the most any of their reserved groups gives, else 1."""
    return max([q.tickets for q in rules.quotas if q.group in groups], default=1)


def total_fen(quantity: int, unit_fen: int) -> int:
    """What opening reserves: ``quantity × unit``, refused beyond the platform's maximum."""
    total = quantity * unit_fen
    if total > MAX_AMOUNT_FEN:
        raise QuanError(BATCH_AMOUNT_TOO_LARGE)
    return total


def next_status(status: BatchStatus, action: BatchAction) -> BatchStatus:
    target = TRANSITIONS[status].get(action)
    if target is None:
        raise QuanError(
            BATCH_TRANSITION_NOT_ALLOWED, batch_status=status.value, action=action.value
        )
    return target


def recyclable(status: BatchStatus, claim_closes_at: datetime, now: datetime) -> bool:
    """An open batch is recycled once its window is over; a closed one at once."""
    if status is BatchStatus.CLOSED:
        return True
    return status is BatchStatus.OPEN and now >= claim_closes_at


def check_budget(needed_fen: int, available_fen: int) -> None:
    """A batch opens only if the available budget covers every one of its vouchers
    (``INSUFFICIENT_BUDGET``, the same code a return to a funder is refused with)."""
    if needed_fen > available_fen:
        raise QuanError(INSUFFICIENT_BUDGET, needed_fen=needed_fen, available_fen=available_fen)
