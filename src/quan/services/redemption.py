"""Redeeming a voucher at a merchant's terminal: exactly once, checked against every rule.

How one redemption is made safe by the database:

1. ``LOCK TABLE redemptions IN ROW EXCLUSIVE MODE`` (PostgreSQL; the lock any insert takes) comes
   first, and only then is the clock read. A settlement waits for every transaction holding that
   lock before it reads a window, so no redemption can be recorded behind a cut-off already
   settled (see :mod:`quan.services.settlement`). On SQLite ``BEGIN IMMEDIATE`` serialises.
2. The voucher row is locked (``SELECT … FOR UPDATE``); racing terminals queue on it, and each
   reads the facts (deactivation, blacklist, the order so far, the holder's day) after the lock.
3. :func:`quan.domain.redemption.check` judges them.
4. ``UPDATE vouchers SET status = 'redeemed' WHERE id = ? AND status = 'active'`` and the insert
   of the redemption row happen in a savepoint. The partial unique index
   ``uq_redemptions_live_voucher`` allows one live redemption per voucher whatever happens above;
   ``order_seq`` and ``day_seq`` make stacking and daily caps unraceable (a loser retries with
   fresh facts and is then refused by the rule).
5. One journal entry moves the discount from ``reserved:<batch>`` to ``payable:<merchant>``,
   its source the redemption (unique), and ``voucher.redeemed`` is recorded — ids and amounts
   only; order details stay in the row.

The part of the voucher's reserve the discount did not use (a percent voucher below its cap)
stays reserved until the redemption is settled and can no longer be reversed; settlement returns
it to the available budget.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, and_, exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from quan.domain import offline_token, voucher_code
from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import FORBIDDEN, Kind, QuanError, define
from quan.domain.ledger import Bucket, Posting, transfer
from quan.domain.merchants import MerchantStatus, Scene, is_merchant_principal
from quan.domain.programs import ProgramStatus
from quan.domain.redemption import (
    ALREADY_REDEEMED,
    Applied,
    MerchantFacts,
    Order,
    OrderSoFar,
    ProgramFacts,
    Situation,
    VoucherFacts,
    check,
)
from quan.domain.voucher_types import VoucherTypeSpec, parse_voucher_type
from quan.services import blacklist, merchants
from quan.store import ledger
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import (
    redemption_policies,
    redemptions,
    voucher_deactivations,
)
from quan.store.tables import programs
from quan.store.voucher_tables import batches, voucher_types, vouchers

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

RETRIES = 3  # a lost race on order_seq or day_seq costs one retry with fresh facts


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


def resolve_voucher(
    tx: Connection, req: RedeemRequest, keyring: Mapping[str, Ed25519PublicKey]
) -> str:
    """The id of the voucher a code or a scanned token names, its row locked ``FOR UPDATE``."""
    if (req.voucher_code is None) == (req.token is None):
        raise QuanError(CODE_OR_TOKEN)
    if req.token is not None:
        voucher_id = offline_token.verify(req.token, keyring).voucher_id
        found = lock_voucher(tx, voucher_id=voucher_id)
    else:
        assert req.voucher_code is not None
        code = req.voucher_code
        if offline_token.looks_like_token(code):  # a QR scanned into the code field
            voucher_id = offline_token.verify(code, keyring).voucher_id
            found = lock_voucher(tx, voucher_id=voucher_id)
        else:
            found = lock_voucher(tx, code=voucher_code.validate(code))
    if found is None:
        raise QuanError(VOUCHER_NOT_FOUND)
    return found


def lock_voucher(
    tx: Connection, *, voucher_id: str | None = None, code: str | None = None
) -> str | None:
    where = vouchers.c.id == voucher_id if voucher_id is not None else vouchers.c.code == code
    found: str | None = tx.execute(
        select(vouchers.c.id).where(where).with_for_update()
    ).scalar_one_or_none()
    return found


# --- the facts -----------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def spec_of(definition: str) -> VoucherTypeSpec:
    """A voucher type's rules from its stored definition (parsed once per distinct text)."""
    return parse_voucher_type(json.loads(definition))


@dataclass(frozen=True, slots=True)
class _Loaded:
    situation: Situation
    batch_id: str
    unit_fen: int
    local_day: date
    free_day_seq: int | None


