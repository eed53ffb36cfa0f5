"""The checks a batch's rules pass when it is created and when its draft is changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from quan.domain.batches import INVALID_BATCH, Allocation, BatchRules, Quota, check_rules, total_fen
from quan.domain.eligibility import Rule
from quan.domain.eligibility_json import parse_rule
from quan.domain.errors import QuanError
from quan.services.issuance.voucher_types import VoucherType


@dataclass(frozen=True, slots=True)
class NewBatch:
    program_id: str
    voucher_type_id: str
    name: str
    quantity: int
    allocation: Allocation
    claim_opens_at: datetime
    claim_closes_at: datetime
    per_citizen_limit: int = 1
    eligibility: Mapping[str, Any] | None = None  # JSON rule; None admits everyone
    reserved: tuple[Quota, ...] = ()


def checked_rules(cmd: NewBatch, vt: VoucherType, now: datetime) -> Rule:
    """Check a new or changed batch's rules against its voucher type and now (refusals name the
    field); answers its eligibility rule, parsed."""
    check_rules(
        BatchRules(
            quantity=cmd.quantity,
            allocation=cmd.allocation,
            per_citizen_limit=cmd.per_citizen_limit,
            claim_opens_at=cmd.claim_opens_at,
            claim_closes_at=cmd.claim_closes_at,
            quotas=cmd.reserved,
        )
    )
    if cmd.claim_closes_at <= now:
        raise QuanError(INVALID_BATCH, field="claim_closes_at", reason="in_the_past")
    until = vt.spec.validity.valid_until
    if until is not None and until <= cmd.claim_opens_at:
        raise QuanError(
            INVALID_BATCH, field="voucher_type_id", reason="validity_ends_before_claims"
        )
    eligibility = parse_rule(cmd.eligibility)
    total_fen(cmd.quantity, vt.spec.unit_fen)
    return eligibility
