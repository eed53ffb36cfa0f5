"""Programs: creating one in draft, moving it through its lifecycle, reading it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select, update

from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import NOT_FOUND, Kind, QuanError, define
from quan.domain.funding import Direction, MovementStatus
from quan.domain.names import check_name
from quan.domain.programs import Action, ProgramStatus, check_window, next_status
from quan.services.money.issuers import get_issuer
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.pagination import page
from quan.store.tables import fund_movements, programs


@dataclass(frozen=True, slots=True)
class Program:
    id: str
    issuer_id: str
    name: str
    description: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: ProgramStatus
    created_at: datetime
    updated_at: datetime


def _program(row: object) -> Program:
    m = row._mapping  # type: ignore[attr-defined]
    return Program(
        id=m["id"],
        issuer_id=m["issuer_id"],
        name=m["name"],
        description=m["description"],
        timezone=m["timezone"],
        starts_at=m["starts_at"],
        ends_at=m["ends_at"],
        status=ProgramStatus(m["status"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


@dataclass(frozen=True, slots=True)
class NewProgram:
    issuer_id: str
    name: str
    description: str
    timezone: str
    starts_at: datetime
    ends_at: datetime


def create_program(tx: Connection, now: datetime, actor: Actor, cmd: NewProgram) -> Program:
    require_issuer(actor, cmd.issuer_id)
    get_issuer(tx, cmd.issuer_id)
    check_window(cmd.timezone, cmd.starts_at, cmd.ends_at)
    program = Program(
        id=new_id("prg"),
        issuer_id=cmd.issuer_id,
        name=check_name(cmd.name),
        description=cmd.description,
        timezone=cmd.timezone,
        # Stored and answered in UTC; rules read them in the program's own time zone.
        starts_at=cmd.starts_at.astimezone(UTC),
        ends_at=cmd.ends_at.astimezone(UTC),
        status=ProgramStatus.DRAFT,
        created_at=now,
        updated_at=now,
    )
    tx.execute(
        insert(programs).values(
            id=program.id,
            issuer_id=program.issuer_id,
            name=program.name,
            description=program.description,
            timezone=program.timezone,
            starts_at=program.starts_at,
            ends_at=program.ends_at,
            status=program.status.value,
            created_by=actor.label,
            created_at=now,
            updated_at=now,
        )
    )
    record_event(
        tx,
        type="program.created",
        actor=actor,
        subject_type="program",
        subject_id=program.id,
        program_id=program.id,
        at=now,
        payload={
            "name": program.name,
            "timezone": program.timezone,
            "starts_at": program.starts_at.isoformat(),
            "ends_at": program.ends_at.isoformat(),
        },
    )
    return program


def get_program(tx: Connection, program_id: str, *, for_update: bool = False) -> Program:
    query = select(programs).where(programs.c.id == program_id)
    if for_update:
        query = query.with_for_update()
    row = tx.execute(query).first()
    if row is None:
        raise QuanError(NOT_FOUND, what=f"program {program_id}")
    return _program(row)


def visible_program(
    tx: Connection, actor: Actor, program_id: str, *, for_update: bool = False
) -> Program:
    """The program, if the actor may see it (operators only their issuer's)."""
    program = get_program(tx, program_id, for_update=for_update)
    require_issuer(actor, program.issuer_id)
    return program


PROGRAM_NOT_DRAFT = define(
    "PROGRAM_NOT_DRAFT",
    Kind.CONFLICT,
    zh="只有草稿状态的项目可以修改",
    en="Only a program in draft can be edited",
)
CLOSE_REASON_REQUIRED = define(
    "CLOSE_REASON_REQUIRED",
    Kind.INVALID,
    zh="结束项目不可撤销，请填写理由",
    en="Closing a program cannot be undone; give a reason",
)


def update_program(
    tx: Connection, now: datetime, actor: Actor, program_id: str, cmd: NewProgram
) -> Program:
    """Change a draft's name, description, time zone and window (``program.updated``). Once a
    program is active, what residents were told stays as it was: only drafts can be edited."""
    program = visible_program(tx, actor, program_id, for_update=True)
    if program.status is not ProgramStatus.DRAFT:
        raise QuanError(PROGRAM_NOT_DRAFT)
    check_window(cmd.timezone, cmd.starts_at, cmd.ends_at)
    values = {
        "name": check_name(cmd.name),
        "description": cmd.description,
        "timezone": cmd.timezone,
        "starts_at": cmd.starts_at.astimezone(UTC),
        "ends_at": cmd.ends_at.astimezone(UTC),
    }
    # The row is locked, so it is still a draft when it is written.
    tx.execute(update(programs).where(programs.c.id == program_id).values(updated_at=now, **values))
    record_event(
        tx,
        type="program.updated",
        actor=actor,
        subject_type="program",
        subject_id=program_id,
        program_id=program_id,
        at=now,
        payload={
            "name": values["name"],
            "timezone": cmd.timezone,
            "starts_at": values["starts_at"].isoformat(),  # type: ignore[attr-defined]
            "ends_at": values["ends_at"].isoformat(),  # type: ignore[attr-defined]
        },
    )
    return get_program(tx, program_id)


def close_program(
    tx: Connection, now: datetime, actor: Actor, program_id: str, reason: str
) -> Program:
    """Close a program for good, with the reason why (recorded in ``program.closed``)."""
    if not reason.strip():
        raise QuanError(CLOSE_REASON_REQUIRED)
    return change_status(tx, now, actor, program_id, Action.CLOSE, reason=reason.strip())


def change_status(
    tx: Connection,
    now: datetime,
    actor: Actor,
    program_id: str,
    action: Action,
    *,
    reason: str = "",
) -> Program:
    program = visible_program(tx, actor, program_id, for_update=True)
    target = next_status(program.status, action, now=now, ends_at=program.ends_at)
    # The row is locked (FOR UPDATE; BEGIN IMMEDIATE on SQLite), so the status read above holds.
    tx.execute(
        update(programs)
        .where(programs.c.id == program_id)
        .values(status=target.value, updated_at=now)
    )
    record_event(
        tx,
        type=f"program.{target.value}",
        actor=actor,
        subject_type="program",
        subject_id=program_id,
        program_id=program_id,
        at=now,
        payload={"from": program.status.value, "to": target.value}
        | ({"reason": reason} if reason else {}),
    )
    return get_program(tx, program_id)


def list_visible(
    tx: Connection, actor: Actor, *, limit: int, cursor: str | None
) -> tuple[list[Program], str | None]:
    """The programs ``actor`` may see (an operator: its issuer's), a page at a time."""
    query = select(programs)
    if actor.role == "operator":
        query = query.where(programs.c.issuer_id == actor.issuer_id)
    rows, next_cursor = page(tx, query, programs.c.id, limit=limit, cursor=cursor)
    return [_program(r) for r in rows], next_cursor


def pending_contributions_fen(tx: Connection, program_id: str) -> int:
    """Contributions waiting for their second approval (not in the ledger yet)."""
    pending = tx.execute(
        select(func.coalesce(func.sum(fund_movements.c.amount_fen), 0)).where(
            fund_movements.c.program_id == program_id,
            fund_movements.c.direction == Direction.CONTRIBUTION.value,
            fund_movements.c.status == MovementStatus.PENDING_APPROVAL.value,
        )
    ).scalar_one()
    return int(pending)
