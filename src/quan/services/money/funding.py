"""Funding: funders, contributions into a program, returns to funders, and maker-checker approval.

Money counts only once a movement is approved. The approval threshold holds on CUMULATIVE
amounts, not per request: a movement is approved when it is recorded only if, together with the
movements of the same direction that already went through without a second person on the same
local day of the program, it stays at or below the threshold both for the person who asks and for
the funder; otherwise it waits for a second person (so three returns of ¥1,000,000 wait like one
of ¥3,000,000). The sums are read after the program row is locked (FOR UPDATE; BEGIN IMMEDIATE on
SQLite), so concurrent requests are judged one after the other and cannot all slip under.
The journal entry of an approved movement is unique per movement (``source``), so no race can
post it twice. Locks are taken in one order everywhere: the program row, then the movement row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, insert, select, update

from quan.domain import ledger as rules
from quan.domain.auth import Actor, require_issuer
from quan.domain.citizens import local_date
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.domain.funding import (
    Direction,
    FunderKind,
    MovementStatus,
    check_checker,
    check_pending,
    check_return,
    needs_approval,
)
from quan.domain.ledger import Bucket
from quan.domain.names import check_name
from quan.domain.programs import PROGRAM_CLOSED, accepts_money
from quan.services.money.programs import visible_program
from quan.store import ledger
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.tables import fund_movements, funders

FUNDER_EXISTS = define(
    "FUNDER_EXISTS", Kind.CONFLICT, zh="出资方“{name}”已存在", en="Funder '{name}' already exists"
)
REASON_REQUIRED = define(
    "REASON_REQUIRED", Kind.INVALID, zh="请填写理由", en="A reason is required"
)


@dataclass(frozen=True, slots=True)
class Funder:
    id: str
    issuer_id: str
    name: str
    kind: FunderKind
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Movement:
    id: str
    program_id: str
    funder_id: str
    direction: Direction
    amount_fen: int
    status: MovementStatus
    note: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


def _movement(row: object) -> Movement:
    m = row._mapping  # type: ignore[attr-defined]
    return Movement(
        id=m["id"],
        program_id=m["program_id"],
        funder_id=m["funder_id"],
        direction=Direction(m["direction"]),
        amount_fen=int(m["amount_fen"]),
        status=MovementStatus(m["status"]),
        note=m["note"],
        requested_by=m["requested_by"],
        requested_at=m["requested_at"],
        decided_by=m["decided_by"],
        decided_at=m["decided_at"],
        decision_reason=m["decision_reason"],
    )


def create_funder(
    tx: Connection, now: datetime, actor: Actor, *, issuer_id: str, name: str, kind: FunderKind
) -> Funder:
    require_issuer(actor, issuer_id)
    name = check_name(name)
    exists = tx.execute(
        select(funders.c.id).where(funders.c.issuer_id == issuer_id, funders.c.name == name)
    ).first()
    if exists:
        raise QuanError(FUNDER_EXISTS, name=name)
    funder = Funder(new_id("fdr"), issuer_id, name, kind, now)
    tx.execute(
        insert(funders).values(
            id=funder.id, issuer_id=issuer_id, name=name, kind=kind.value, created_at=now
        )
    )
    record_event(
        tx,
        type="funder.created",
        actor=actor,
        subject_type="funder",
        subject_id=funder.id,
        at=now,
        payload={"name": name, "kind": kind.value, "issuer_id": issuer_id},
    )
    return funder


def get_funder(tx: Connection, funder_id: str) -> Funder:
    row = tx.execute(select(funders).where(funders.c.id == funder_id)).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"funder {funder_id}")
    return Funder(row.id, row.issuer_id, row.name, FunderKind(row.kind), row.created_at)


def funder_net_fen(tx: Connection, program_id: str, funder_id: str) -> int:
    """What a funder has put into a program and not yet had back."""
    contributed = -ledger.account_balance(tx, program_id, Bucket.FUNDING, funder_id)
    returned = ledger.account_balance(tx, program_id, Bucket.RETURNED, funder_id)
    return contributed - returned


@dataclass(frozen=True, slots=True)
class MovementRequest:
    program_id: str
    funder_id: str
    direction: Direction
    amount_fen: int
    note: str


def request_movement(
    tx: Connection, now: datetime, actor: Actor, cmd: MovementRequest, *, threshold_fen: int
) -> Movement:
    program = visible_program(tx, actor, cmd.program_id, for_update=True)
    if cmd.direction is Direction.CONTRIBUTION and not accepts_money(program.status):
        raise QuanError(PROGRAM_CLOSED)
    funder = get_funder(tx, cmd.funder_id)
    if funder.issuer_id != program.issuer_id:
        raise QuanError(NOT_FOUND, what=f"funder {cmd.funder_id} of this program's issuer")
    if cmd.direction is Direction.RETURN:
        _check_return(tx, cmd.program_id, cmd.funder_id, cmd.amount_fen)
    # The program row is locked above, so these sums cannot change until this transaction ends.
    unchecked = unchecked_today(tx, now, program.timezone, cmd, actor.label)
    pending = needs_approval(cmd.amount_fen + unchecked, threshold_fen)
    movement = Movement(
        id=new_id("ctb" if cmd.direction is Direction.CONTRIBUTION else "ret"),
        program_id=cmd.program_id,
        funder_id=cmd.funder_id,
        direction=cmd.direction,
        amount_fen=cmd.amount_fen,
        status=MovementStatus.PENDING_APPROVAL if pending else MovementStatus.APPROVED,
        note=cmd.note,
        requested_by=actor.label,
        requested_at=now,
        decided_by=None,
        decided_at=None if pending else now,
        decision_reason=None,
    )
    tx.execute(
        insert(fund_movements).values(
            id=movement.id,
            program_id=movement.program_id,
            funder_id=movement.funder_id,
            direction=movement.direction.value,
            amount_fen=movement.amount_fen,
            status=movement.status.value,
            note=movement.note,
            requested_by=movement.requested_by,
            requested_at=now,
            decided_at=movement.decided_at,
        )
    )
    record_event(
        tx,
        type=f"{cmd.direction.value}.{'requested' if pending else 'recorded'}",
        actor=actor,
        subject_type=cmd.direction.value,
        subject_id=movement.id,
        program_id=cmd.program_id,
        at=now,
        payload={
            "funder_id": cmd.funder_id,
            "amount_fen": cmd.amount_fen,
            "needs_approval": pending,
            "unchecked_today_fen": unchecked,
        },
    )
    if not pending:
        _post(tx, now, actor, movement)
    return movement


def local_day_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The program's local calendar day around ``now``, as a half-open UTC interval."""
    zone = ZoneInfo(timezone)
    day = local_date(now, timezone)
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return start, end


