"""A merchant serving itself, for API clients, through the services the merchant portal uses:

- **appeals** (:mod:`quan.services.merchants.appeals`): the owner of a rejected merchant says
  why the decision should change; the application is ``submitted`` again and the operator
  decides it with the usual review, ``POST /merchants/{id}/review``;
- **terminal pairing** (:mod:`quan.services.merchants.pairing`): a one-time pairing code for a
  live terminal (the portal shows it as a QR code of ``/cashier/pair?code=…``), which a counter
  device redeems for the terminal's new key, so that no one types a key.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from quan.api.schemas.common import Body
from quan.api.schemas.merchants import MerchantPublic, TerminalPublic
from quan.domain.auth import Actor, PartnerRole, Role
from quan.edge.deps import PUBLIC, Allow, RuntimeDep
from quan.services.merchants import appeals, merchants, pairing

router = APIRouter(tags=["merchants"])

Owner = Annotated[Actor, Depends(Allow(PartnerRole.MERCHANT))]
OwnerOrStaffReader = Annotated[
    Actor, Depends(Allow(PartnerRole.MERCHANT, Role.OPERATOR, Role.ADMIN, Role.AUDITOR))
]
KeyManager = Annotated[Actor, Depends(Allow(PartnerRole.MERCHANT, Role.OPERATOR, Role.ADMIN))]


class AppealCreate(Body):
    grounds: str = Field(max_length=appeals.GROUNDS_LENGTH * 2, description="Why (1-1000)")


class AppealPublic(BaseModel):
    id: str
    merchant_id: str
    review_id: str = Field(description="The rejection it contests")
    grounds: str
    filed_by: str
    filed_at: datetime


class AppealFiled(BaseModel):
    appeal: AppealPublic
    merchant: MerchantPublic


class PairingIssued(BaseModel):
    code: str = Field(description="One-time, shown in this answer only")
    pair_url: str = Field(description="What the QR code carries: the device opens it")
    expires_at: datetime
    terminal: TerminalPublic


class PairingRedeem(Body):
    code: str = Field(min_length=1, max_length=200)


class PairingRedeemed(BaseModel):
    terminal_id: str
    merchant_id: str
    merchant_name: str
    api_key: str = Field(description="The terminal's new key (its old one is revoked)")


@router.post("/merchants/{merchant_id}/appeals", response_model=AppealFiled, status_code=201)
def file_appeal(
    merchant_id: str, body: AppealCreate, actor: Owner, rt: RuntimeDep
) -> AppealFiled:
    """The owner appeals the latest rejection (once per rejection): 409
    ``APPEAL_NOT_ALLOWED`` unless rejected, 422 ``APPEAL_GROUNDS_REQUIRED`` without grounds."""
    with rt.db.write() as tx:
        merchant = appeals.file_appeal(tx, rt.clock.now(), actor, merchant_id, body.grounds)
        filed = appeals.appeals(tx, merchant_id)[-1]
    return AppealFiled(appeal=AppealPublic(**asdict(filed)), merchant=MerchantPublic.of(merchant))


@router.get("/merchants/{merchant_id}/appeals", response_model=list[AppealPublic])
def list_appeals(merchant_id: str, actor: OwnerOrStaffReader, rt: RuntimeDep) -> list[AppealPublic]:
    """Every appeal of the merchant, oldest first (the owner; staff of its issuer)."""
    with rt.db.read() as tx:
        merchants.visible_merchant(tx, actor, merchant_id)
        filed = appeals.appeals(tx, merchant_id)
    return [AppealPublic(**asdict(a)) for a in filed]


@router.post(
    "/merchants/{merchant_id}/terminals/{terminal_id}/pairings",
    response_model=PairingIssued,
    status_code=201,
)
def offer_pairing(
    merchant_id: str, terminal_id: str, request: Request, actor: KeyManager, rt: RuntimeDep
) -> PairingIssued:
    """A pairing code for a live terminal of an approved merchant, good for 10 minutes."""
    with rt.db.write() as tx:
        offer = pairing.create_pairing(tx, rt.clock.now(), actor, merchant_id, terminal_id)
    url = f"{str(request.base_url).rstrip('/')}/cashier/pair?code={offer.code}"
    return PairingIssued(
        code=offer.code,
        pair_url=url,
        expires_at=offer.expires_at,
        terminal=TerminalPublic(**asdict(offer.terminal)),
    )


@router.post("/pairings/redeem", response_model=PairingRedeemed, dependencies=[Depends(PUBLIC)])
def redeem_pairing(body: PairingRedeem, rt: RuntimeDep) -> PairingRedeemed:
    """The device's side: the code (256 random bits) is the credential. The terminal gets a new
    key and its old one stops working; the code is spent. 404 ``PAIRING_CODE_UNKNOWN``, 409
    ``PAIRING_CODE_USED``, 410 ``PAIRING_CODE_EXPIRED``."""
    with rt.db.write() as tx:
        paired = pairing.pair(tx, rt.clock.now(), body.code.strip())
    return PairingRedeemed(
        terminal_id=paired.terminal.id,
        merchant_id=paired.terminal.merchant_id,
        merchant_name=paired.merchant_name,
        api_key=paired.api_key,
    )
