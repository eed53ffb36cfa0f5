"""Deactivating and reactivating a voucher (停用 / 恢复): an operator's brake on one voucher.

A deactivated voucher keeps its status (``active``) and its money (still reserved; it expires and
is recycled like any other) but cannot be redeemed until it is reactivated. Deactivations are rows
of their own, so the history stays: who, when, why, and who lifted it. At most one is in force per
voucher (a partial unique index). Both steps lock the voucher row, the row a redemption locks, so a
deactivation and a redemption of the same voucher are strictly ordered. The holder is told by SMS
through the outbox, in the same transaction; events carry ids only, never the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from quan.channels import outbox
from quan.domain.auth import Actor, require_issuer
from quan.domain.errors import Kind, QuanError, define
from quan.services.people.citizens import CitizenKeys, open_personal_data
from quan.services.redemption.redemption import VOUCHER_NOT_FOUND
from quan.store.events import record_event
from quan.store.ids import new_id
from quan.store.redemption_tables import voucher_deactivations
from quan.store.tables import programs
from quan.store.voucher_tables import vouchers

MAX_REASON = 500

DEACTIVATION_REASON_REQUIRED = define(
    "DEACTIVATION_REASON_REQUIRED",
    Kind.INVALID,
    zh="停用或恢复消费券须填写理由（不超过 500 字），持券人会收到通知",
    en="Deactivating or reactivating a voucher needs a reason (at most 500 characters); the "
    "holder is told",
)
VOUCHER_NOT_ACTIVE = define(
    "VOUCHER_NOT_ACTIVE",
    Kind.CONFLICT,
    zh="只能停用已领取且未使用的券（当前状态：{voucher_status}）",
    en="Only a claimed, unused voucher can be deactivated (it is '{voucher_status}')",
)
ALREADY_DEACTIVATED = define(
    "VOUCHER_ALREADY_DEACTIVATED",
    Kind.CONFLICT,
    zh="该券已处于停用状态",
    en="This voucher is already deactivated",
)
NOT_DEACTIVATED = define(
    "VOUCHER_NOT_DEACTIVATED",
    Kind.CONFLICT,
    zh="该券未被停用，无需恢复",
    en="This voucher is not deactivated",
)

NOTICES = {
    "deactivated": "【券】您的消费券（券码尾号 {tail}）已被暂停使用，原因：{reason}",
    "reactivated": "【券】您的消费券（券码尾号 {tail}）已恢复使用。说明：{reason}",
}


@dataclass(frozen=True, slots=True)
class Deactivation:
    id: str
    voucher_id: str
    program_id: str
    reason: str
    deactivated_by: str
    deactivated_at: datetime
    reactivated_by: str | None
    reactivated_at: datetime | None
    reactivation_reason: str | None


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason or len(reason) > MAX_REASON:
        raise QuanError(DEACTIVATION_REASON_REQUIRED)
    return reason


def _locked_voucher(tx: Connection, actor: Actor, voucher_id: str) -> tuple[str, str, str, str]:
    """``(status, program_id, citizen_id, code)`` of the voucher, its row locked."""
    row = tx.execute(
        select(
            vouchers.c.status,
            vouchers.c.program_id,
            vouchers.c.citizen_id,
            vouchers.c.code,
            programs.c.issuer_id,
        )
        .select_from(vouchers.join(programs, programs.c.id == vouchers.c.program_id))
        .where(vouchers.c.id == voucher_id)
        .with_for_update(of=vouchers)
    ).first()
    if row is None:
        raise QuanError(VOUCHER_NOT_FOUND)
    require_issuer(actor, row.issuer_id)
    return row.status, row.program_id, row.citizen_id, row.code


def deactivate(
    tx: Connection, now: datetime, actor: Actor, keys: CitizenKeys, voucher_id: str, reason: str
) -> Deactivation:
    reason = _reason(reason)
    status, program_id, citizen_id, code = _locked_voucher(tx, actor, voucher_id)
    if status != "active":
        raise QuanError(VOUCHER_NOT_ACTIVE, voucher_status=status)
    deactivation_id = new_id("dea")
    try:
        with tx.begin_nested():
            tx.execute(
                insert(voucher_deactivations).values(
                    id=deactivation_id,
                    voucher_id=voucher_id,
                    program_id=program_id,
                    reason=reason,
                    deactivated_by=actor.label,
                    deactivated_at=now,
                )
            )
    except IntegrityError as exc:  # uq_voucher_deactivations_in_force
        raise QuanError(ALREADY_DEACTIVATED) from exc
    _record(tx, now, actor, "deactivated", voucher_id, program_id, deactivation_id)
    _notify(tx, now, keys, citizen_id, code, "deactivated", reason)
    return get_deactivation(tx, deactivation_id)


def reactivate(
    tx: Connection, now: datetime, actor: Actor, keys: CitizenKeys, voucher_id: str, reason: str
) -> Deactivation:
    reason = _reason(reason)
    _status, program_id, citizen_id, code = _locked_voucher(tx, actor, voucher_id)
    d = voucher_deactivations.c
    deactivation_id = tx.execute(
        update(voucher_deactivations)
        .where(d.voucher_id == voucher_id, d.reactivated_at.is_(None))
        .values(reactivated_by=actor.label, reactivated_at=now, reactivation_reason=reason)
        .returning(d.id)
    ).scalar_one_or_none()
    if deactivation_id is None:
        raise QuanError(NOT_DEACTIVATED)
    _record(tx, now, actor, "reactivated", voucher_id, program_id, deactivation_id)
    _notify(tx, now, keys, citizen_id, code, "reactivated", reason)
    return get_deactivation(tx, deactivation_id)


def _record(
    tx: Connection,
    now: datetime,
    actor: Actor,
    what: str,
    voucher_id: str,
    program_id: str,
    deactivation_id: str,
) -> None:
    record_event(
        tx,
        type=f"voucher.{what}",
        actor=actor,
        subject_type="voucher",
        subject_id=voucher_id,
        program_id=program_id,
        at=now,
        payload={"deactivation_id": deactivation_id},  # the reason may name people: not here
    )


def _notify(
    tx: Connection,
    now: datetime,
    keys: CitizenKeys,
    citizen_id: str | None,
    code: str,
    what: str,
    reason: str,
) -> None:
    if citizen_id is None:
        return
    phone = open_personal_data(tx, keys, citizen_id).phone
    if phone is None:  # registered at a service centre without a phone: staff tell them
        return
    outbox.enqueue(
        tx,
        now,
        keys.outbox,
        channel="sms",
        recipient=phone,
        subject=f"voucher.{what}",
        body=NOTICES[what].format(tail=code[-4:], reason=reason),
        params={"tail": code[-4:], "reason": reason},
    )


def get_deactivation(tx: Connection, deactivation_id: str) -> Deactivation:
    row = tx.execute(
        select(voucher_deactivations).where(voucher_deactivations.c.id == deactivation_id)
    ).one()
    m = row._mapping
    return Deactivation(**{k: m[k] for k in Deactivation.__dataclass_fields__})


def deactivated_among(tx: Connection, voucher_ids: list[str]) -> set[str]:
    """Which of these vouchers are deactivated now (for the wallet's status)."""
    if not voucher_ids:
        return set()
    d = voucher_deactivations.c
    return set(
        tx.execute(
            select(d.voucher_id).where(d.voucher_id.in_(voucher_ids), d.reactivated_at.is_(None))
        ).scalars()
    )
