"""Funding rules: funder kinds, and when moving money needs a second person (maker-checker)."""

from __future__ import annotations

from enum import StrEnum

from quan.domain.errors import Kind, QuanError, define


class FunderKind(StrEnum):
    DEPARTMENT = "department"  # a government department, e.g. the finance bureau
    REGION = "region"  # a transfer from another region
    BANK = "bank"
    SPONSOR = "sponsor"  # a sponsoring company
    BOND = "bond"  # bond proceeds


class Direction(StrEnum):
    CONTRIBUTION = "contribution"
    RETURN = "return"


class MovementStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


SAME_PERSON = define(
    "MAKER_CHECKER_SAME_PERSON",
    Kind.FORBIDDEN,
    zh="发起人不能审批自己发起的资金变动，需由另一名操作员审批",
    en="The person who requested a money movement cannot approve it; a second person must",
)
NOT_PENDING = define(
    "MOVEMENT_NOT_PENDING",
    Kind.CONFLICT,
    zh="该资金变动已处理（当前状态：{movement_status}）",
    en="This money movement has already been decided (status: {movement_status})",
)
INSUFFICIENT_AVAILABLE = define(
    "INSUFFICIENT_BUDGET",
    Kind.CONFLICT,
    zh="可用预算不足：需要 {needed_fen} 分，可用 {available_fen} 分",
    en="Not enough available budget: {needed_fen} fen needed, {available_fen} fen available",
)
EXCEEDS_FUNDER_SHARE = define(
    "EXCEEDS_FUNDER_CONTRIBUTION",
    Kind.CONFLICT,
    zh="退回金额超过该出资方的净出资：可退 {returnable_fen} 分",
    en="The return exceeds what this funder has put in: {returnable_fen} fen can be returned",
)


def needs_approval(amount_fen: int, threshold_fen: int) -> bool:
    """Strictly above the threshold needs a second person; at the threshold it does not.
    ``amount_fen`` is the cumulative amount (this request plus what went through unchecked
    today, :func:`quan.services.funding.unchecked_today`), never one request alone."""
    return amount_fen > threshold_fen


def check_checker(requested_by: str, decided_by: str) -> None:
    if requested_by == decided_by:
        raise QuanError(SAME_PERSON)


def check_pending(status: MovementStatus) -> None:
    if status is not MovementStatus.PENDING_APPROVAL:
        raise QuanError(NOT_PENDING, movement_status=status.value)


def check_return(amount_fen: int, available_fen: int, funder_net_fen: int) -> None:
    """Money goes back to a funder only from the unallocated budget and only up to its share."""
    if amount_fen > available_fen:
        raise QuanError(INSUFFICIENT_AVAILABLE, needed_fen=amount_fen, available_fen=available_fen)
    if amount_fen > funder_net_fen:
        raise QuanError(EXCEEDS_FUNDER_SHARE, returnable_fen=funder_net_fen)
