"""Batches: defining a round of issuance, opening it (money and vouchers), closing it, reading it.

Opening is where money moves: in one transaction the program row is locked (the lock every money
movement takes first), the available budget is checked, ``quantity × unit`` is posted from
``available`` to ``reserved:<batch>``, and exactly ``quantity`` voucher rows are generated, each
in its pool and with its code. From then on a claim only gives a free row an owner: it never
inserts a voucher and never posts to the ledger.

Locks are taken in one order everywhere: the program row, then the batch row.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from quan.config import Settings
from quan.domain import ledger as rules
from quan.domain.auth import Actor, require_issuer
from quan.domain.batches import (
    CLAIM_WINDOW_OVER,
    PROGRAM_NOT_ACTIVE,
    Allocation,
    BatchAction,
    BatchRules,
    BatchStatus,
    Quota,
    check_budget,
    next_status,
    total_fen,
)
from quan.domain.canonical import canonical_json
from quan.domain.citizens import PriorityGroup
from quan.domain.eligibility import Rule, rule_to_json
from quan.domain.eligibility_json import parse_rule
from quan.domain.errors import NOT_FOUND, QuanError
from quan.domain.ledger import Bucket
from quan.domain.names import check_name
from quan.domain.programs import PROGRAM_CLOSED, ProgramStatus
from quan.domain.voucher_code import RANDOM_BYTES, new_code
from quan.services.issuance.batch_rules import NewBatch as NewBatch  # re-exported: its old home
from quan.services.issuance.batch_rules import checked_rules
from quan.services.issuance.lottery_commitment import commit
from quan.services.issuance.voucher_types import VoucherType, get_voucher_type
from quan.services.money.programs import get_program, visible_program
from quan.store import ledger
from quan.store.bulk import copy_rows
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.pagination import page
from quan.store.voucher_tables import batch_quotas, batches, status_is, vouchers

GENERATE_CHUNK = 5000  # voucher rows per INSERT at opening


@dataclass(frozen=True, slots=True)
class Batch:
    id: str
    program_id: str
    voucher_type_id: str
    name: str
    rules: BatchRules
    eligibility: Rule
    unit_fen: int
    status: BatchStatus
    opened_at: datetime | None
    closed_at: datetime | None
    recycled_at: datetime | None
    recycled_count: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def allocation(self) -> Allocation:
        return self.rules.allocation

    @property
    def reserve_fen(self) -> int:
        """What opening reserves (or reserved): every voucher at its unit value."""
        return self.rules.quantity * self.unit_fen


def _quota(row: Any) -> Quota:
    m = row._mapping
    return Quota(
        group=PriorityGroup(m["pool"]),
        quantity=int(m["quantity"]),
        release_at=m["release_at"],
        opens_at=m["opens_at"],
        tickets=int(m["tickets"]),
    )


def batch_from_rows(row: Any, quota_rows: Sequence[Any]) -> Batch:
    m = row._mapping
    return Batch(
        id=m["id"],
        program_id=m["program_id"],
        voucher_type_id=m["voucher_type_id"],
        name=m["name"],
        rules=BatchRules(
            quantity=int(m["quantity"]),
            allocation=Allocation(m["allocation"]),
            per_citizen_limit=int(m["per_citizen_limit"]),
            claim_opens_at=m["claim_opens_at"],
            claim_closes_at=m["claim_closes_at"],
            quotas=tuple(_quota(q) for q in quota_rows),
        ),
        eligibility=parse_rule(json.loads(m["eligibility"])),
        unit_fen=int(m["unit_fen"]),
        status=BatchStatus(m["status"]),
        opened_at=m["opened_at"],
        closed_at=m["closed_at"],
        recycled_at=m["recycled_at"],
        recycled_count=m["recycled_count"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def get_batch(tx: Connection, batch_id: str, *, for_update: bool = False) -> Batch:
    query = select(batches).where(batches.c.id == batch_id)
    if for_update:
        query = query.with_for_update()
    row = tx.execute(query).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"batch {batch_id}")
    quota_rows = tx.execute(
        select(batch_quotas)
        .where(batch_quotas.c.batch_id == batch_id)
        .order_by(batch_quotas.c.release_at, batch_quotas.c.pool)
    ).all()
    return batch_from_rows(row, quota_rows)


def visible_batch(tx: Connection, actor: Actor, batch_id: str) -> Batch:
    batch = get_batch(tx, batch_id)
    require_issuer(actor, get_program(tx, batch.program_id).issuer_id)
    return batch


def create_batch(
    tx: Connection,
    now: datetime,
    actor: Actor,
    cmd: NewBatch,
    *,
    settings: Settings | None = None,
) -> Batch:
    """Define a batch in ``draft``: rules validated, nothing reserved yet.

    A lottery batch's commitment (and sealed seed) is created here, in the same transaction, so it
    is public from the moment the batch exists: that needs ``settings`` (the seed key).
    """
    if cmd.allocation is Allocation.LOTTERY and settings is None:
        raise ValueError("creating a lottery batch needs settings (its seed is sealed with them)")
    program = visible_program(tx, actor, cmd.program_id)
    if program.status is ProgramStatus.CLOSED:
        raise QuanError(PROGRAM_CLOSED)
    vt = get_voucher_type(tx, cmd.voucher_type_id)
    if vt.program_id != program.id:
        raise QuanError(NOT_FOUND, what=f"voucher type {cmd.voucher_type_id} of this program")
    eligibility = checked_rules(cmd, vt, now)
    batch_id = new_id("bat")
    tx.execute(
        insert(batches).values(
            id=batch_id,
            program_id=program.id,
            voucher_type_id=vt.id,
            name=check_name(cmd.name, field="name", max_length=100) if cmd.name else "",
            allocation=cmd.allocation.value,
            status=BatchStatus.DRAFT.value,
            quantity=cmd.quantity,
            per_citizen_limit=cmd.per_citizen_limit,
            unit_fen=vt.spec.unit_fen,
            claim_opens_at=cmd.claim_opens_at,
            claim_closes_at=cmd.claim_closes_at,
            eligibility=canonical_json(rule_to_json(eligibility)),
            created_by=actor.label,
            created_at=now,
            updated_at=now,
        )
    )
    if cmd.reserved:
        tx.execute(
            insert(batch_quotas),
            [
                {
                    "batch_id": batch_id,
                    "pool": q.group.value,
                    "quantity": q.quantity,
                    "opens_at": q.opens_at,
                    "release_at": q.release_at,
                    "tickets": q.tickets,
                }
                for q in cmd.reserved
            ],
        )
    batch = get_batch(tx, batch_id)
    record_event(
        tx,
        type="batch.created",
        actor=actor,
        subject_type="batch",
        subject_id=batch_id,
        program_id=program.id,
        at=now,
        payload=rules_payload(batch),
    )
    if cmd.allocation is Allocation.LOTTERY and settings is not None:
        commit(tx, now, settings, actor, batch)
    return batch


def rules_payload(batch: Batch) -> dict[str, Any]:
    """The batch's rules as published and logged (the versioned record of R4.4)."""
    r = batch.rules
    return {
        "voucher_type_id": batch.voucher_type_id,
        "allocation": r.allocation.value,
        "quantity": r.quantity,
        "unit_fen": batch.unit_fen,
        "per_citizen_limit": r.per_citizen_limit,
        "claim_opens_at": r.claim_opens_at.isoformat(),
        "claim_closes_at": r.claim_closes_at.isoformat(),
        "eligibility": rule_to_json(batch.eligibility),
        "reserved": [
            {
                "group": q.group.value,
                "quantity": q.quantity,
                "opens_at": q.opens_at.isoformat() if q.opens_at else None,
                "release_at": q.release_at.isoformat(),
            }
            for q in r.quotas
        ],
    }


