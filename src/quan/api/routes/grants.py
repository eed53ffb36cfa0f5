"""Targeted grants: an operator grants a ``grant`` batch's vouchers to a segment or a list."""

from __future__ import annotations

from fastapi import APIRouter

from quan.api.schemas.lottery import GrantCreate, GrantOut
from quan.edge.deps import OperatorOrAdmin, RuntimeDep
from quan.services.issuance import grants

router = APIRouter(tags=["grants"])


@router.post("/batches/{batch_id}/grants", response_model=GrantOut)
def grant(batch_id: str, body: GrantCreate, actor: OperatorOrAdmin, rt: RuntimeDep) -> GrantOut:
    """Grant one voucher each to a segment (``segment``: an eligibility rule over citizens'
    attributes) or a list (``citizen_ids``). Idempotent per citizen: re-running issues nothing
    twice. Never beyond the batch quantity (the rest is ``unserved``).

    Refusals: 422 ``INVALID_GRANT``, ``INVALID_RULE``; 409 ``WRONG_ALLOCATION``,
    ``BATCH_NOT_OPEN``."""
    with rt.db.write() as tx:
        report = grants.grant(
            tx,
            rt.clock.now(),
            actor,
            batch_id,
            segment=body.segment,
            citizen_ids=body.citizen_ids,
        )
    return GrantOut(
        batch_id=report.batch_id,
        targeted=report.targeted,
        issued=report.issued,
        already_granted=report.already_granted,
        skipped=report.skipped,
        unserved=report.unserved,
    )
