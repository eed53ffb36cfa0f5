"""Programs: create in draft, lifecycle, the budget view."""

from __future__ import annotations

from fastapi import APIRouter

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.programs import BudgetPublic, ProgramCreate, ProgramPublic
from quan.domain.errors import QuanError
from quan.domain.programs import Action
from quan.edge.deps import OperatorOrAdmin, RuntimeDep, StaffReader
from quan.services.money import programs
from quan.services.people.staff import ISSUER_REQUIRED
from quan.store import ledger

router = APIRouter(tags=["programs"])


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
    return ProgramPublic.of(program)


@router.get("/programs", response_model=Page[ProgramPublic])
def list_programs(
    actor: StaffReader, rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[ProgramPublic]:
    with rt.db.read() as tx:
        found, next_cursor = programs.list_visible(tx, actor, limit=limit, cursor=cursor)
    return Page(items=[ProgramPublic.of(p) for p in found], next_cursor=next_cursor)


@router.get("/programs/{program_id}", response_model=ProgramPublic)
def get_program(program_id: str, actor: StaffReader, rt: RuntimeDep) -> ProgramPublic:
    with rt.db.read() as tx:
        return ProgramPublic.of(programs.visible_program(tx, actor, program_id))


def _transition(
    program_id: str, action: Action, actor: OperatorOrAdmin, rt: RuntimeDep
) -> ProgramPublic:
    with rt.db.write() as tx:
        return ProgramPublic.of(
            programs.change_status(tx, rt.clock.now(), actor, program_id, action)
        )


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
        pending = programs.pending_contributions_fen(tx, program_id)
    return BudgetPublic.of(program_id, view, pending)