def _locked(tx: Connection, actor: Actor, batch_id: str) -> tuple[ProgramStatus, Batch]:
    """Lock the program row, then the batch row (the order every writer uses)."""
    peek = get_batch(tx, batch_id)
    program = visible_program(tx, actor, peek.program_id, for_update=True)
    return program.status, get_batch(tx, batch_id, for_update=True)


def _set_status(
    tx: Connection, now: datetime, batch: Batch, target: BatchStatus, **values: Any
) -> None:
    # The batch row is locked; the status in the WHERE keeps the update honest all the same.
    tx.execute(
        update(batches)
        .where(batches.c.id == batch.id, batches.c.status == batch.status.value)
        .values(status=target.value, updated_at=now, **values)
    )


def open_batch(tx: Connection, now: datetime, actor: Actor, batch_id: str) -> Batch:
    """Reserve the batch's money and generate its vouchers; refused beyond the budget."""
    program_status, batch = _locked(tx, actor, batch_id)
    target = next_status(batch.status, BatchAction.OPEN)
    if program_status is not ProgramStatus.ACTIVE:
        raise QuanError(PROGRAM_NOT_ACTIVE, program_status=program_status.value)
    if now >= batch.rules.claim_closes_at:
        raise QuanError(CLAIM_WINDOW_OVER, claim_closes_at=batch.rules.claim_closes_at.isoformat())
    needed = total_fen(batch.rules.quantity, batch.unit_fen)
    check_budget(needed, ledger.account_balance(tx, batch.program_id, Bucket.AVAILABLE))
    _set_status(tx, now, batch, target, opened_at=now, opened_by=actor.label)
    ledger.post(
        tx,
        program_id=batch.program_id,
        entry=rules.reserve(batch.id, needed),
        source_type="batch",
        source_id=batch.id,
        memo=f"reserve for batch {batch.id}",
        created_by=actor.label,
        at=now,
    )
    pools = batch.rules.pool_sizes()
    for chunk in _voucher_rows(batch, pools):
        copy_rows(tx, vouchers, _VOUCHER_COLUMNS, chunk)
    record_event(
        tx,
        type="batch.opened",
        actor=actor,
        subject_type="batch",
        subject_id=batch.id,
        program_id=batch.program_id,
        at=now,
        payload={"reserved_fen": needed, "quantity": batch.rules.quantity, "pools": pools},
    )
    return get_batch(tx, batch.id)


