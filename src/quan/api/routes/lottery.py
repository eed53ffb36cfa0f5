"""Lottery batches: registration by citizens, the public record, the draw by an operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from quan.api.schemas.common import Limit
from quan.api.schemas.lottery import (
    BeaconIn,
    DrawOut,
    LotteryPublic,
    RegistrantOut,
    RegistrantsPage,
    RegistrationOut,
)
from quan.domain.auth import Actor, CitizenRole
from quan.edge.deps import PUBLIC, Allow, OperatorOrAdmin, RuntimeDep
from quan.services.issuance import lottery
from quan.services.issuance.batches import visible_batch

router = APIRouter(tags=["lottery"])

CitizenOnly = Annotated[Actor, Depends(Allow(CitizenRole.CITIZEN))]


@router.post("/batches/{batch_id}/registrations", response_model=RegistrationOut)
def register(batch_id: str, actor: CitizenOnly, rt: RuntimeDep) -> JSONResponse:
    """Enter a lottery batch → 201 (200 when already registered: idempotent).

    Refusals: 409 ``LOTTERY_REGISTRATION_NOT_OPEN``, ``LOTTERY_REGISTRATION_CLOSED``,
    ``LOTTERY_ALREADY_DRAWN``, ``BATCH_NOT_OPEN``, ``WRONG_ALLOCATION``; 403 ``NOT_ELIGIBLE`` or
    ``BLACKLISTED``."""
    with rt.db.write() as tx:
        reg = lottery.register(tx, rt.clock.now(), rt.settings, actor.id, batch_id)
    body = RegistrationOut.of(reg).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if reg.created else 200)


@router.get(
    "/batches/{batch_id}/lottery", response_model=LotteryPublic, dependencies=[Depends(PUBLIC)]
)
def get_lottery(batch_id: str, rt: RuntimeDep) -> LotteryPublic:
    """The public record: commitment (from before registration), pools, and after the draw the
    seed, the registrants digest and the winners per pool (pseudonyms)."""
    lot = lottery.public_record(rt.db, rt.clock, rt.settings, batch_id)
    return LotteryPublic.of(lot)


@router.get(
    "/batches/{batch_id}/lottery/registrants",
    response_model=RegistrantsPage,
    dependencies=[Depends(PUBLIC)],
)
def registrants(
    batch_id: str,
    rt: RuntimeDep,
    limit: Annotated[Limit, Query()] = 200,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> RegistrantsPage:
    """The public registrant list ``(pseudonym, tickets, groups)`` ordered by pseudonym."""
    with rt.db.read() as tx:
        items, after = lottery.registrants_page(tx, batch_id, limit=limit, cursor=cursor)
    return RegistrantsPage(
        items=[RegistrantOut(pseudonym=p, tickets=t, groups=list(g)) for p, t, g in items],
        next_cursor=after,
    )


@router.post("/batches/{batch_id}/lottery/beacon", response_model=LotteryPublic)
def record_beacon(
    batch_id: str, body: BeaconIn, actor: OperatorOrAdmin, rt: RuntimeDep
) -> LotteryPublic:
    """quan-lottery-v2: enter the public value after registration closes — by a second person,
    never whoever created the lottery. It fixes the close checkpoint; the draw mixes both in.

    Refusals: 403 ``LOTTERY_BEACON_SAME_PERSON``; 409 ``LOTTERY_REGISTRATION_STILL_OPEN``,
    ``LOTTERY_BEACON_ALREADY_RECORDED``, ``LOTTERY_CLOSE_NOT_LOGGED`` (retry in a moment),
    ``LOTTERY_NOT_V2``, ``LOTTERY_ALREADY_DRAWN``; 422 ``INVALID_LOTTERY_BEACON``."""
    with rt.db.write() as tx:
        visible_batch(tx, actor, batch_id)
        lot = lottery.record_beacon(
            tx, rt.clock.now(), rt.settings, actor, batch_id, value=body.value, source=body.source
        )
    return LotteryPublic.of(lot)


@router.post("/batches/{batch_id}/lottery/draw", response_model=DrawOut)
def draw(batch_id: str, actor: OperatorOrAdmin, rt: RuntimeDep) -> DrawOut:
    """Reveal the seed and draw; winners receive vouchers at once.

    Refusals: 409 ``LOTTERY_REGISTRATION_STILL_OPEN``, ``LOTTERY_ALREADY_DRAWN``,
    ``LOTTERY_BEACON_NOT_RECORDED`` (quan-lottery-v2), ``BATCH_NOT_OPEN``, ``WRONG_ALLOCATION``."""
    with rt.db.write() as tx:
        visible_batch(tx, actor, batch_id)
        outcome = lottery.draw(tx, rt.clock.now(), rt.settings, actor, batch_id)
    return DrawOut(
        lottery=LotteryPublic.of(outcome.lottery),
        issued=outcome.issued,
        unserved=outcome.unserved,
    )
