"""Voucher types of a program: define one (operators), read them (staff)."""

from __future__ import annotations

from fastapi import APIRouter

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.vouchers import VoucherTypeCreate, VoucherTypePublic
from quan.edge.deps import OperatorOrAdmin, RuntimeDep, StaffReader
from quan.services.issuance import voucher_types

router = APIRouter(tags=["issuance"])


@router.post(
    "/programs/{program_id}/voucher-types", response_model=VoucherTypePublic, status_code=201
)
def create_voucher_type(
    program_id: str, body: VoucherTypeCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> VoucherTypePublic:
    """Define a voucher type: the discount (满减 or percent with a cap), categories, scenes,
    merchant scope, validity (absolute, ``valid_days`` or a preset), use windows and how many
    may be used in one order. Each rule is checked and refused with its own code."""
    definition = body.model_dump(mode="json", exclude_none=True)
    with rt.db.write() as tx:
        vt = voucher_types.create_voucher_type(tx, rt.clock.now(), actor, program_id, definition)
    return VoucherTypePublic.of(vt)


@router.get("/programs/{program_id}/voucher-types", response_model=Page[VoucherTypePublic])
def list_voucher_types(
    program_id: str,
    actor: StaffReader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[VoucherTypePublic]:
    with rt.db.read() as tx:
        found, next_cursor = voucher_types.list_for_program(
            tx, actor, program_id, limit=limit, cursor=cursor
        )
    return Page(items=[VoucherTypePublic.of(vt) for vt in found], next_cursor=next_cursor)


@router.get("/voucher-types/{voucher_type_id}", response_model=VoucherTypePublic)
def get_voucher_type(voucher_type_id: str, actor: StaffReader, rt: RuntimeDep) -> VoucherTypePublic:
    with rt.db.read() as tx:
        return VoucherTypePublic.of(voucher_types.visible_voucher_type(tx, actor, voucher_type_id))
