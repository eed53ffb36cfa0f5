"""What a redemption is decided on: the voucher (by code or signed token), locked, with its batch,
type, program, merchant, blacklist entries and the order so far, read in one statement."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    Connection,
    Text,
    bindparam,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from quan.domain import offline_token, voucher_code
from quan.domain.blacklist import BlacklistEntry
from quan.domain.errors import QuanError
from quan.domain.merchants import MerchantStatus, Scene
from quan.domain.programs import ProgramStatus
from quan.domain.redemption_situation import (
    MerchantFacts,
    Order,
    OrderSoFar,
    ProgramFacts,
    Situation,
    VoucherFacts,
)
from quan.domain.voucher_type_json import parse_voucher_type
from quan.domain.voucher_types import VoucherTypeSpec
from quan.services.people import blacklist
from quan.services.people.blacklist import in_force_at
from quan.services.redemption.redemption import CODE_OR_TOKEN, VOUCHER_NOT_FOUND, RedeemRequest
from quan.store.citizen_tables import blacklist_entries
from quan.store.merchant_tables import merchant_categories, merchants
from quan.store.redemption_tables import (
    redemption_policies,
    redemptions,
    voucher_deactivations,
)
from quan.store.tables import programs
from quan.store.voucher_tables import batches, voucher_types, vouchers


def resolve_voucher(
    tx: Connection, req: RedeemRequest, keyring: Mapping[str, Ed25519PublicKey]
) -> str:
    """The id of the voucher a code or a scanned token names, its row locked ``FOR UPDATE``."""
    voucher_id, code = voucher_target(req, keyring)
    found = lock_voucher(tx, voucher_id=voucher_id, code=code)
    if found is None:
        raise QuanError(VOUCHER_NOT_FOUND)
    return found


def voucher_target(
    req: RedeemRequest, keyring: Mapping[str, Ed25519PublicKey]
) -> tuple[str | None, str | None]:
    """``(voucher_id, None)`` for a scanned token, ``(None, code)`` for a typed code; checked
    without the database."""
    if (req.voucher_code is None) == (req.token is None):
        raise QuanError(CODE_OR_TOKEN)
    if req.token is not None:
        return offline_token.verify(req.token, keyring).voucher_id, None
    assert req.voucher_code is not None
    code = req.voucher_code
    if offline_token.looks_like_token(code):  # a QR scanned into the code field
        return offline_token.verify(code, keyring).voucher_id, None
    return None, voucher_code.validate(code)


def lock_voucher(
    tx: Connection, *, voucher_id: str | None = None, code: str | None = None
) -> str | None:
    where = vouchers.c.id == voucher_id if voucher_id is not None else vouchers.c.code == code
    found: str | None = tx.execute(
        select(vouchers.c.id).where(where).with_for_update()
    ).scalar_one_or_none()
    return found


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


def _block_id(subject_type: str, subject_id: Any) -> Any:
    """SQL: the id of the entry barring the subject at ``:at`` (``blacklist.active_block``)."""
    e = blacklist_entries.c
    return (
        select(e.id)
        .where(
            e.subject_type == subject_type,
            e.subject_id == subject_id,
            in_force_at(bindparam("at", type_=e.starts_at.type)),  # type: ignore[arg-type]
        )
        .order_by(e.starts_at, e.id)
        .limit(1)
        .scalar_subquery()
    )


@lru_cache(maxsize=8)
def _facts_statement(dialect: str, by_code: bool, lock: bool = True) -> Any:
    """The locking read of :func:`_voucher_row`, built once per dialect and key with bound
    parameters ``target`` (the voucher's id or code), ``merchant_id`` and ``at``; without the
    lock for a preview, which reads in a read-only transaction and holds nothing."""
    key = vouchers.c.code if by_code else vouchers.c.id
    merchant_id = bindparam("merchant_id", type_=merchants.c.id.type)
    statement = _facts_select(dialect, merchant_id, lock=lock)
    return statement.where(key == bindparam("target", type_=key.type))


@lru_cache(maxsize=2)
def facts_many_statement(by_code: bool) -> Any:
    """PostgreSQL: :func:`_facts_statement` for many vouchers in one statement, each with its
    own merchant: bound arrays ``targets`` (ids or codes) and ``merchant_ids``, and ``at``.
    Each row carries its ``target``; vouchers are locked in the order of their ids, so two
    such reads never wait on each other in a cycle."""
    wanted = (
        func.unnest(
            bindparam("targets", type_=ARRAY(Text)), bindparam("merchant_ids", type_=ARRAY(Text))
        )
        .table_valued("target", "merchant_id")
        .render_derived(name="wanted")
    )
    key = vouchers.c.code if by_code else vouchers.c.id
    source = wanted.join(vouchers, key == wanted.c.target)
    return (
        _facts_select("postgresql", wanted.c.merchant_id, source)
        .add_columns(wanted.c.target)
        .order_by(vouchers.c.id)
    )


def _facts_select(
    dialect: str, merchant_id: Any, source: Any = vouchers, *, lock: bool = True
) -> Any:
    """Everything the rules judge, for the vouchers of ``source`` the caller picks, at the
    merchant ``merchant_id`` (a bound parameter or a column of ``source``)."""
    v, d = vouchers.c, voucher_deactivations.c
    mc = merchant_categories.c
    deactivated = exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None))
    daily_cap = (
        select(redemption_policies.c.daily_cap)
        .where(redemption_policies.c.program_id == v.program_id)
        .scalar_subquery()
    )
    agg = func.string_agg if dialect == "postgresql" else func.group_concat
    categories = (
        select(agg(mc.category, literal(",")))
        .where(mc.merchant_id == merchant_id)
        .scalar_subquery()
    )
    m = merchants.c
    statement = (
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
            m.issuer_id.label("merchant_issuer_id"),
            m.status.label("merchant_status"),
            m.region_code.label("merchant_region"),
            m.accepts_offline,
            m.accepts_online,
            categories.label("merchant_categories"),
            _block_id("merchant", merchant_id).label("merchant_block"),
            _block_id("citizen", v.citizen_id).label("holder_block"),
        )
        .select_from(
            source.join(batches, batches.c.id == v.batch_id)
            .join(programs, programs.c.id == v.program_id)
            .join(voucher_types, voucher_types.c.id == v.voucher_type_id)
            .join(merchants, m.id == merchant_id)
        )
    )
    return statement.with_for_update(of=vouchers) if lock else statement


def _voucher_row(
    tx: Connection,
    voucher_id: str | None,
    code: str | None,
    merchant_id: str,
    at: datetime,
    *,
    lock: bool = True,
) -> Any:
    """One statement: the voucher's row locked ``FOR UPDATE`` (unless ``lock`` is false) with
    everything the rules judge that does not depend on the order (batch, program, type,
    deactivation, daily cap, the merchant, both blacklists); ``None`` if there is no such
    voucher."""
    statement = _facts_statement(tx.dialect.name, voucher_id is None, lock)
    target = voucher_id if voucher_id is not None else code
    return tx.execute(statement, {"target": target, "merchant_id": merchant_id, "at": at}).first()


def _block(tx: Connection, entry_id: str | None) -> BlacklistEntry | None:
    if entry_id is None:
        return None
    row = tx.execute(select(blacklist_entries).where(blacklist_entries.c.id == entry_id)).one()
    return blacklist.entry_from_row(row)


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


def _merchant_facts(row: Any, merchant_id: str) -> MerchantFacts:
    scenes = {Scene.OFFLINE} if row.accepts_offline else set()
    if row.accepts_online:
        scenes.add(Scene.ONLINE)
    categories = row.merchant_categories
    return MerchantFacts(
        id=merchant_id,
        issuer_id=row.merchant_issuer_id,
        status=MerchantStatus(row.merchant_status),
        region_code=row.merchant_region,
        categories=frozenset(categories.split(",")) if categories else frozenset(),
        scenes=frozenset(scenes),
    )


def load(
    tx: Connection,
    voucher_id: str | None,
    merchant_id: str,
    order: Order,
    order_ref: str | None,
    *,
    code: str | None = None,
) -> _Loaded:
    """Everything the rules judge, read with the voucher's row lock (by id, or by ``code``).

    The facts read in the locking statement that are not the voucher's own row (deactivation,
    blacklists, the merchant) come from that statement's snapshot; the write re-checks the
    deactivation with a fresh one (see :func:`_write_pg`).
    """
    row = _voucher_row(tx, voucher_id, code, merchant_id, order.at)
    if row is None:  # (a terminal's merchant always exists)
        raise QuanError(VOUCHER_NOT_FOUND)
    return loaded_from_row(tx, row, merchant_id, order, order_ref)


def loaded_from_row(
    tx: Connection, row: Any, merchant_id: str, order: Order, order_ref: str | None
) -> _Loaded:
    """The facts of a locking read's row, with those it does not carry (the holder's day under
    a daily cap, the order so far, blacklist entries) read now."""
    local_day = order.at.astimezone(_zone(row.timezone)).date()
    daily_cap = int(row.daily_cap) if row.daily_cap is not None else None
    taken: list[int] = []
    if daily_cap is not None and row.citizen_id is not None:
        taken = _day_seqs(tx, row.program_id, row.citizen_id, local_day)
    free = next((k for k in range(1, (daily_cap or 0) + 1) if k not in taken), None)
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
        merchant=_merchant_facts(row, merchant_id),
        order=order,
        so_far=_order_so_far(tx, merchant_id, order_ref),
        used_today=len(taken),
        daily_cap=daily_cap,
        merchant_block=_block(tx, row.merchant_block),
        holder_block=_block(tx, row.holder_block),
    )
    return _Loaded(situation, row.batch_id, int(row.unit_fen), local_day, free)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
