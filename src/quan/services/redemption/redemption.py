"""Redeeming a voucher at a merchant's terminal: exactly once, checked against every rule.

How one redemption is made safe by the database:

1. ``LOCK TABLE redemptions IN ROW EXCLUSIVE MODE`` (PostgreSQL; the lock any insert takes) comes
   first, and only then is the clock read. A settlement waits for every transaction holding that
   lock before it reads a window, so no redemption can be recorded behind a cut-off already
   settled (see :mod:`quan.services.settlement.settlement`). On SQLite ``BEGIN IMMEDIATE``
   serialises.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    Connection,
    Text,
    and_,
    bindparam,
    cast,
    column,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError

from quan.clock import Clock
from quan.domain import offline_token, voucher_code
from quan.domain.auth import Actor, require_issuer
from quan.domain.blacklist import BlacklistEntry
from quan.domain.canonical import canonical_json
from quan.domain.errors import FORBIDDEN, Kind, QuanError, define
from quan.domain.ledger import Bucket, JournalEntry, Posting, transfer
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
from quan.services import idempotency
from quan.services.idempotency import IdempotencyKey, Outcome
from quan.services.people import blacklist
from quan.services.people.blacklist import in_force_at
from quan.store import ledger
from quan.store.citizen_tables import blacklist_entries
from quan.store.db import Database
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.merchant_tables import merchant_categories, merchants
from quan.store.redemption_tables import (
    redemption_policies,
    redemptions,
    voucher_deactivations,
)
from quan.store.tables import events, journal_entries, postings, programs
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


@lru_cache(maxsize=4)
def _facts_statement(dialect: str, by_code: bool) -> Any:
    """The locking read of :func:`_voucher_row`, built once per dialect and key with bound
    parameters ``target`` (the voucher's id or code), ``merchant_id`` and ``at``."""
    key = vouchers.c.code if by_code else vouchers.c.id
    merchant_id = bindparam("merchant_id", type_=merchants.c.id.type)
    return _facts_select(dialect, merchant_id).where(key == bindparam("target", type_=key.type))


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


def _facts_select(dialect: str, merchant_id: Any, source: Any = vouchers) -> Any:
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
    return (
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
        .with_for_update(of=vouchers)
    )


def _voucher_row(
    tx: Connection, voucher_id: str | None, code: str | None, merchant_id: str, at: datetime
) -> Any:
    """One statement: the voucher's row locked ``FOR UPDATE`` with everything the rules judge
    that does not depend on the order (batch, program, type, deactivation, daily cap, the
    merchant, both blacklists); ``None`` if there is no such voucher."""
    statement = _facts_statement(tx.dialect.name, voucher_id is None)
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
    voucher_id, code = voucher_target(req, keyring)
    order = Order(req.order_amount_fen, req.category, req.scene, now)
    return _redeem(
        tx,
        now,
        actor,
        voucher_id,
        code,
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
    return _redeem(
        tx,
        now,
        actor,
        voucher_id,
        None,
        order,
        channel=channel,
        order_ref=order_ref,
        details=details,
    )


def _redeem(
    tx: Connection,
    now: datetime,
    actor: Actor,
    voucher_id: str | None,
    code: str | None,
    order: Order,
    *,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> Redeemed:
    merchant_id, terminal_id = terminal_of(actor)
    redemption: Redemption | None = None
    for attempt in range(RETRIES):
        loaded = load(tx, voucher_id, merchant_id, order, order_ref, code=code)
        voucher_id, code = loaded.situation.voucher.id, None
        applied = check(loaded.situation)
        args = (tx, now, actor, loaded, applied, terminal_id, channel, order_ref, details)
        if order_ref is None and loaded.situation.daily_cap is None:
            # Nothing another transaction could take first: the voucher row is locked.
            redemption = _record(*args)
        else:
            try:
                with tx.begin_nested():
                    redemption = _record(*args)
            except IntegrityError:
                # Another terminal took the same order_seq or day_seq first; judge again.
                if attempt == RETRIES - 1:
                    raise
                continue
        if redemption is not None:
            break
        # The write's fresh look found the voucher deactivated meanwhile: judge again (refused).
    if redemption is None:
        raise QuanError(ALREADY_REDEEMED, rule="voucher_status", voucher_id=voucher_id)
    return Redeemed(redemption, applied.customer_pays_fen)


def _record(
    tx: Connection,
    now: datetime,
    actor: Actor,
    loaded: _Loaded,
    applied: Applied,
    terminal_id: str,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> Redemption | None:
    """Write the redemption, its journal entry and its event; ``None`` (nothing written) if the
    voucher is no longer redeemable at the time of the write."""
    row = _redemption_row(now, loaded, applied, terminal_id, channel, order_ref, details)
    redemption = _from_mapping(row)
    entry = _entry(redemption, loaded.batch_id)
    payload = _payload(redemption)
    if tx.dialect.name == "postgresql":
        return redemption if _write_pg(tx, now, actor, row, entry, payload) else None
    taken = tx.execute(
        update(vouchers)
        .where(vouchers.c.id == redemption.voucher_id, vouchers.c.status == "active")
        .values(status="redeemed", status_changed_at=now)
    ).rowcount
    if taken != 1:  # unreachable under the row lock; the status guard makes it harmless anyway
        return None
    tx.execute(insert(redemptions).values(**row))
    ledger.post(
        tx,
        program_id=redemption.program_id,
        entry=entry,
        source_type="redemption",
        source_id=redemption.id,
        memo=_memo(redemption),
        created_by=actor.label,
        at=now,
    )
    record_event(
        tx,
        type="voucher.redeemed",
        actor=actor,
        subject_type="voucher",
        subject_id=redemption.voucher_id,
        program_id=redemption.program_id,
        at=now,
        payload=payload,
    )
    return redemption


def _redemption_row(
    now: datetime,
    loaded: _Loaded,
    applied: Applied,
    terminal_id: str,
    channel: str,
    order_ref: str | None,
    details: Mapping[str, str] | None,
) -> dict[str, Any]:
    s = loaded.situation
    spec = s.voucher.spec
    return {
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


def _entry(r: Redemption, batch_id: str) -> JournalEntry:
    return transfer(
        "redemption",
        r.discount_fen,
        Posting(Bucket.RESERVED, 0, batch_id),
        Posting(Bucket.PAYABLE, 0, r.merchant_id),
    )


def _memo(r: Redemption) -> str:
    return f"voucher {r.voucher_id} redeemed at merchant {r.merchant_id}"


def _payload(r: Redemption) -> dict[str, Any]:
    return {
        "redemption_id": r.id,
        "batch_id": r.batch_id,
        "merchant_id": r.merchant_id,
        "terminal_id": r.terminal_id,
        "channel": r.channel,
        "category": r.category,
        "scene": r.scene,
        "order_amount_fen": r.order_amount_fen,
        "discount_fen": r.discount_fen,
        "redeemed_at": r.redeemed_at.isoformat(),
    }


_REDEMPTION_COLUMNS = (
    "id", "program_id", "batch_id", "voucher_id", "merchant_id", "terminal_id", "citizen_id",
    "channel", "category", "scene", "order_amount_fen", "discount_fen", "unit_fen",
    "min_spend_fen", "max_per_order", "order_ref", "order_seq", "local_day", "day_seq",
    "details", "redeemed_at", "recorded_at", "status", "reversed_at",
)  # fmt: skip
_JOURNAL_COLUMNS = (
    "id", "program_id", "kind", "source_type", "source_id", "memo", "created_by", "created_at",
)  # fmt: skip
_EVENT_COLUMNS = (
    "type", "actor", "subject_type", "subject_id", "program_id", "payload", "occurred_at",
)  # fmt: skip
_LEGS = 2  # a redemption's entry: reserved:<batch> → payable:<merchant>

_POSTING_FIELDS = ("bucket", "ref", "amount_fen")
# Every value of one redemption's write (:func:`write_params`), a field of each row of the
# write's JSON array; with the type of the column it goes to.
_FIELDS = {
    **{f"r_{k}": redemptions.c[k].type for k in _REDEMPTION_COLUMNS},
    **{f"j_{k}": journal_entries.c[k].type for k in _JOURNAL_COLUMNS},
    **{f"p{n}_{k}": postings.c[k].type for n in range(_LEGS) for k in _POSTING_FIELDS},
    **{f"e_{k}": events.c[k].type for k in _EVENT_COLUMNS},
}


@lru_cache(maxsize=1)
def write_statement() -> Any:
    """The PostgreSQL write of any number of redemptions in one statement (planned once, not
    once per redemption; one for a redemption alone): the values arrive as one JSON array
    (the driver quotes text arrays element by element, several times slower), one row
    of ``written`` per redemption; each voucher's conditional ``UPDATE`` decides whether its
    redemption, journal entry, postings and event are written. The ids of those written."""
    rows = (
        func.jsonb_to_recordset(cast(bindparam("rows", type_=Text), JSONB))
        .table_valued(*[column(name, t) for name, t in _FIELDS.items()])
        .render_derived(name="x", with_types=True)
    )
    written = select(rows).cte("written")
    w = written.c
    v, d = vouchers.c, voucher_deactivations.c
    deactivated = exists().where(d.voucher_id == v.id, d.reactivated_at.is_(None))
    took = (
        update(vouchers)
        .where(v.id == w.r_voucher_id, v.status == "active", ~deactivated)
        .values(
            status="redeemed", status_changed_at=bindparam("v_at", type_=v.status_changed_at.type)
        )
        .returning(v.id)
        .cte("took")
    )
    made = (
        insert(redemptions)
        .from_select(
            list(_REDEMPTION_COLUMNS),
            select(*[w[f"r_{k}"] for k in _REDEMPTION_COLUMNS]).select_from(
                written.join(took, took.c.id == w.r_voucher_id)
            ),
        )
        .returning(redemptions.c.id)
        .cte("made")
    )
    with_made = written.join(made, made.c.id == w.r_id)
    posted = (
        insert(journal_entries)
        .from_select(
            list(_JOURNAL_COLUMNS),
            select(*[w[f"j_{k}"] for k in _JOURNAL_COLUMNS]).select_from(with_made),
        )
        .returning(journal_entries.c.id)
        .cte("posted")
    )
    legs = union_all(
        *[
            select(w.j_id, w.j_program_id, *[w[f"p{n}_{k}"] for k in _POSTING_FIELDS]).select_from(
                written.join(posted, posted.c.id == w.j_id)
            )
            for n in range(_LEGS)
        ]
    )
    legs_done = (
        insert(postings)
        .from_select(["entry_id", "program_id", *_POSTING_FIELDS], legs)
        .returning(postings.c.entry_id)
        .cte("legs")
    )
    evented = (
        insert(events)
        .from_select(
            list(_EVENT_COLUMNS),
            select(*[w[f"e_{k}"] for k in _EVENT_COLUMNS]).select_from(with_made),
        )
        .returning(events.c.id)
        .cte("evented")
    )
    return select(made.c.id).add_cte(legs_done, evented)


def write_rows(tx: Connection, now: datetime, params: Sequence[Mapping[str, Any]]) -> set[str]:
    """PostgreSQL: write the redemptions whose values :func:`write_params` gave, each only if
    its voucher is still active and not deactivated (as this statement's fresh snapshot sees
    it); the ids of the redemptions written."""
    rows = json.dumps([{k: p[k] for k in _FIELDS} for p in params], default=_iso)
    return set(tx.execute(write_statement(), {"rows": rows, "v_at": now}).scalars())


def _write_pg(
    tx: Connection,
    now: datetime,
    actor: Actor,
    row: Mapping[str, Any],
    entry: JournalEntry,
    payload: dict[str, Any],
) -> bool:
    """PostgreSQL: the whole write in one round trip (:func:`write_statement`): the voucher's
    conditional ``UPDATE``, then, only if it took the voucher, the redemption row, its journal
    entry with both postings, and the ``voucher.redeemed`` event. Whether it took it."""
    return bool(write_rows(tx, now, [write_params(now, actor, row, entry, payload)]))


def write_params(
    now: datetime,
    actor: Actor,
    row: Mapping[str, Any],
    entry: JournalEntry,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The bound values of the PostgreSQL write (:func:`write_statement`) of one redemption."""
    assert len(entry.postings) == _LEGS
    params: dict[str, Any] = {"v_id": row["voucher_id"], "v_at": now}
    params.update({f"r_{k}": row[k] for k in _REDEMPTION_COLUMNS})
    journal = {
        "id": new_id("je"),
        "program_id": row["program_id"],
        "kind": entry.kind,
        "source_type": "redemption",
        "source_id": row["id"],
        "memo": f"voucher {row['voucher_id']} redeemed at merchant {row['merchant_id']}",
        "created_by": actor.label,
        "created_at": now,
    }
    params.update({f"j_{k}": value for k, value in journal.items()})
    for n, leg in enumerate(entry.postings):
        params[f"p{n}_bucket"] = leg.bucket.value
        params[f"p{n}_ref"] = leg.ref
        params[f"p{n}_amount_fen"] = leg.amount_fen
    event = {
        "type": "voucher.redeemed",
        "actor": actor.label,
        "subject_type": "voucher",
        "subject_id": row["voucher_id"],
        "program_id": row["program_id"],
        "payload": canonical_json(payload),
        "occurred_at": now,
    }
    params.update({f"e_{k}": value for k, value in event.items()})
    return params


def _iso(value: Any) -> str:
    """JSON for the dates and times of a write (aware datetimes keep their offset)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a redemption's write")


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


def redeem_once(
    db: Database,
    clock: Clock,
    actor: Actor,
    keyring: Mapping[str, Ed25519PublicKey],
    req: RedeemRequest,
    key: IdempotencyKey | None,
    answer: Callable[[Redeemed], tuple[int, Any]],
) -> Outcome:
    """Redeem once per idempotency key (a retry gets the first answer): the recording lock is
    taken before the clock is read (see :func:`begin_recording`)."""

    def work(tx: Connection) -> Redeemed:
        begin_recording(tx)
        now = clock.now()  # after the recording lock
        return redeem(tx, now, actor, keyring, req)

    return idempotency.run(db, clock, key, work, answer)
