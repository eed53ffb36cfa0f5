"""Drafts: changing or deleting a voucher type or a batch before it counts, and closing a batch
that has issued what it will issue, releasing what it still reserves.

- A **voucher type** can be changed or deleted while no batch uses it (afterwards its rules are
  what vouchers were issued under): ``VOUCHER_TYPE_IN_USE`` otherwise.
- A **batch** can be changed or deleted while it is a ``draft`` (nothing reserved, no voucher):
  ``BATCH_NOT_DRAFT`` otherwise. Its allocation stays (a lottery's commitment was published when
  it was created); to change it, delete the draft and define a new batch.
- **Close and release** (:func:`close_and_release`): a sold-out first-come batch, or a lottery
  after its draw, is closed and its unclaimed vouchers recycled in the same transaction — the
  money goes from ``reserved:<batch>`` back to ``available`` at once instead of at the next
  recycling run. A lottery is refused before its draw (``LOTTERY_NOT_DRAWN``): closing it would
  make the draw impossible.

Every change is logged (``voucher_type.updated`` / ``.deleted``, ``batch.updated`` /
``.deleted``), so the transparency log keeps each version of the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from quan.domain.auth import Actor
from quan.domain.batches import (
    INVALID_BATCH,
    Allocation,
    BatchStatus,
)
from quan.domain.canonical import canonical_json
from quan.domain.eligibility import rule_to_json
from quan.domain.errors import Kind, QuanError, define
from quan.domain.names import check_name
from quan.domain.programs import PROGRAM_CLOSED, ProgramStatus
from quan.domain.voucher_type_json import parse_voucher_type, voucher_type_to_json
from quan.domain.voucher_types import ScopeKind
from quan.services.issuance import voucher_types as types
from quan.services.issuance.batch_rules import checked_rules
from quan.services.issuance.batches import (
    Batch,
    NewBatch,
    close_batch,
    get_batch,
    rules_payload,
)
from quan.services.issuance.recycling import Released, recycle_batch
from quan.services.money.programs import visible_program
from quan.store.events import record_event
from quan.store.lottery_tables import lottery_draws
from quan.store.share_tables import share_caps
from quan.store.voucher_tables import batch_quotas, batches, voucher_types

VOUCHER_TYPE_IN_USE = define(
    "VOUCHER_TYPE_IN_USE",
    Kind.CONFLICT,
    zh="该券种已被批次使用，不能再修改或删除；如需不同规则，请新建券种",
    en="A batch uses this voucher type, so it can no longer be changed or deleted; "
    "define a new type for other rules",
)
BATCH_NOT_DRAFT = define(
    "BATCH_NOT_DRAFT",
    Kind.CONFLICT,
    zh="只有草稿批次可以修改或删除（当前状态：{batch_status}）",
    en="Only a draft batch can be changed or deleted (it is {batch_status})",
)
ALLOCATION_FIXED = define(
    "BATCH_ALLOCATION_FIXED",
    Kind.INVALID,
    zh="草稿的发放方式不能更改；如需其他方式，请删除草稿后新建批次",
    en="A draft's allocation cannot change; delete the draft and define a new batch instead",
)
LOTTERY_NOT_DRAWN = define(
    "LOTTERY_NOT_DRAWN",
    Kind.CONFLICT,
    zh="摇号尚未开奖，不能关闭批次并释放预留资金；请先开奖",
    en="The lottery has not been drawn; draw it before closing the batch and releasing its money",
)


# --- voucher types ---------------------------------------------------------------------------


def _unused_type(tx: Connection, actor: Actor, voucher_type_id: str) -> types.VoucherType:
    vt = types.visible_voucher_type(tx, actor, voucher_type_id)
    program = visible_program(tx, actor, vt.program_id, for_update=True)
    if program.status is ProgramStatus.CLOSED:
        raise QuanError(PROGRAM_CLOSED)
    used = tx.execute(
        select(func.count()).select_from(batches).where(batches.c.voucher_type_id == vt.id)
    ).scalar_one()
    if used:
        raise QuanError(VOUCHER_TYPE_IN_USE)
    return vt


def update_voucher_type(
    tx: Connection,
    now: datetime,
    actor: Actor,
    voucher_type_id: str,
    definition: Mapping[str, Any],
) -> types.VoucherType:
    """Replace an unused type's definition (validated as when it was created)."""
    vt = _unused_type(tx, actor, voucher_type_id)
    spec = parse_voucher_type(definition)
    if spec.scope.kind is ScopeKind.MERCHANTS:
        program = visible_program(tx, actor, vt.program_id)
        types._check_merchants(tx, program.issuer_id, spec.scope.merchant_ids)
    canonical = voucher_type_to_json(spec)
    d, v = spec.discount, spec.validity
    tx.execute(
        update(voucher_types)
        .where(voucher_types.c.id == vt.id)
        .values(
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
        )
    )
    record_event(
        tx,
        type="voucher_type.updated",
        actor=actor,
        subject_type="voucher_type",
        subject_id=vt.id,
        program_id=vt.program_id,
        at=now,
        payload={"definition": canonical, "unit_fen": d.unit_fen},
    )
    return types.get_voucher_type(tx, vt.id)


