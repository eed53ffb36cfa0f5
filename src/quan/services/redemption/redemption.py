"""Redemptions as records: the request a terminal makes, the redemption and its row, the
recording barrier every writer takes before reading the clock, and reading them back.

How one is made is :mod:`quan.services.redemption.redeem`; the facts it is judged on are
:mod:`~quan.services.redemption.redemption_facts`; the write is
:mod:`~quan.services.redemption.redemption_write`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    select,
    text,
)

from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import Kind, QuanError, define
from quan.domain.merchants import Scene, is_merchant_principal
from quan.store.redemption_tables import (
    redemptions,
)
from quan.store.tables import programs

VOUCHER_NOT_FOUND = define(
    "VOUCHER_NOT_FOUND",
    Kind.NOT_FOUND,
    zh="未找到该券，请核对券码或让持券人刷新二维码",
    en="No such voucher; check the code or ask the holder to refresh the QR code",
)
REDEMPTION_NOT_FOUND = define(
    "REDEMPTION_NOT_FOUND",
    Kind.NOT_FOUND,
    zh="未找到该核销记录",
    en="No such redemption",
)
CODE_OR_TOKEN = define(
    "VOUCHER_CODE_OR_TOKEN_REQUIRED",
    Kind.INVALID,
    zh="请提供券码（voucher_code）或二维码内容（token），二者选一",
    en="Give either the voucher code (voucher_code) or the scanned QR token (token), not both",
)


@dataclass(frozen=True, slots=True)
class RedeemRequest:
    order_amount_fen: int
    category: str
    scene: Scene
    voucher_code: str | None = None
    token: str | None = None
    order_ref: str | None = None
    details: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Redemption:
    id: str
    voucher_id: str
    program_id: str
    batch_id: str
    merchant_id: str
    terminal_id: str
    channel: str
    category: str
    scene: str
    order_amount_fen: int
    discount_fen: int
    unit_fen: int  # what the batch reserved for the voucher
    order_ref: str | None
    order_seq: int | None
    details: dict[str, str]
    redeemed_at: datetime
    recorded_at: datetime
    status: str
    reversed_at: datetime | None


def redemption_from_row(row: Any) -> Redemption:
    return _from_mapping(row._mapping)


def _from_mapping(m: Mapping[str, Any]) -> Redemption:
    return Redemption(
        id=m["id"],
        voucher_id=m["voucher_id"],
        program_id=m["program_id"],
        batch_id=m["batch_id"],
        merchant_id=m["merchant_id"],
        terminal_id=m["terminal_id"],
        channel=m["channel"],
        category=m["category"],
        scene=m["scene"],
        order_amount_fen=int(m["order_amount_fen"]),
        discount_fen=int(m["discount_fen"]),
        unit_fen=int(m["unit_fen"]),
        order_ref=m["order_ref"],
        order_seq=m["order_seq"],
        details=json.loads(m["details"]) if m["details"] else {},
        redeemed_at=m["redeemed_at"],
        recorded_at=m["recorded_at"],
        status=m["status"],
        reversed_at=m["reversed_at"],
    )


@dataclass(frozen=True, slots=True)
class Redeemed:
    """A new redemption and what the customer pays for the whole order after it."""

    redemption: Redemption
    customer_pays_fen: int


# --- the recording barrier -----------------------------------------------------------------------


def begin_recording(tx: Connection) -> None:
    """Take the lock every writer of ``redemptions`` takes, before reading the clock.

    A settlement's barrier (``LOCK … IN SHARE MODE``) waits for every holder, so a redemption
    either committed before the barrier or reads a clock later than the cut-off.
    """
    if tx.dialect.name == "postgresql":
        tx.execute(text("LOCK TABLE redemptions IN ROW EXCLUSIVE MODE"))


# --- finding and locking the voucher -------------------------------------------------------------


# --- the facts -----------------------------------------------------------------------------------


# --- the use case --------------------------------------------------------------------------------


# --- reading -------------------------------------------------------------------------------------


def get_redemption(tx: Connection, redemption_id: str, *, for_update: bool = False) -> Redemption:
    query = select(redemptions).where(redemptions.c.id == redemption_id)
    if for_update:
        query = query.with_for_update()
    row = tx.execute(query).first()
    if row is None:
        raise QuanError(REDEMPTION_NOT_FOUND)
    return redemption_from_row(row)


def visible_redemption(tx: Connection, actor: Actor, redemption_id: str) -> Redemption:
    """A merchant's principals see their merchant's redemptions only (others do not exist for
    them); staff see those of their issuer's programs."""
    r = get_redemption(tx, redemption_id)
    if is_merchant_principal(actor):
        if actor.merchant_id != r.merchant_id:
            raise QuanError(REDEMPTION_NOT_FOUND)
        return r
    issuer_id = tx.execute(
        select(programs.c.issuer_id).where(programs.c.id == r.program_id)
    ).scalar_one()
    require_issuer(actor, issuer_id)
    return r


def live_redemption_of(tx: Connection, voucher_id: str) -> Redemption | None:
    row = tx.execute(
        select(redemptions).where(
            and_(redemptions.c.voucher_id == voucher_id, redemptions.c.status == "redeemed")
        )
    ).first()
    return redemption_from_row(row) if row else None
