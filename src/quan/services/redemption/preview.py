"""What a redemption would do, before the cashier commits to it (issue 16, point 8).

:func:`preview` judges the order with the very rules :func:`~quan.services.redemption.redeem.redeem`
applies — same facts, same :func:`quan.domain.redemption.check` — but reads them without a lock,
in a read-only transaction, and writes nothing: no redemption, no idempotency key, no journal
entry, no event. A preview therefore consumes and holds nothing; the confirmation that follows
is an ordinary redemption, judged again under the voucher's row lock, so anything that changed
in between (another terminal redeemed the voucher, the holder's daily cap filled up) is refused
then, in the same words.

A refused preview is tallied as a refused redemption (``refusals``): a code guessed through the
preview is a code guessed at the counter, and the abuse checks see it the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection

from quan.domain.auth import Actor
from quan.domain.errors import QuanError
from quan.domain.redemption import check
from quan.domain.redemption_situation import Order
from quan.domain.voucher_types import Discount
from quan.services.redemption.redeem import terminal_of
from quan.services.redemption.redemption import VOUCHER_NOT_FOUND, RedeemRequest
from quan.services.redemption.redemption_facts import _voucher_row, loaded_from_row, voucher_target


@dataclass(frozen=True, slots=True)
class Preview:
    """The voucher, its rule, and what this order would cost the customer with it."""

    voucher_id: str
    type_name: str
    discount: Discount  # the rule: face value or percent, cap and minimum spend
    unit_fen: int  # the voucher's value: the most it can take off
    valid_until: datetime | None
    timezone: str  # the program's, for showing the last day
    order_amount_fen: int
    discount_fen: int
    customer_pays_fen: int


def preview(
    tx: Connection,
    now: datetime,
    actor: Actor,
    keyring: Mapping[str, Ed25519PublicKey],
    req: RedeemRequest,
) -> Preview:
    """Judge ``req`` at this terminal now, reading without locks; raises the refusal a
    redemption would get."""
    merchant_id, _ = terminal_of(actor)
    voucher_id, code = voucher_target(req, keyring)
    order = Order(req.order_amount_fen, req.category, req.scene, now)
    row = _voucher_row(tx, voucher_id, code, merchant_id, now, lock=False)
    if row is None:
        raise QuanError(VOUCHER_NOT_FOUND)
    loaded = loaded_from_row(tx, row, merchant_id, order, req.order_ref)
    applied = check(loaded.situation)
    spec = loaded.situation.voucher.spec
    return Preview(
        voucher_id=loaded.situation.voucher.id,
        type_name=spec.name,
        discount=spec.discount,
        unit_fen=loaded.unit_fen,
        valid_until=loaded.situation.voucher.valid_until,
        timezone=loaded.situation.program.timezone,
        order_amount_fen=req.order_amount_fen,
        discount_fen=applied.discount_fen,
        customer_pays_fen=applied.customer_pays_fen,
    )
