"""Voucher types of a program: define one (operators), read them (staff)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from quan.api.deps import OperatorOrAdmin, RuntimeDep, StaffReader
from quan.api.schemas.common import Limit, Page
from quan.api.schemas.vouchers import VoucherTypeCreate, VoucherTypePublic
from quan.services.issuance import voucher_types
from quan.services.money import programs
from quan.store.pagination import page
from quan.store.voucher_tables import voucher_types as voucher_types_table

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
    query = select(voucher_types_table).where(voucher_types_table.c.program_id == program_id)
    with rt.db.read() as tx:
        programs.visible_program(tx, actor, program_id)
        rows, next_cursor = page(tx, query, voucher_types_table.c.id, limit=limit, cursor=cursor)
    return Page(
        items=[VoucherTypePublic.of(voucher_types.voucher_type_from_row(r)) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/voucher-types/{voucher_type_id}", response_model=VoucherTypePublic)
def get_voucher_type(voucher_type_id: str, actor: StaffReader, rt: RuntimeDep) -> VoucherTypePublic:
    with rt.db.read() as tx:
        return VoucherTypePublic.of(voucher_types.visible_voucher_type(tx, actor, voucher_type_id))
