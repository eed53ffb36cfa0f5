"""Redemption at a terminal, reversal, an operator's voucher brake, and the redemption policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from quan.api.schemas.redemptions import (
    DeactivationCreate,
    DeactivationPublic,
    PolicyPublic,
    PolicyUpdate,
    RedemptionCreate,
    RedemptionPublic,
    ReversalCreate,
    ReversalPublic,
)
from quan.domain.auth import Actor, PartnerRole, Role
from quan.edge.deps import (
    Allow,
    IdempotencyHeader,
    OperatorOrAdmin,
    RuntimeDep,
    StaffReader,
    idempotency_key,
)
from quan.services import idempotency
from quan.services.merchants.offline_keys import offline_key
from quan.services.people.citizens import CitizenKeys
from quan.services.redemption import deactivation, redemption, redemption_policy, reversal
from quan.services.redemption.redeem import redeem_once

router = APIRouter(tags=["redemption"])

TerminalOnly = Annotated[Actor, Depends(Allow(PartnerRole.TERMINAL))]
Reverser = Annotated[Actor, Depends(Allow(PartnerRole.TERMINAL, Role.OPERATOR, Role.ADMIN))]
RedemptionReader = Annotated[
    Actor,
    Depends(
        Allow(PartnerRole.MERCHANT, PartnerRole.TERMINAL, Role.ADMIN, Role.OPERATOR, Role.AUDITOR)
    ),
]


def _replayed(outcome: idempotency.Outcome) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.post(
    "/redemptions",
    response_model=RedemptionPublic,
    status_code=201,
    responses={
        409: {"description": "ALREADY_REDEEMED, and other state conflicts"},
        422: {"description": "The failing rule: BELOW_MIN_SPEND, OUT_OF_SCOPE, ..."},
    },
)
def redeem(
    body: RedemptionCreate,
    actor: TerminalOnly,
    rt: RuntimeDep,
    request: Request,
    idempotency_key_header: IdempotencyHeader = None,
) -> JSONResponse:
    """Redeem a voucher (typed code or scanned QR token) for an order at this terminal's
    merchant. Every rule of the voucher is checked; a refusal names the failing one with its
    fields. Exactly one of several concurrent attempts on one voucher succeeds; a retry with the
    same ``Idempotency-Key`` (scoped to this terminal) gets the first answer again."""
    req = body.request()
    keyring = offline_key(rt.settings).keyring
    outcome = redeem_once(
        rt.db,
        rt.clock,
        actor,
        keyring,
        req,
        idempotency_key(actor, idempotency_key_header, request, body.model_dump(mode="json")),
        lambda done: (
            201,
            RedemptionPublic.of(done.redemption, done.customer_pays_fen).model_dump(mode="json"),
        ),
    )
    return _replayed(outcome)


@router.get("/redemptions/{redemption_id}", response_model=RedemptionPublic)
def get_redemption(redemption_id: str, actor: RedemptionReader, rt: RuntimeDep) -> RedemptionPublic:
    """A redemption: to its merchant's owner and terminals, and to staff of its issuer."""
    with rt.db.read() as tx:
        return RedemptionPublic.of(redemption.visible_redemption(tx, actor, redemption_id))


@router.post(
    "/redemptions/{redemption_id}/reversal", response_model=ReversalPublic, status_code=201
)
def reverse(
    redemption_id: str,
    body: ReversalCreate,
    actor: Reverser,
    rt: RuntimeDep,
    request: Request,
    idempotency_key_header: IdempotencyHeader = None,
) -> JSONResponse:
    """Reverse (refund) a redemption within the reversal window: by a terminal of its merchant,
    or an operator of its issuer. The voucher goes back to its holder if still valid; otherwise
    its money goes back to the budget. Already settled, the refund is netted: the merchant's next
    statement deducts it (outcome ``recycled``). Happens once, however raced."""
    window = rt.settings.reversal_window_seconds
    outcome = idempotency.run(
        rt.db,
        rt.clock,
        idempotency_key(actor, idempotency_key_header, request, body.model_dump(mode="json")),
        lambda tx: reversal.reverse(
            tx, rt.clock, actor, redemption_id, reason=body.reason, window_seconds=window
        ),
        lambda done: (201, ReversalPublic.of(done).model_dump(mode="json")),
    )
    return _replayed(outcome)


@router.post("/vouchers/{voucher_id}/deactivate", response_model=DeactivationPublic)
def deactivate(
    voucher_id: str, body: DeactivationCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> DeactivationPublic:
    """Stop a claimed voucher from being redeemed, with a reason the holder is sent by SMS."""
    keys = CitizenKeys.from_settings(rt.settings)
    with rt.db.write() as tx:
        done = deactivation.deactivate(tx, rt.clock.now(), actor, keys, voucher_id, body.reason)
    return _d(done)


@router.post("/vouchers/{voucher_id}/reactivate", response_model=DeactivationPublic)
def reactivate(
    voucher_id: str, body: DeactivationCreate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> DeactivationPublic:
    """Lift a voucher's deactivation (with a reason; the holder is told)."""
    keys = CitizenKeys.from_settings(rt.settings)
    with rt.db.write() as tx:
        done = deactivation.reactivate(tx, rt.clock.now(), actor, keys, voucher_id, body.reason)
    return _d(done)


def _d(d: deactivation.Deactivation) -> DeactivationPublic:
    return DeactivationPublic(**{k: getattr(d, k) for k in DeactivationPublic.model_fields})


@router.get("/programs/{program_id}/redemption-policy", response_model=PolicyPublic)
def get_policy(program_id: str, actor: StaffReader, rt: RuntimeDep) -> PolicyPublic:
    with rt.db.read() as tx:
        p = redemption_policy.get_policy(tx, actor, program_id)
    return _p(p)


@router.put("/programs/{program_id}/redemption-policy", response_model=PolicyPublic)
def set_policy(
    program_id: str, body: PolicyUpdate, actor: OperatorOrAdmin, rt: RuntimeDep
) -> PolicyPublic:
    """Set the program's per-holder daily redemption cap (null: none). Recorded as a rule change."""
    with rt.db.write() as tx:
        p = redemption_policy.set_policy(tx, rt.clock.now(), actor, program_id, body.daily_cap)
    return _p(p)


def _p(p: redemption_policy.Policy) -> PolicyPublic:
    return PolicyPublic(**{k: getattr(p, k) for k in PolicyPublic.model_fields})
