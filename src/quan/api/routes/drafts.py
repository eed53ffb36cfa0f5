"""Drafts and closing, for API clients: change or delete a voucher type no batch uses and a
batch still in ``draft``; close a batch that has issued what it will issue and release what it
still reserves. The same services as the console's pages (:mod:`quan.services.issuance.drafts`),
with the same refusals: ``VOUCHER_TYPE_IN_USE``, ``BATCH_NOT_DRAFT``, ``BATCH_ALLOCATION_FIXED``,
``LOTTERY_NOT_DRAWN``."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from quan.api.schemas.batches import BatchCreate, BatchPublic
from quan.api.schemas.vouchers import VoucherTypeCreate, VoucherTypePublic
from quan.edge.deps import OperatorOrAdmin, RuntimeDep
from quan.services.issuance import batches, drafts

router = APIRouter(tags=["issuance"])


class ReleasedPublic(BaseModel):
    batch_id: str
    status: str
    released_count: int
    released_fen: int


@router.put("/voucher-types/{voucher_type_id}", response_model=VoucherTypePublic)
def update_voucher_type(
    voucher_type_id: str, body: VoucherTypeCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> VoucherTypePublic:
    """Replace the definition of a voucher type no batch uses (the body of its creation);
    409 ``VOUCHER_TYPE_IN_USE`` once a batch uses it."""
    definition = body.model_dump(mode="json", exclude_none=True)
    with rt.db.write() as tx:
        vt = drafts.update_voucher_type(tx, rt.clock.now(), actor, voucher_type_id, definition)
    return VoucherTypePublic.of(vt)


@router.delete("/voucher-types/{voucher_type_id}", status_code=204, response_model=None)
def delete_voucher_type(voucher_type_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> None:
    """Delete a voucher type no batch uses; 409 ``VOUCHER_TYPE_IN_USE`` otherwise."""
    with rt.db.write() as tx:
        drafts.delete_voucher_type(tx, rt.clock.now(), actor, voucher_type_id)


@router.put("/batches/{batch_id}", response_model=BatchPublic)
def update_batch(
    batch_id: str, body: BatchCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> BatchPublic:
    """Replace a draft batch's rules (the body of its creation, checked the same way); 409
    ``BATCH_NOT_DRAFT`` once opened, 422 ``BATCH_ALLOCATION_FIXED`` for another allocation."""
    with rt.db.write() as tx:
        program_id = batches.get_batch(tx, batch_id).program_id
        batch = drafts.update_batch(tx, rt.clock.now(), actor, batch_id, body.command(program_id))
    return BatchPublic.of(batch)


@router.delete("/batches/{batch_id}", status_code=204, response_model=None)
def delete_batch(batch_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> None:
    """Delete a draft batch (nothing was reserved); 409 ``BATCH_NOT_DRAFT`` otherwise."""
    with rt.db.write() as tx:
        drafts.delete_batch(tx, rt.clock.now(), actor, batch_id)


@router.post("/batches/{batch_id}/release", response_model=ReleasedPublic)
def close_and_release(batch_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> ReleasedPublic:
    """Close an open batch (a lottery only after its draw: 409 ``LOTTERY_NOT_DRAWN``) and
    return its unclaimed vouchers' money to the available budget now, in one transaction;
    a closed batch is released the same way. 409 once released."""
    with rt.db.write() as tx:
        released = drafts.close_and_release(tx, rt.clock.now(), actor, batch_id)
        status = batches.get_batch(tx, batch_id).status.value
    return ReleasedPublic(
        batch_id=batch_id,
        status=status,
        released_count=released.count,
        released_fen=released.amount_fen,
    )
