"""Share links (R5.3): citizens create them, others claim through them, operators read stats.

The citizens' own claim route (``POST /batches/{id}/claims``) is left as it is; claims through a
link have their own route, ``POST /share/{token}/claims``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from quan.api.schemas.batches import VoucherReceipt
from quan.api.schemas.common import Body
from quan.domain.auth import Actor, CitizenRole, Role
from quan.edge.deps import Allow, IdempotencyHeader, OperatorOrAdmin, RuntimeDep
from quan.services.issuance import share_links

router = APIRouter(tags=["share links"])

CitizenOnly = Annotated[Actor, Depends(Allow(CitizenRole.CITIZEN))]
StatsReader = Annotated[Actor, Depends(Allow(Role.ADMIN, Role.OPERATOR, Role.AUDITOR))]


class ShareLinkCreate(Body):
    channel: Literal["wechat", "sms", "qr", "link"] = Field(
        default="link", description="Where the link will be shared (attribution)"
    )


class ShareLinkCreated(BaseModel):
    id: str
    token: str = Field(description="Shown once; only its hash is stored")
    url: str = Field(description="POST here (as a signed-in citizen) to claim through the link")
    batch_id: str
    channel: str
    cap: int = Field(description="Claims this sharer's links may bring in this batch")


class ShareCapSet(Body):
    cap: StrictInt = Field(ge=0, le=share_links.MAX_SHARE_CAP)


@router.post("/batches/{batch_id}/share-links", response_model=ShareLinkCreated, status_code=201)
def create_share_link(
    batch_id: str,
    actor: CitizenOnly,
    rt: RuntimeDep,
    request: Request,
    body: ShareLinkCreate | None = None,
) -> ShareLinkCreated:
    """Create a link to an open first-come batch. 409 ``WRONG_ALLOCATION``, ``BATCH_NOT_OPEN``,
    ``CLAIM_WINDOW_OVER``."""
    channel = (body or ShareLinkCreate()).channel
    with rt.db.write() as tx:
        link = share_links.create_link(tx, rt.clock.now(), actor.id, batch_id, channel)
    url = str(request.url_for("claim_through_share_link", token=link.token))
    return ShareLinkCreated(
        id=link.id,
        token=link.token,
        url=url,
        batch_id=link.batch_id,
        channel=link.channel,
        cap=link.cap,
    )


@router.post(
    "/share/{token}/claims",
    response_model=VoucherReceipt,
    status_code=201,
    name="claim_through_share_link",
)
def claim_through_share_link(
    token: str, actor: CitizenOnly, rt: RuntimeDep, key: IdempotencyHeader = None
) -> JSONResponse:
    """Claim one voucher of the link's batch (channel ``share``), every claim rule applying.
    404 ``SHARE_LINK_NOT_FOUND``; 409 ``SHARE_CAP_REACHED`` (with ``share_cap``),
    ``SHARE_OWN_LINK``, and the claim refusals of ``POST /batches/{id}/claims``."""
    outcome = share_links.claim_via_link(rt.db, rt.clock, actor.id, token[:128], key=key)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    receipt = VoucherReceipt.of(outcome.voucher).model_dump(mode="json")
    return JSONResponse(receipt, status_code=201, headers=headers)


@router.put("/batches/{batch_id}/share-cap")
def set_share_cap(
    batch_id: str, body: ShareCapSet, actor: OperatorOrAdmin, rt: RuntimeDep
) -> dict[str, Any]:
    """Set the batch's cap per sharer (default ``DEFAULT_SHARE_CAP`` = 20)."""
    with rt.db.write() as tx:
        cap = share_links.set_cap(tx, rt.clock.now(), actor, batch_id, body.cap)
    return {"batch_id": batch_id, "cap": cap}


@router.get("/batches/{batch_id}/share-stats")
def share_stats(batch_id: str, actor: StatsReader, rt: RuntimeDep) -> dict[str, Any]:
    """Per sharer: cap, claims counted, links and claims by channel."""
    with rt.db.read() as tx:
        return share_links.sharer_stats(tx, actor, batch_id)
