"""Voucher types: defining one for a program, reading it back.

The definition is validated by :mod:`quan.domain.voucher_types` and stored as canonical JSON next
to the columns queries need (kind, amounts, validity). An explicit merchant list must name
merchants of the program's issuer. The ``voucher_type.created`` event carries the whole
definition, so the transparency log records every rule a voucher was issued under.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from quan.domain.auth import Actor, require_issuer
from quan.domain.canonical import canonical_json
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.domain.programs import PROGRAM_CLOSED, ProgramStatus
from quan.domain.voucher_type_json import parse_voucher_type, voucher_type_to_json
from quan.domain.voucher_types import ScopeKind, VoucherTypeSpec
from quan.services.money.programs import get_program, visible_program
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchants
from quan.store.pagination import page
from quan.store.voucher_tables import voucher_types

UNKNOWN_MERCHANT_IN_SCOPE = define(
    "UNKNOWN_MERCHANT_IN_SCOPE",
    Kind.INVALID,
    zh="适用商户 {merchant_id} 不存在或不属于本发放单位",
    en="Merchant {merchant_id} does not exist or does not belong to this issuer",
)


@dataclass(frozen=True, slots=True)
class VoucherType:
    id: str
    program_id: str
    spec: VoucherTypeSpec
    created_by: str
    created_at: datetime

    @property
    def definition(self) -> dict[str, Any]:
        return voucher_type_to_json(self.spec)


def voucher_type_from_row(row: Any) -> VoucherType:
    m = row._mapping
    return VoucherType(
        id=m["id"],
        program_id=m["program_id"],
        spec=parse_voucher_type(json.loads(m["definition"])),
        created_by=m["created_by"],
        created_at=m["created_at"],
    )


def create_voucher_type(
    tx: Connection, now: datetime, actor: Actor, program_id: str, definition: Mapping[str, Any]
) -> VoucherType:
    """Validate and store a definition for a program that is not closed."""
    program = visible_program(tx, actor, program_id)
    if program.status is ProgramStatus.CLOSED:
        raise QuanError(PROGRAM_CLOSED)
    spec = parse_voucher_type(definition)
    if spec.scope.kind is ScopeKind.MERCHANTS:
        _check_merchants(tx, program.issuer_id, spec.scope.merchant_ids)
    canonical = voucher_type_to_json(spec)
    d, v = spec.discount, spec.validity
    vt = VoucherType(new_id("vtp"), program_id, spec, actor.label, now)
    tx.execute(
        insert(voucher_types).values(
            id=vt.id,
            program_id=program_id,
            name=spec.name,
            kind=d.kind.value,
            face_value_fen=d.face_value_fen,
            min_spend_fen=d.min_spend_fen,
            percent_off=d.percent_off,
            cap_fen=d.cap_fen,
            unit_fen=d.unit_fen,
            valid_from=v.valid_from,
            valid_until=v.valid_until,
            valid_days=v.valid_days,
            definition=canonical_json(canonical),
            created_by=actor.label,
            created_at=now,
        )
    )
    record_event(
        tx,
        type="voucher_type.created",
        actor=actor,
        subject_type="voucher_type",
        subject_id=vt.id,
        program_id=program_id,
        at=now,
        payload={"definition": canonical, "unit_fen": d.unit_fen},
    )
    return vt


def _check_merchants(tx: Connection, issuer_id: str, merchant_ids: tuple[str, ...]) -> None:
    found = set(
        tx.execute(
            select(merchants.c.id).where(
                merchants.c.id.in_(merchant_ids), merchants.c.issuer_id == issuer_id
            )
        ).scalars()
    )
    for merchant_id in merchant_ids:
        if merchant_id not in found:
            raise QuanError(UNKNOWN_MERCHANT_IN_SCOPE, merchant_id=merchant_id)


def get_voucher_type(tx: Connection, voucher_type_id: str) -> VoucherType:
    row = tx.execute(select(voucher_types).where(voucher_types.c.id == voucher_type_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"voucher type {voucher_type_id}")
    return voucher_type_from_row(row)


def visible_voucher_type(tx: Connection, actor: Actor, voucher_type_id: str) -> VoucherType:
    """The type, if the actor may see its program (operators only their issuer's)."""
    vt = get_voucher_type(tx, voucher_type_id)
    require_issuer(actor, get_program(tx, vt.program_id).issuer_id)
    return vt


def list_for_program(
    tx: Connection, actor: Actor, program_id: str, *, limit: int, cursor: str | None
) -> tuple[list[VoucherType], str | None]:
    """A program's voucher types, a page at a time."""
    query = select(voucher_types).where(voucher_types.c.program_id == program_id)
    visible_program(tx, actor, program_id)
    rows, next_cursor = page(tx, query, voucher_types.c.id, limit=limit, cursor=cursor)
    return [voucher_type_from_row(r) for r in rows], next_cursor