_VOUCHER_COLUMNS = ("id", "code", "program_id", "batch_id", "voucher_type_id", "pool", "status")


def _voucher_rows(batch: Batch, pools: Mapping[str, int]) -> Iterator[list[tuple[str, ...]]]:
    """The batch's vouchers (:data:`_VOUCHER_COLUMNS`), ``GENERATE_CHUNK`` at a time, each
    with a fresh random code.

    Codes carry 75 random bits; a collision would fail the unique index and roll the opening
    back whole (to be retried), never issue one code twice.
    """
    chunk: list[tuple[str, ...]] = []
    fixed = (batch.program_id, batch.id, batch.voucher_type_id)
    for pool, count in pools.items():
        for _ in range(count):
            code = new_code(secrets.token_bytes(RANDOM_BYTES))
            chunk.append((new_id("vch"), code, *fixed, pool, "unclaimed"))
            if len(chunk) == GENERATE_CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def close_batch(tx: Connection, now: datetime, actor: Actor, batch_id: str) -> Batch:
    """Stop claims now; the recycling job then returns what was not claimed."""
    _, batch = _locked(tx, actor, batch_id)
    target = next_status(batch.status, BatchAction.CLOSE)
    _set_status(tx, now, batch, target, closed_at=now)
    record_event(
        tx,
        type="batch.closed",
        actor=actor,
        subject_type="batch",
        subject_id=batch.id,
        program_id=batch.program_id,
        at=now,
        payload={"claim_closes_at": batch.rules.claim_closes_at.isoformat()},
    )
    return get_batch(tx, batch.id)


def remaining_by_pool(tx: Connection, batch_id: str) -> dict[str, int]:
    """Unclaimed vouchers per pool (read from the stock index)."""
    rows = tx.execute(
        select(vouchers.c.pool, func.count())
        .where(vouchers.c.batch_id == batch_id, status_is("unclaimed"))
        .group_by(vouchers.c.pool)
    )
    return {pool: int(n) for pool, n in rows}


def list_for_program(
    tx: Connection, actor: Actor, program_id: str, *, limit: int, cursor: str | None
) -> tuple[list[Batch], str | None]:
    """Every batch of a program, drafts included, a page at a time."""
    query = select(batches).where(batches.c.program_id == program_id)
    visible_program(tx, actor, program_id)
    rows, next_cursor = page(tx, query, batches.c.id, limit=limit, cursor=cursor)
    return [get_batch(tx, r.id) for r in rows], next_cursor


def published_facts(
    tx: Connection, batch: Batch, *, with_type: bool = False
) -> tuple[dict[str, int] | None, VoucherType | None]:
    """What a batch's public view adds to it: what remains per pool once opened, and its
    voucher type when asked for."""
    remaining = None if batch.status is BatchStatus.DRAFT else remaining_by_pool(tx, batch.id)
    vt = get_voucher_type(tx, batch.voucher_type_id) if with_type else None
    return remaining, vt