def delete_voucher_type(tx: Connection, now: datetime, actor: Actor, voucher_type_id: str) -> str:
    """Delete an unused type; returns its program's id."""
    vt = _unused_type(tx, actor, voucher_type_id)
    tx.execute(delete(voucher_types).where(voucher_types.c.id == vt.id))
    record_event(
        tx,
        type="voucher_type.deleted",
        actor=actor,
        subject_type="voucher_type",
        subject_id=vt.id,
        program_id=vt.program_id,
        at=now,
        payload={},
    )
    return vt.program_id


# --- batches ---------------------------------------------------------------------------------


def _draft(tx: Connection, actor: Actor, batch_id: str) -> Batch:
    """The draft, with its program row and then its batch row locked (the usual order)."""
    peek = get_batch(tx, batch_id)
    program = visible_program(tx, actor, peek.program_id, for_update=True)
    if program.status is ProgramStatus.CLOSED:
        raise QuanError(PROGRAM_CLOSED)
    batch = get_batch(tx, batch_id, for_update=True)
    if batch.status is not BatchStatus.DRAFT:
        raise QuanError(BATCH_NOT_DRAFT, batch_status=batch.status.value)
    return batch


def update_batch(
    tx: Connection, now: datetime, actor: Actor, batch_id: str, cmd: NewBatch
) -> Batch:
    """Replace a draft's rules, checked as when a batch is created."""
    batch = _draft(tx, actor, batch_id)
    if cmd.allocation is not batch.rules.allocation:
        raise QuanError(ALLOCATION_FIXED)
    vt = types.get_voucher_type(tx, cmd.voucher_type_id)
    if vt.program_id != batch.program_id:
        raise QuanError(INVALID_BATCH, field="voucher_type_id", reason="other_program")
    eligibility = checked_rules(cmd, vt, now)
    tx.execute(
        update(batches)
        .where(batches.c.id == batch.id, batches.c.status == BatchStatus.DRAFT.value)
        .values(
            voucher_type_id=vt.id,
            name=check_name(cmd.name, field="name", max_length=100) if cmd.name else "",
            quantity=cmd.quantity,
            per_citizen_limit=cmd.per_citizen_limit,
            unit_fen=vt.spec.unit_fen,
            claim_opens_at=cmd.claim_opens_at,
            claim_closes_at=cmd.claim_closes_at,
            eligibility=canonical_json(rule_to_json(eligibility)),
            updated_at=now,
        )
    )
    tx.execute(delete(batch_quotas).where(batch_quotas.c.batch_id == batch.id))
    if cmd.reserved:
        tx.execute(
            insert(batch_quotas),
            [
                {
                    "batch_id": batch.id,
                    "pool": q.group.value,
                    "quantity": q.quantity,
                    "opens_at": q.opens_at,
                    "release_at": q.release_at,
                    "tickets": q.tickets,
                }
                for q in cmd.reserved
            ],
        )
    updated = get_batch(tx, batch.id)
    record_event(
        tx,
        type="batch.updated",
        actor=actor,
        subject_type="batch",
        subject_id=batch.id,
        program_id=batch.program_id,
        at=now,
        payload=rules_payload(updated),
    )
    return updated


def delete_batch(tx: Connection, now: datetime, actor: Actor, batch_id: str) -> str:
    """Delete a draft (and a lottery draft's unused commitment); returns its program's id."""
    batch = _draft(tx, actor, batch_id)
    tx.execute(delete(batch_quotas).where(batch_quotas.c.batch_id == batch.id))
    tx.execute(delete(share_caps).where(share_caps.c.batch_id == batch.id))
    tx.execute(delete(lottery_draws).where(lottery_draws.c.batch_id == batch.id))
    tx.execute(
        delete(batches).where(batches.c.id == batch.id, batches.c.status == BatchStatus.DRAFT.value)
    )
    record_event(
        tx,
        type="batch.deleted",
        actor=actor,
        subject_type="batch",
        subject_id=batch.id,
        program_id=batch.program_id,
        at=now,
        payload={},
    )
    return batch.program_id


def close_and_release(tx: Connection, now: datetime, actor: Actor, batch_id: str) -> Released:
    """Close an open batch (a lottery only after its draw) and recycle its unclaimed vouchers
    at once; a closed batch is recycled. What was released is returned."""
    batch = get_batch(tx, batch_id)
    visible_program(tx, actor, batch.program_id)
    if batch.status is BatchStatus.OPEN:
        if batch.rules.allocation is Allocation.LOTTERY:
            drawn = tx.execute(
                select(lottery_draws.c.drawn_at).where(lottery_draws.c.batch_id == batch.id)
            ).scalar_one_or_none()
            if drawn is None:
                raise QuanError(LOTTERY_NOT_DRAWN)
        close_batch(tx, now, actor, batch.id)
    return recycle_batch(tx, now, actor, batch.id)
