"""Funders, contributions, returns to funders, and their maker-checker decisions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, select

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.funding import (
    ContributionCreate,
    Decision,
    FunderCreate,
    FunderPublic,
    MovementPublic,
    ReturnCreate,
)
from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.funding import Direction
from quan.edge.deps import (
    IdempotencyHeader,
    OperatorOrAdmin,
    RuntimeDep,
    StaffReader,
    idempotency_key,
)
from quan.services import idempotency
from quan.services.money import funding, programs
from quan.services.people.staff import ISSUER_REQUIRED
from quan.services.runtime import Runtime
from quan.store.pagination import page
from quan.store.tables import fund_movements, funders

router = APIRouter(tags=["funding"])


def _movement(m: funding.Movement) -> dict[str, Any]:
    return MovementPublic(**asdict(m)).model_dump(mode="json")


@router.post("/funders", response_model=FunderPublic, status_code=201)
def create_funder(body: FunderCreate, actor: OperatorOrAdmin, rt: RuntimeDep) -> FunderPublic:
    """Register a funder of the issuer: department, region, bank, sponsor or bond."""
    issuer_id = body.issuer_id or actor.issuer_id
    if issuer_id is None:
        raise QuanError(ISSUER_REQUIRED)
    with rt.db.write() as tx:
        funder = funding.create_funder(
            tx, rt.clock.now(), actor, issuer_id=issuer_id, name=body.name, kind=body.kind
        )
    return FunderPublic(**asdict(funder))


@router.get("/funders", response_model=Page[FunderPublic])
def list_funders(
    actor: StaffReader, rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[FunderPublic]:
    query = select(funders)
    if actor.role == "operator":
        query = query.where(funders.c.issuer_id == actor.issuer_id)
    with rt.db.read() as tx:
        rows, next_cursor = page(tx, query, funders.c.id, limit=limit, cursor=cursor)
    return Page(items=[FunderPublic(**r._mapping) for r in rows], next_cursor=next_cursor)


def _run_money(
    rt: Runtime,
    actor: Actor,
    key: str | None,
    request: Request,
    body: Any,
    work: Callable[[Connection], funding.Movement],
    status_code: int,
) -> JSONResponse:
    outcome = idempotency.run(
        rt.db,
        rt.clock,
        idempotency_key(actor, key, request, body),
        work,
        lambda m: (status_code, _movement(m)),
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


def _request(
    cmd: funding.MovementRequest,
    body: dict[str, Any],
    actor: Actor,
    rt: Runtime,
    request: Request,
    key: str | None,
) -> JSONResponse:
    threshold = rt.settings.approval_threshold_fen
    return _run_money(
        rt,
        actor,
        key,
        request,
        body,
        lambda tx: funding.request_movement(
            tx, rt.clock.now(), actor, cmd, threshold_fen=threshold
        ),
        201,
    )


@router.post("/programs/{program_id}/contributions", response_model=MovementPublic, status_code=201)
def contribute(
    program_id: str,
    body: ContributionCreate,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    """Money in from a funder. Above the approval threshold it waits for a second person
    (``status: pending_approval``) and does not count until approved."""
    cmd = funding.MovementRequest(
        program_id, body.funder_id, Direction.CONTRIBUTION, body.amount_fen, body.note
    )
    return _request(cmd, body.model_dump(mode="json"), actor, rt, request, idempotency_key)


@router.post("/programs/{program_id}/returns", response_model=MovementPublic, status_code=201)
def return_to_funder(
    program_id: str,
    body: ReturnCreate,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    """Hand unallocated budget back to a funder (at most what it put in), with a reason."""
    cmd = funding.MovementRequest(
        program_id, body.funder_id, Direction.RETURN, body.amount_fen, body.reason
    )
    return _request(cmd, body.model_dump(mode="json"), actor, rt, request, idempotency_key)


def _list(
    program_id: str, direction: Direction, actor: Actor, rt: Runtime, limit: int, cursor: str | None
) -> Page[MovementPublic]:
    query = select(fund_movements).where(
        fund_movements.c.program_id == program_id,
        fund_movements.c.direction == direction.value,
    )
    with rt.db.read() as tx:
        programs.visible_program(tx, actor, program_id)
        rows, next_cursor = page(tx, query, fund_movements.c.id, limit=limit, cursor=cursor)
    return Page(
        items=[MovementPublic(**asdict(funding._movement(r))) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/programs/{program_id}/contributions", response_model=Page[MovementPublic])
def list_contributions(
    program_id: str,
    actor: StaffReader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[MovementPublic]:
    return _list(program_id, Direction.CONTRIBUTION, actor, rt, limit, cursor)


@router.get("/programs/{program_id}/returns", response_model=Page[MovementPublic])
def list_returns(
    program_id: str,
    actor: StaffReader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[MovementPublic]:
    return _list(program_id, Direction.RETURN, actor, rt, limit, cursor)


def _decide(
    movement_id: str,
    direction: Direction,
    approve: bool,
    body: Decision,
    actor: Actor,
    rt: Runtime,
    request: Request,
    key: str | None,
) -> JSONResponse:
    return _run_money(
        rt,
        actor,
        key,
        request,
        body.model_dump(mode="json"),
        lambda tx: funding.decide(
            tx,
            rt.clock.now(),
            actor,
            movement_id,
            direction=direction,
            approve=approve,
            reason=body.reason,
        ),
        200,
    )


@router.post("/contributions/{movement_id}/approve", response_model=MovementPublic)
def approve_contribution(
    movement_id: str,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    body: Decision | None = None,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    """The second person approves; the money then counts in the budget."""
    return _decide(
        movement_id,
        Direction.CONTRIBUTION,
        True,
        body or Decision(),
        actor,
        rt,
        request,
        idempotency_key,
    )


@router.post("/contributions/{movement_id}/reject", response_model=MovementPublic)
def reject_contribution(
    movement_id: str,
    body: Decision,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    """The second person rejects, with a reason; no money moves."""
    return _decide(
        movement_id, Direction.CONTRIBUTION, False, body, actor, rt, request, idempotency_key
    )


@router.post("/returns/{movement_id}/approve", response_model=MovementPublic)
def approve_return(
    movement_id: str,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    body: Decision | None = None,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    return _decide(
        movement_id, Direction.RETURN, True, body or Decision(), actor, rt, request, idempotency_key
    )


@router.post("/returns/{movement_id}/reject", response_model=MovementPublic)
def reject_return(
    movement_id: str,
    body: Decision,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    return _decide(movement_id, Direction.RETURN, False, body, actor, rt, request, idempotency_key)
