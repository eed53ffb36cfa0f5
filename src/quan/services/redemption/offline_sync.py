"""Syncing offline redemptions: judging each record again, keeping all of them, flagging doubles.

A terminal that redeemed without network sends its records in a batch. Each record is kept in
``offline_records`` whatever happens to it — the token exactly as scanned is the evidence — with
one outcome:

- ``accepted``: the token is genuine and the voucher was unspent; the record becomes a
  redemption (channel ``offline``), judged by the same rules as online at the time the customer was
  served (``redeemed_at``), recorded now;
- ``duplicate``: the voucher already has a live redemption — made online, or synced first from an
  offline record. The first one recorded wins; this record is kept, and an **offline case** is
  opened against the winner (one open case per voucher, later duplicates join it), which holds an
  equal sum from the winner's merchant at settlement until an operator resolves it;
- ``rejected``: a forged or unreadable token, an implausible time, or a rule the voucher fails
  (the code and fields are kept).

A batch sent again is harmless: ``(terminal_id, client_record_id)`` is unique, and a record
already known is answered with its first outcome (``replayed``), never judged twice. Records are
processed in voucher-id order, so two terminals syncing the same vouchers lock them in one order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, insert, select, update

from quan.domain import offline_token
from quan.domain.auth import Actor
from quan.domain.errors import Kind, QuanError, define
from quan.domain.merchants import Scene
from quan.domain.offline_token import TokenClaims
from quan.domain.redemption_situation import Order
from quan.services.redemption.redeem import redeem_locked, terminal_of
from quan.services.redemption.redemption import (
    VOUCHER_NOT_FOUND,
    get_redemption,
    live_redemption_of,
)
from quan.services.redemption.redemption_facts import lock_voucher
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import (
    offline_cases,
    offline_records,
    offline_syncs,
    redemptions,
)

MAX_RECORDS = 500
CLOCK_SKEW = timedelta(minutes=5)  # a terminal's clock may run this far ahead

DUPLICATE_RECORD_ID = define(
    "DUPLICATE_RECORD_ID",
    Kind.INVALID,
    zh="同一批次中记录编号 {record_id} 重复",
    en="Record id {record_id} appears twice in the batch",
)
OFFLINE_TIME_IMPLAUSIBLE = define(
    "OFFLINE_TIME_IMPLAUSIBLE",
    Kind.REFUSED,
    zh="离线核销时间不可信（{reason}）",
    en="The offline redemption time is not plausible ({reason})",
)


@dataclass(frozen=True, slots=True)
class SyncRecord:
    record_id: str
    token: str
    order_amount_fen: int
    category: str
    scene: Scene
    redeemed_at: datetime
    order_ref: str | None = None
    details: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    record_id: str
    outcome: str  # accepted | duplicate | rejected
    voucher_id: str | None
    redemption_id: str | None
    case_id: str | None
    discount_fen: int | None
    code: str | None
    refusal: dict[str, Any] | None
    replayed: bool


@dataclass(slots=True)
class SyncReport:
    sync_id: str
    outcomes: list[RecordOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome and not o.replayed)


def _known(tx: Connection, terminal_id: str, record_ids: list[str]) -> dict[str, RecordOutcome]:
    r = offline_records.c
    rows = tx.execute(
        select(
            r.client_record_id,
            r.outcome,
            r.voucher_id,
            r.redemption_id,
            r.case_id,
            r.refusal_code,
            r.refusal,
        ).where(r.terminal_id == terminal_id, r.client_record_id.in_(record_ids))
    ).all()
    discounts = _discounts(tx, [row.redemption_id for row in rows if row.redemption_id])
    return {
        row.client_record_id: RecordOutcome(
            record_id=row.client_record_id,
            outcome=row.outcome,
            voucher_id=row.voucher_id,
            redemption_id=row.redemption_id,
            case_id=row.case_id,
            discount_fen=discounts.get(row.redemption_id) if row.redemption_id else None,
            code=row.refusal_code,
            refusal=json.loads(row.refusal) if row.refusal else None,
            replayed=True,
        )
        for row in rows
    }


def _discounts(tx: Connection, redemption_ids: list[str]) -> dict[str, int]:
    if not redemption_ids:
        return {}
    return {
        rid: int(d)
        for rid, d in tx.execute(
            select(redemptions.c.id, redemptions.c.discount_fen).where(
                redemptions.c.id.in_(redemption_ids)
            )
        )
    }


def sync(
    tx: Connection,
    now: datetime,
    actor: Actor,
    keyring: Mapping[str, Ed25519PublicKey],
    records: Sequence[SyncRecord],
) -> SyncReport:
    """Judge and keep a terminal's offline records. The caller has called
    ``redemption.begin_recording`` before reading ``now``."""
    merchant_id, terminal_id = terminal_of(actor)
    seen: set[str] = set()
    for record in records:
        if record.record_id in seen:
            raise QuanError(DUPLICATE_RECORD_ID, record_id=record.record_id)
        seen.add(record.record_id)
    known = _known(tx, terminal_id, sorted(seen))
    sync_id = new_id("osy")
    tx.execute(
        insert(offline_syncs).values(
            id=sync_id,
            terminal_id=terminal_id,
            merchant_id=merchant_id,
            records=len(records),
            accepted=0,
            duplicates=0,
            rejected=0,
            replayed=len(known),
            received_at=now,
        )
    )
    fresh: list[tuple[SyncRecord, TokenClaims | QuanError]] = []
    for record in records:
        if record.record_id not in known:
            fresh.append((record, _verify(record, keyring)))
    # One lock order for every sync: by voucher id (unreadable tokens need no lock).
    fresh.sort(key=lambda p: p[1].voucher_id if isinstance(p[1], TokenClaims) else "")
    decided: dict[str, RecordOutcome] = dict(known)
    for record, verified in fresh:
        decided[record.record_id] = _judge(tx, now, actor, sync_id, record, verified)
    report = SyncReport(sync_id, [decided[r.record_id] for r in records])
    tx.execute(
        update(offline_syncs)
        .where(offline_syncs.c.id == sync_id)
        .values(
            accepted=report.count("accepted"),
            duplicates=report.count("duplicate"),
            rejected=report.count("rejected"),
        )
    )
    record_event(
        tx,
        type="offline.synced",
        actor=actor,
        subject_type="terminal",
        subject_id=terminal_id,
        at=now,
        payload={
            "sync_id": sync_id,
            "merchant_id": merchant_id,
            "records": len(records),
            "accepted": report.count("accepted"),
            "duplicates": report.count("duplicate"),
            "rejected": report.count("rejected"),
            "replayed": len(known),
        },
    )
    return report


def _verify(record: SyncRecord, keyring: Mapping[str, Ed25519PublicKey]) -> TokenClaims | QuanError:
    try:
        return offline_token.verify(record.token, keyring)
    except QuanError as error:
        return error


def _judge(
    tx: Connection,
    now: datetime,
    actor: Actor,
    sync_id: str,
    record: SyncRecord,
    verified: TokenClaims | QuanError,
) -> RecordOutcome:
    if isinstance(verified, QuanError):
        return _keep(tx, now, actor, sync_id, record, None, refusal=verified)
    claims = verified
    if record.redeemed_at > now + CLOCK_SKEW:
        refusal = QuanError(OFFLINE_TIME_IMPLAUSIBLE, reason="in_the_future")
        return _keep(tx, now, actor, sync_id, record, claims.voucher_id, refusal=refusal)
    if record.redeemed_at < claims.issued_at:
        # A token cannot have been scanned before it was made: the terminal's clock was wrong or
        # set back to pass an expired voucher.
        refusal = QuanError(OFFLINE_TIME_IMPLAUSIBLE, reason="before_token")
        return _keep(tx, now, actor, sync_id, record, claims.voucher_id, refusal=refusal)
    if lock_voucher(tx, voucher_id=claims.voucher_id) is None:
        refusal = QuanError(VOUCHER_NOT_FOUND)
        return _keep(tx, now, actor, sync_id, record, claims.voucher_id, refusal=refusal)
    winner = live_redemption_of(tx, claims.voucher_id)
    if winner is not None:
        case_id = _open_case(tx, now, actor, winner.id, claims.voucher_id)
        return _keep(tx, now, actor, sync_id, record, claims.voucher_id, case_id=case_id)
    order = Order(record.order_amount_fen, record.category, record.scene, record.redeemed_at)
    try:
        with tx.begin_nested():
            redeemed = redeem_locked(
                tx,
                now,
                actor,
                claims.voucher_id,
                order,
                channel="offline",
                order_ref=record.order_ref,
                details=record.details,
            )
    except QuanError as refusal:
        return _keep(tx, now, actor, sync_id, record, claims.voucher_id, refusal=refusal)
    return _keep(
        tx,
        now,
        actor,
        sync_id,
        record,
        claims.voucher_id,
        redemption_id=redeemed.redemption.id,
        discount_fen=redeemed.redemption.discount_fen,
    )


def _open_case(tx: Connection, now: datetime, actor: Actor, winner_id: str, voucher_id: str) -> str:
    """The voucher's open case, opened now if there is none (the voucher row is locked)."""
    c = offline_cases.c
    existing: str | None = tx.execute(
        select(c.id).where(c.voucher_id == voucher_id, c.status == "open")
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    winner = get_redemption(tx, winner_id)
    case_id = new_id("ofc")
    tx.execute(
        insert(offline_cases).values(
            id=case_id,
            program_id=winner.program_id,
            voucher_id=voucher_id,
            redemption_id=winner.id,
            merchant_id=winner.merchant_id,
            amount_fen=winner.discount_fen,
            status="open",
            flagged_at=now,
        )
    )
    record_event(
        tx,
        type="offline_case.flagged",
        actor=actor,
        subject_type="offline_case",
        subject_id=case_id,
        program_id=winner.program_id,
        at=now,
        payload={
            "voucher_id": voucher_id,
            "redemption_id": winner.id,
            "merchant_id": winner.merchant_id,
            "amount_fen": winner.discount_fen,
        },
    )
    return case_id


def _keep(
    tx: Connection,
    now: datetime,
    actor: Actor,
    sync_id: str,
    record: SyncRecord,
    voucher_id: str | None,
    *,
    refusal: QuanError | None = None,
    redemption_id: str | None = None,
    case_id: str | None = None,
    discount_fen: int | None = None,
) -> RecordOutcome:
    """Write the record as evidence, with its outcome."""
    merchant_id, terminal_id = terminal_of(actor)
    outcome = "accepted" if redemption_id else "duplicate" if case_id else "rejected"
    params = _plain(refusal.params) if refusal else None
    tx.execute(
        insert(offline_records).values(
            id=new_id("ofr"),
            sync_id=sync_id,
            terminal_id=terminal_id,
            merchant_id=merchant_id,
            client_record_id=record.record_id,
            token=record.token.strip()[: offline_token.MAX_TOKEN_CHARS],
            voucher_id=voucher_id,
            order_amount_fen=record.order_amount_fen,
            category=record.category,
            scene=record.scene.value,
            details=json.dumps(dict(record.details), ensure_ascii=False)
            if record.details
            else None,
            redeemed_at=record.redeemed_at,
            received_at=now,
            outcome=outcome,
            refusal_code=refusal.code if refusal else None,
            refusal=json.dumps(params, ensure_ascii=False) if params else None,
            redemption_id=redemption_id,
            case_id=case_id,
        )
    )
    return RecordOutcome(
        record_id=record.record_id,
        outcome=outcome,
        voucher_id=voucher_id,
        redemption_id=redemption_id,
        case_id=case_id,
        discount_fen=discount_fen,
        code=refusal.code if refusal else None,
        refusal=params,
        replayed=False,
    )


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Refusal fields as JSON values (dates and the like as text)."""
    return json.loads(json.dumps(dict(params), default=str, ensure_ascii=False))  # type: ignore[no-any-return]