def _voucher_row(tx: Connection, voucher_id: str) -> Any:
    v, d = vouchers.c, voucher_deactivations.c
    deactivated = exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None))
    daily_cap = (
        select(redemption_policies.c.daily_cap)
        .where(redemption_policies.c.program_id == v.program_id)
        .scalar_subquery()
    )
    row: Any = tx.execute(
        select(
            v.id,
            v.status,
            v.citizen_id,
            v.valid_from,
            v.valid_until,
            v.program_id,
            v.batch_id,
            batches.c.unit_fen,
            programs.c.issuer_id,
            programs.c.status.label("program_status"),
            programs.c.timezone,
            voucher_types.c.definition,
            deactivated.label("deactivated"),
            daily_cap.label("daily_cap"),
        )
        .select_from(
            vouchers.join(batches, batches.c.id == v.batch_id)
            .join(programs, programs.c.id == v.program_id)
            .join(voucher_types, voucher_types.c.id == v.voucher_type_id)
        )
        .where(v.id == voucher_id)
    ).one()
    return row


def _order_so_far(tx: Connection, merchant_id: str, order_ref: str | None) -> OrderSoFar:
    if order_ref is None:
        return OrderSoFar()
    r = redemptions.c
    live = r.status == "redeemed"
    row = tx.execute(
        select(
            func.count().filter(live),
            func.min(r.order_amount_fen).filter(live),
            func.coalesce(func.sum(r.min_spend_fen).filter(live), 0),
            func.coalesce(func.sum(r.discount_fen).filter(live), 0),
            func.min(r.max_per_order).filter(live),
            func.coalesce(func.max(r.order_seq), 0),
        ).where(r.merchant_id == merchant_id, r.order_ref == order_ref)
    ).one()
    count, amount, min_spend, discount, max_per_order, last_seq = row
    return OrderSoFar(
        count=int(count),
        order_amount_fen=int(amount) if amount is not None else None,
        min_spend_fen=int(min_spend),
        discount_fen=int(discount),
        max_per_order=int(max_per_order) if max_per_order is not None else None,
        next_seq=int(last_seq) + 1,
    )


def _day_seqs(tx: Connection, program_id: str, citizen_id: str, day: date) -> list[int]:
    r = redemptions.c
    return [
        int(s)
        for s in tx.execute(
            select(r.day_seq).where(
                r.program_id == program_id,
                r.citizen_id == citizen_id,
                r.local_day == day,
                r.status == "redeemed",
                r.day_seq.is_not(None),
            )
        ).scalars()
    ]


def _merchant_facts(tx: Connection, merchant_id: str) -> MerchantFacts:
    m = merchants.get_merchant(tx, merchant_id)
    return MerchantFacts(
        id=m.id,
        issuer_id=m.issuer_id,
        status=MerchantStatus(m.status),
        region_code=m.region_code,
        categories=frozenset(m.categories),
        scenes=frozenset(m.scenes),
    )


def load(
    tx: Connection,
    voucher_id: str,
    merchant_id: str,
    order: Order,
    order_ref: str | None,
) -> _Loaded:
    """Everything the rules judge, read after the voucher's row lock."""
    row = _voucher_row(tx, voucher_id)
    local_day = order.at.astimezone(ZoneInfo(row.timezone)).date()
    daily_cap = int(row.daily_cap) if row.daily_cap is not None else None
    taken: list[int] = []
    if daily_cap is not None and row.citizen_id is not None:
        taken = _day_seqs(tx, row.program_id, row.citizen_id, local_day)
    free = next((k for k in range(1, (daily_cap or 0) + 1) if k not in taken), None)
    holder_block = (
        blacklist.active_block(tx, "citizen", row.citizen_id, order.at)
        if row.citizen_id is not None
        else None
    )
    situation = Situation(
        voucher=VoucherFacts(
            id=row.id,
            status=row.status,
            holder_id=row.citizen_id,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            spec=spec_of(row.definition),
            deactivated=bool(row.deactivated),
        ),
        program=ProgramFacts(
            row.program_id, row.issuer_id, ProgramStatus(row.program_status), row.timezone
        ),
        merchant=_merchant_facts(tx, merchant_id),
        order=order,
        so_far=_order_so_far(tx, merchant_id, order_ref),
        used_today=len(taken),
        daily_cap=daily_cap,
        merchant_block=blacklist.active_block(tx, "merchant", merchant_id, order.at),
        holder_block=holder_block,
    )
    return _Loaded(situation, row.batch_id, int(row.unit_fen), local_day, free)


# --- the use case --------------------------------------------------------------------------------


def terminal_of(actor: Actor) -> tuple[str, str]:
    """``(merchant_id, terminal_id)`` of a terminal principal; anyone else may not redeem."""
    if actor.role != "terminal" or actor.merchant_id is None:
        raise QuanError(FORBIDDEN)
    return actor.merchant_id, actor.id


