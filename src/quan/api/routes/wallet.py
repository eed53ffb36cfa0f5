"""The citizen's own wallet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from quan.api.schemas.common import Limit, Page
from quan.api.schemas.vouchers import WalletVoucher
from quan.domain.auth import Actor, CitizenRole
from quan.edge.deps import Allow, RuntimeDep
from quan.services.issuance import wallet as wallet_service
from quan.services.merchants.offline_keys import offline_key

router = APIRouter(tags=["citizens"])

CitizenOnly = Annotated[Actor, Depends(Allow(CitizenRole.CITIZEN))]


@router.get("/me/vouchers", response_model=Page[WalletVoucher])
def my_vouchers(
    actor: CitizenOnly, rt: RuntimeDep, limit: Limit = 50, cursor: str | None = None
) -> Page[WalletVoucher]:
    """The signed-in citizen's vouchers: status, validity, code and the QR payload (a signed
    offline token for active vouchers, which a terminal can verify without network)."""
    with rt.db.read() as tx:
        entries, next_cursor = wallet_service.wallet(
            tx,
            actor.id,
            rt.clock.now(),
            limit=limit,
            cursor=cursor,
            offline=offline_key(rt.settings),
        )
    items = [WalletVoucher.of(e) for e in entries]
    return Page(items=items, next_cursor=next_cursor)
