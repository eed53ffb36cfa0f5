"""What the wallet shows of each voucher beyond the voucher itself: the program's time zone (its
last day is said in it), and for a voucher that can no longer be spent, what became of it: where,
when and how much it saved, or when it was suspended. Also the holder's usage history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from quan.api.schemas.vouchers import WalletVoucher
from quan.domain.last_day import LastDay, last_day
from quan.store.merchant_tables import merchants
from quan.store.redemption_tables import redemptions, voucher_deactivations
from quan.store.tables import programs
from quan.store.voucher_tables import voucher_types, vouchers


@dataclass(frozen=True, slots=True)
class Use:
    """One redemption of the holder's: at which shop, when, the order and what it saved."""

    voucher_id: str
    voucher_name: str
    merchant_name: str
    at: datetime
    order_fen: int
    saved_fen: int
    reversed: bool
    zone: str


@dataclass(frozen=True, slots=True)
class Card:
    voucher: WalletVoucher
    program_name: str
    zone: str
    last: LastDay
    used: Use | None  # the live redemption of a used voucher
    suspended_at: datetime | None  # a deactivated voucher: since when

    @property
    def spent(self) -> bool:
        """No longer usable: shown greyed and struck through, never like a usable one."""
        return self.voucher.status != "active"


def _programs(tx: Connection, ids: set[str]) -> dict[str, tuple[str, str]]:
    if not ids:
        return {}
    rows = tx.execute(
        select(programs.c.id, programs.c.name, programs.c.timezone).where(programs.c.id.in_(ids))
    )
    return {row.id: (row.name, row.timezone) for row in rows}


def uses(tx: Connection, citizen_id: str, *, voucher_ids: list[str] | None = None) -> list[Use]:
    """The holder's redemptions, newest first (reversed ones too, marked)."""
    r = redemptions.c
    query = (
        select(
            r.voucher_id, r.redeemed_at, r.order_amount_fen, r.discount_fen, r.status,
            merchants.c.name.label("merchant"), voucher_types.c.name.label("voucher_name"),
            programs.c.timezone,
        )
        .join(merchants, merchants.c.id == r.merchant_id)
        .join(programs, programs.c.id == r.program_id)
        .join(vouchers, vouchers.c.id == r.voucher_id)
        .join(voucher_types, voucher_types.c.id == vouchers.c.voucher_type_id)
        .where(r.citizen_id == citizen_id)
        .order_by(r.redeemed_at.desc(), r.id.desc())
        .limit(200)
    )  # fmt: skip
    if voucher_ids is not None:
        query = query.where(r.voucher_id.in_(voucher_ids))
    return [
        Use(voucher_id=row.voucher_id, voucher_name=row.voucher_name, merchant_name=row.merchant,
            at=row.redeemed_at, order_fen=int(row.order_amount_fen),
            saved_fen=int(row.discount_fen), reversed=row.status == "reversed",
            zone=row.timezone)
        for row in tx.execute(query)
    ]  # fmt: skip


def cards(tx: Connection, citizen_id: str, vouchers: list[WalletVoucher]) -> list[Card]:
    """The wallet's vouchers with what the holder needs to read them, in the wallet's order:
    usable ones first, then the others."""
    found = _programs(tx, {v.program_id for v in vouchers})
    spent_ids = [v.id for v in vouchers if v.status == "redeemed"]
    live = {
        u.voucher_id: u
        for u in (uses(tx, citizen_id, voucher_ids=spent_ids) if spent_ids else [])
        if not u.reversed
    }
    off_ids = [v.id for v in vouchers if v.status == "deactivated"]
    suspended: dict[str, datetime] = {}
    if off_ids:
        d = voucher_deactivations.c
        rows = tx.execute(
            select(d.voucher_id, d.deactivated_at).where(
                d.voucher_id.in_(off_ids), d.reactivated_at.is_(None)
            )
        )
        suspended = {row.voucher_id: row.deactivated_at for row in rows}
    made = []
    for v in vouchers:
        name, zone = found.get(v.program_id, ("", "Asia/Shanghai"))
        made.append(
            Card(voucher=v, program_name=name, zone=zone, last=last_day(v.valid_until, zone),
                 used=live.get(v.id), suspended_at=suspended.get(v.id))
        )  # fmt: skip
    return sorted(made, key=lambda c: c.spent)
