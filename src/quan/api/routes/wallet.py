"""The citizen's own wallet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from quan.api.deps import Allow, RuntimeDep
from quan.api.schemas.common import Limit, Page
from quan.api.schemas.vouchers import LocalizedText, WalletVoucher
from quan.domain.auth import Actor, CitizenRole
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
    items = [
        WalletVoucher(
            id=e.id,
            code=e.code,
            qr_payload=e.qr_payload,
            status=e.status,
            program_id=e.program_id,
            batch_id=e.batch_id,
            voucher_type_id=e.voucher_type_id,
            name=e.spec.name,
            summary=LocalizedText(
                zh=e.spec.discount.summary("zh"), en=e.spec.discount.summary("en")
            ),
            categories=list(e.spec.categories),
            scenes=list(e.spec.scenes),
            claimed_at=e.claimed_at,
            valid_from=e.valid_from,
            valid_until=e.valid_until,
        )
        for e in entries
    ]
    return Page(items=items, next_cursor=next_cursor)
