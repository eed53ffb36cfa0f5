"""Batches: define, open (moves money), close, publish; and first-come claims by citizens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from quan.api import claim_route
from quan.api.schemas.batches import BatchCreate, BatchPublic, ClaimCreate, VoucherReceipt
from quan.api.schemas.common import Limit, Page
from quan.api.schemas.vouchers import VoucherTypePublic
from quan.domain.auth import Actor, CitizenRole
from quan.domain.batches import BatchStatus
from quan.domain.errors import NOT_FOUND, QuanError
from quan.edge.deps import (
    PUBLIC,
    Allow,
    IdempotencyHeader,
    OperatorOrAdmin,
    RuntimeDep,
    StaffReader,
    idempotency_key,
)
from quan.services import idempotency
from quan.services.issuance import batches, claims
from quan.services.issuance.claim_cache import DEFAULT_CACHE
from quan.services.runtime import Runtime

router = APIRouter(tags=["issuance"])

CitizenOnly = Annotated[Actor, Depends(Allow(CitizenRole.CITIZEN))]


def _public(rt: Runtime, batch: batches.Batch, *, with_type: bool = False) -> BatchPublic:
    with rt.db.read() as tx:
        remaining, vt = batches.published_facts(tx, batch, with_type=with_type)
    return BatchPublic.of(
        batch, remaining=remaining, voucher_type=VoucherTypePublic.of(vt) if vt else None
    )


@router.post("/programs/{program_id}/batches", response_model=BatchPublic, status_code=201)
def create_batch(
    program_id: str, body: BatchCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> BatchPublic:
    """Define a batch in ``draft``: voucher type, quantity, allocation (fcfs, lottery, grant),
    claim window, per-citizen limit, eligibility rule and reserved quotas for priority groups.
    Nothing is reserved until it is opened."""
    cmd = body.command(program_id)
    with rt.db.write() as tx:
        batch = batches.create_batch(tx, rt.clock.now(), actor, cmd, settings=rt.settings)
    return BatchPublic.of(batch)


@router.get("/programs/{program_id}/batches", response_model=Page[BatchPublic])
def list_batches(
    program_id: str,
    actor: StaffReader,
    rt: RuntimeDep,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[BatchPublic]:
    """Every batch of a program, drafts included."""
    with rt.db.read() as tx:
        items, next_cursor = batches.list_for_program(
            tx, actor, program_id, limit=limit, cursor=cursor
        )
    return Page(items=[_public(rt, b) for b in items], next_cursor=next_cursor)


@router.get("/batches/{batch_id}", response_model=BatchPublic, dependencies=[Depends(PUBLIC)])
def get_batch(batch_id: str, rt: RuntimeDep) -> BatchPublic:
    """A batch's public facts once it is opened: its rules (as data and in words, zh-CN and
    en), the voucher type, quantity, what remains per pool, and its windows."""
    with rt.db.read() as tx:
        batch = batches.get_batch(tx, batch_id)
    if batch.status is BatchStatus.DRAFT:
        raise QuanError(NOT_FOUND, what=f"batch {batch_id}")
    return _public(rt, batch, with_type=True)


@router.post("/batches/{batch_id}/open", response_model=BatchPublic)
def open_batch(
    batch_id: str,
    actor: OperatorOrAdmin,
    rt: RuntimeDep,
    request: Request,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Open a draft batch: ``quantity × unit_fen`` moves from the available budget to the
    batch's reserve and its vouchers are generated, in one transaction. Refused with
    ``INSUFFICIENT_BUDGET`` beyond the available budget; the program must be active."""
    outcome = idempotency.run(
        rt.db,
        rt.clock,
        idempotency_key(actor, key, request, {}),
        lambda tx: batches.open_batch(tx, rt.clock.now(), actor, batch_id),
        lambda b: (200, BatchPublic.of(b).model_dump(mode="json")),
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.post("/batches/{batch_id}/close", response_model=BatchPublic)
def close_batch(batch_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> BatchPublic:
    """Stop claims now. The recycling job then returns the unclaimed reserve."""
    with rt.db.write() as tx:
        batch = batches.close_batch(tx, rt.clock.now(), actor, batch_id)
    return BatchPublic.of(batch)


@router.post("/batches/{batch_id}/claims", response_model=VoucherReceipt, status_code=201)
def claim(
    batch_id: str,
    actor: CitizenOnly,
    rt: RuntimeDep,
    body: ClaimCreate | None = None,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Claim one voucher of a first-come batch → 201 with the voucher.

    Refusals: 409 ``SOLD_OUT``, ``ALREADY_CLAIMED``, ``CLAIM_NOT_OPEN_YET``,
    ``CLAIM_WINDOW_OVER``, ``BATCH_NOT_OPEN``, ``WRONG_ALLOCATION``; 403 ``NOT_ELIGIBLE`` (with
    ``rule``, the failing rule's path, and its text) or ``BLACKLISTED``. With an
    ``Idempotency-Key`` a retry returns the same voucher (``Idempotent-Replayed: true``).
    """
    # With QUAN_CLAIM_BATCHING on (the default) quan.api.claim_route answers this path first,
    # with the same contract; this route documents it and serves it when batching is off.
    outcome = claims.claim_first_come(
        rt.db,
        rt.clock,
        actor.id,
        batch_id,
        key=key,
        channel=(body or ClaimCreate()).claim_channel,
    )
    facts = DEFAULT_CACHE.facts(rt.db, batch_id)
    body = claim_route.claim_response_body(rt, facts, outcome, rt.clock.now())
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(body, status_code=201, headers=headers)
