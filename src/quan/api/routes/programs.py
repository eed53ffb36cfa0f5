"""Programs: create in draft, lifecycle, the budget view."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from sqlalchemy import func, select

from quan.api.deps import OperatorOrAdmin, RuntimeDep, StaffReader
from quan.api.schemas.common import Limit, Page
from quan.api.schemas.programs import BudgetPublic, ProgramCreate, ProgramPublic
from quan.domain.errors import QuanError
from quan.domain.funding import Direction, MovementStatus
from quan.domain.programs import Action
from quan.services.money import programs
from quan.services.people.staff import ISSUER_REQUIRED
from quan.store import ledger
from quan.store.pagination import page
from quan.store.tables import fund_movements
from quan.store.tables import programs as programs_table

router = APIRouter(tags=["programs"])


def _public(program: programs.Program) -> ProgramPublic:
    return ProgramPublic(**asdict(program))


@router.post("/programs", response_model=ProgramPublic, status_code=201)
def create_program(body: ProgramCreate, actor: OperatorOrAdmin, rt: RuntimeDep) -> ProgramPublic:
    """Create a program in ``draft``. Operators create programs for their own issuer."""
    # An operator acts for its own issuer; naming another one is refused by the service.
    issuer_id = body.issuer_id or actor.issuer_id
    if issuer_id is None:
        raise QuanError(ISSUER_REQUIRED)
    cmd = programs.NewProgram(
        issuer_id=issuer_id,
        name=body.name,
        description=body.description,
        timezone=body.timezone,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    with rt.db.write() as tx:
        program = programs.create_program(tx, rt.clock.now(), actor, cmd)
    return _public(program)


@router.get("/programs", response_model=Page[ProgramPublic])
def list_programs(
    actor: StaffReader, rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[ProgramPublic]:
    query = select(programs_table)
    if actor.role == "operator":
        query = query.where(programs_table.c.issuer_id == actor.issuer_id)
    with rt.db.read() as tx:
        rows, next_cursor = page(tx, query, programs_table.c.id, limit=limit, cursor=cursor)
    return Page(
        items=[_public(programs._program(r)) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/programs/{program_id}", response_model=ProgramPublic)
def get_program(program_id: str, actor: StaffReader, rt: RuntimeDep) -> ProgramPublic:
    with rt.db.read() as tx:
        return _public(programs.visible_program(tx, actor, program_id))


def _transition(
    program_id: str, action: Action, actor: OperatorOrAdmin, rt: RuntimeDep
) -> ProgramPublic:
    with rt.db.write() as tx:
        return _public(programs.change_status(tx, rt.clock.now(), actor, program_id, action))


@router.post("/programs/{program_id}/activate", response_model=ProgramPublic)
def activate(program_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> ProgramPublic:
    """draft → active, or resume a paused program."""
    return _transition(program_id, Action.ACTIVATE, actor, rt)


@router.post("/programs/{program_id}/pause", response_model=ProgramPublic)
def pause(program_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> ProgramPublic:
    """active → paused."""
    return _transition(program_id, Action.PAUSE, actor, rt)


@router.post("/programs/{program_id}/close", response_model=ProgramPublic)
def close(program_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> ProgramPublic:
    """draft, active or paused → closed (final)."""
    return _transition(program_id, Action.CLOSE, actor, rt)


@router.get("/programs/{program_id}/budget", response_model=BudgetPublic)
def budget(program_id: str, actor: StaffReader, rt: RuntimeDep) -> BudgetPublic:
    """Where the program's money is, derived from the ledger."""
    with rt.db.read() as tx:
        programs.visible_program(tx, actor, program_id)
        view = ledger.budget(tx, program_id)
        pending = tx.execute(
            select(func.coalesce(func.sum(fund_movements.c.amount_fen), 0)).where(
                fund_movements.c.program_id == program_id,
                fund_movements.c.direction == Direction.CONTRIBUTION.value,
                fund_movements.c.status == MovementStatus.PENDING_APPROVAL.value,
            )
        ).scalar_one()
    return BudgetPublic(
        program_id=program_id,
        pending_contributions_fen=int(pending),
        identity_holds=view.identity_holds,
        **asdict(view),
    )