def redeem(
    tx: Connection,
    now: datetime,
    actor: Actor,
    keyring: Mapping[str, Ed25519PublicKey],
    req: RedeemRequest,
) -> Redeemed:
    """Redeem at a terminal now. The caller has called :func:`begin_recording` before reading
    ``now`` (see the module docstring); the request's ``order_ref`` and ``details`` are already
    checked (:mod:`quan.domain.order_details`)."""
    terminal_of(actor)
    voucher_id = resolve_voucher(tx, req, keyring)
    order = Order(req.order_amount_fen, req.category, req.scene, now)
    return redeem_locked(
        tx,
        now,
        actor,
        voucher_id,
        order,
        channel="online",
        order_ref=req.order_ref,
        details=req.details,
    )


def redeem_locked(
    tx: Connection,
    now: datetime,
    actor: Actor,
    voucher_id: str,
    order: Order,
    *,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> Redeemed:
    """Judge and record a redemption of a voucher whose row this transaction has locked.

    ``order.at`` is when the customer was served (``now`` online; the terminal's time for an
    offline record); ``now`` is when the platform records it.
    """
    merchant_id, terminal_id = terminal_of(actor)
    for attempt in range(RETRIES):
        loaded = load(tx, voucher_id, merchant_id, order, order_ref)
        applied = check(loaded.situation)
        if order_ref is None and loaded.situation.daily_cap is None:
            # Nothing another transaction could take first: the voucher row is locked.
            redemption = _write(tx, now, loaded, applied, terminal_id, channel, order_ref, details)
            break
        try:
            with tx.begin_nested():
                redemption = _write(
                    tx, now, loaded, applied, terminal_id, channel, order_ref, details
                )
            break
        except IntegrityError:
            # Another terminal took the same order_seq or day_seq first; judge again.
            if attempt == RETRIES - 1:
                raise
    _post(tx, now, actor, redemption, loaded.batch_id)
    record_event(
        tx,
        type="voucher.redeemed",
        actor=actor,
        subject_type="voucher",
        subject_id=voucher_id,
        program_id=redemption.program_id,
        at=now,
        payload={
            "redemption_id": redemption.id,
            "batch_id": redemption.batch_id,
            "merchant_id": merchant_id,
            "terminal_id": terminal_id,
            "channel": channel,
            "category": order.category,
            "scene": order.scene.value,
            "order_amount_fen": order.amount_fen,
            "discount_fen": redemption.discount_fen,
            "redeemed_at": order.at.isoformat(),
        },
    )
    return Redeemed(redemption, applied.customer_pays_fen)


def _write(
    tx: Connection,
    now: datetime,
    loaded: _Loaded,
    applied: Applied,
    terminal_id: str,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> Redemption:
    s = loaded.situation
    taken = tx.execute(
        update(vouchers)
        .where(vouchers.c.id == s.voucher.id, vouchers.c.status == "active")
        .values(status="redeemed", status_changed_at=now)
    ).rowcount
    if taken != 1:  # unreachable under the row lock; the status guard makes it harmless anyway
        raise QuanError(ALREADY_REDEEMED, rule="voucher_status", voucher_id=s.voucher.id)
    spec = s.voucher.spec
    row = {
        "id": new_id("rdm"),
        "program_id": s.program.id,
        "batch_id": loaded.batch_id,
        "voucher_id": s.voucher.id,
        "merchant_id": s.merchant.id,
        "terminal_id": terminal_id,
        "citizen_id": s.voucher.holder_id,
        "channel": channel,
        "category": s.order.category,
        "scene": s.order.scene.value,
        "order_amount_fen": s.order.amount_fen,
        "discount_fen": applied.discount_fen,
        "unit_fen": loaded.unit_fen,
        "min_spend_fen": spec.discount.min_spend_fen,
        "max_per_order": spec.max_per_order,
        "order_ref": order_ref,
        "order_seq": applied.order_seq if order_ref is not None else None,
        "local_day": loaded.local_day,
        "day_seq": loaded.free_day_seq if s.daily_cap is not None else None,
        "details": json.dumps(dict(details), ensure_ascii=False) if details else None,
        "redeemed_at": s.order.at,
        "recorded_at": now,
        "status": "redeemed",
        "reversed_at": None,
    }
    tx.execute(insert(redemptions).values(**row))
    return _from_mapping(row)


def _post(tx: Connection, now: datetime, actor: Actor, r: Redemption, batch_id: str) -> None:
    ledger.post(
        tx,
        program_id=r.program_id,
        entry=transfer(
            "redemption",
            r.discount_fen,
            Posting(Bucket.RESERVED, 0, batch_id),
            Posting(Bucket.PAYABLE, 0, r.merchant_id),
        ),
        source_type="redemption",
        source_id=r.id,
        memo=f"voucher {r.voucher_id} redeemed at merchant {r.merchant_id}",
        created_by=actor.label,
        at=now,
    )


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