def unchecked_today(
    tx: Connection, now: datetime, timezone: str, cmd: MovementRequest, requested_by: str
) -> int:
    """The larger of two sums of today's movements of this direction in this program that went
    through without a second person (approved, ``decided_by`` empty): those the same person
    asked for, and those of the same funder. The caller holds the program's row lock."""
    start, end = local_day_bounds(now, timezone)
    unchecked = select(func.coalesce(func.sum(fund_movements.c.amount_fen), 0)).where(
        fund_movements.c.program_id == cmd.program_id,
        fund_movements.c.direction == cmd.direction.value,
        fund_movements.c.status == MovementStatus.APPROVED.value,
        fund_movements.c.decided_by.is_(None),
        fund_movements.c.requested_at >= start,
        fund_movements.c.requested_at < end,
    )
    by_person = tx.execute(unchecked.where(fund_movements.c.requested_by == requested_by))
    by_funder = tx.execute(unchecked.where(fund_movements.c.funder_id == cmd.funder_id))
    return max(int(by_person.scalar_one()), int(by_funder.scalar_one()))


def _check_return(tx: Connection, program_id: str, funder_id: str, amount_fen: int) -> None:
    check_return(
        amount_fen,
        available_fen=ledger.account_balance(tx, program_id, Bucket.AVAILABLE),
        funder_net_fen=funder_net_fen(tx, program_id, funder_id),
    )


def _post(tx: Connection, now: datetime, actor: Actor, movement: Movement) -> None:
    if movement.direction is Direction.CONTRIBUTION:
        entry = rules.contribution(movement.funder_id, movement.amount_fen)
    else:
        entry = rules.return_to_funder(movement.funder_id, movement.amount_fen)
    ledger.post(
        tx,
        program_id=movement.program_id,
        entry=entry,
        source_type="fund_movement",
        source_id=movement.id,
        memo=movement.note,
        created_by=actor.label,
        at=now,
    )


def get_movement(tx: Connection, movement_id: str, *, for_update: bool = False) -> Movement:
    query = select(fund_movements).where(fund_movements.c.id == movement_id)
    if for_update:
        query = query.with_for_update()
    row = tx.execute(query).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"money movement {movement_id}")
    return _movement(row)


def decide(
    tx: Connection,
    now: datetime,
    actor: Actor,
    movement_id: str,
    *,
    direction: Direction,
    approve: bool,
    reason: str,
) -> Movement:
    """A second person approves (the money then counts) or rejects (with a reason)."""
    peek = get_movement(tx, movement_id)
    if peek.direction is not direction:
        raise QuanError(NOT_FOUND, what=f"{direction.value} {movement_id}")
    # Lock order: program, then movement (the same order request_movement uses).
    program = visible_program(tx, actor, peek.program_id, for_update=True)
    movement = get_movement(tx, movement_id, for_update=True)
    check_pending(movement.status)
    check_checker(movement.requested_by, actor.label)
    if approve and direction is Direction.CONTRIBUTION and not accepts_money(program.status):
        raise QuanError(PROGRAM_CLOSED)  # a closed program takes no money; reject it instead
    if not approve and not reason.strip():
        raise QuanError(REASON_REQUIRED)
    if approve and direction is Direction.RETURN:
        _check_return(tx, movement.program_id, movement.funder_id, movement.amount_fen)
    status = MovementStatus.APPROVED if approve else MovementStatus.REJECTED
    tx.execute(
        update(fund_movements)
        .where(
            fund_movements.c.id == movement_id,
            fund_movements.c.status == MovementStatus.PENDING_APPROVAL.value,
        )
        .values(status=status.value, decided_by=actor.label, decided_at=now, decision_reason=reason)
    )
    decided = get_movement(tx, movement_id)
    record_event(
        tx,
        type=f"{direction.value}.{status.value}",
        actor=actor,
        subject_type=direction.value,
        subject_id=movement_id,
        program_id=movement.program_id,
        at=now,
        payload={"amount_fen": movement.amount_fen, "reason": reason},
    )
    if approve:
        _post(tx, now, actor, decided)
    return decided
