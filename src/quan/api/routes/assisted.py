"""The assisted channel (R1.4): agents issue vouchers for citizens and print them.

Registering the citizen is ``POST /citizens`` with the agent's token (attributed to the agent).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from quan.api.schemas.batches import VoucherReceipt
from quan.api.schemas.common import Body
from quan.domain.auth import Actor, Role
from quan.edge.deps import Allow, IdempotencyHeader, RuntimeDep
from quan.services.issuance import assisted

router = APIRouter(tags=["assisted"])

AgentOnly = Annotated[Actor, Depends(Allow(Role.AGENT))]
Printer = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AGENT))]


class AssistedClaimCreate(Body):
    citizen_id: str = Field(min_length=1, max_length=64, description="The citizen served")


@router.post("/batches/{batch_id}/assisted-claims", response_model=VoucherReceipt, status_code=201)
def assisted_claim(
    batch_id: str,
    body: AssistedClaimCreate,
    actor: AgentOnly,
    rt: RuntimeDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """An agent claims one voucher of a first-come batch for a citizen (channel ``assisted``).

    Every claim rule holds (409 ``SOLD_OUT``, ``ALREADY_CLAIMED``, ``CLAIM_WINDOW_OVER``,
    ``WRONG_ALLOCATION``…; 403 ``NOT_ELIGIBLE``, ``BLACKLISTED``); 403 ``OTHER_ISSUER`` for a
    batch of another issuer. The agent is the actor of ``voucher.assisted_issued``. Print it
    with ``GET /vouchers/{id}/printable``."""
    outcome = assisted.issue_for_citizen(rt.db, rt.clock, actor, body.citizen_id, batch_id, key=key)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    receipt = VoucherReceipt.of(outcome.voucher).model_dump(mode="json")
    return JSONResponse(receipt, status_code=201, headers=headers)


@router.get(
    "/vouchers/{voucher_id}/printable",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/pdf": {}}}},
)
def printable(
    voucher_id: str,
    actor: Printer,
    rt: RuntimeDep,
    fmt: Annotated[Literal["png", "pdf"], Query(alias="format")] = "pdf",
) -> Response:
    """The voucher to hand over on paper: QR code, the typable code with its check character,
    value in ¥, validity and the program's name; no personal data. Agents and operators of the
    program's issuer. 409 ``VOUCHER_NOT_ISSUED`` for a voucher nobody holds."""
    with rt.db.write() as tx:
        page = assisted.printable(tx, rt.clock.now(), actor, voucher_id)
    content, media_type = assisted.render(page, fmt)
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="voucher-{voucher_id}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
